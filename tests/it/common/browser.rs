//! Headless Chromium driven over the DevTools protocol, for the browser tests.

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::BufRead;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The Chromium binary, or `None` when this machine has none and says so with
/// `POSAGENT_SKIP_BROWSER=1` (then the caller skips); without that, a missing browser fails.
pub fn chromium() -> Option<String> {
    match chromium_binary() {
        Some(b) => Some(b),
        None if std::env::var_os("POSAGENT_SKIP_BROWSER").is_some() => {
            eprintln!("SKIPPED: no chromium on this machine (POSAGENT_SKIP_BROWSER is set)");
            None
        }
        None => panic!("chromium is not installed; `.ci/run` installs Debian's chromium package"),
    }
}

/// One browser test at a time (a test group): two headless Chromiums driving two
/// consoles side by side lost a click's effect 2 times in 3 here (the page kept showing
/// the sale before, with no error), so the browser tests take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Browser {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    child: std::process::Child,
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium_binary() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(str::to_string)
}

impl Browser {
    pub async fn launch(binary: &str) -> Browser {
        let turn = ONE_AT_A_TIME.lock().await;
        let profile = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--window-size=1400,1100",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("chromium printed no DevTools address");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Browser { _turn: turn, child, ws, next_id: 0, session: None, _profile: profile }
    }

    pub async fn send(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::Text(msg.to_string().into())).await.unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.ws.next()).await.unwrap().unwrap().unwrap();
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    pub async fn open(&mut self, url: &str) {
        let target = self.send("Target.createTarget", json!({ "url": url })).await;
        let attached =
            self.send("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true })).await;
        self.session = Some(attached["sessionId"].as_str().unwrap().to_string());
        self.send("Page.enable", json!({})).await;
        for _ in 0..100 {
            let state = self.eval("location.href + ' ' + document.readyState").await;
            if state.as_str().is_some_and(|s| s.starts_with(url) && s.ends_with(" complete")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the dashboard did not load");
    }

    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .send("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }))
            .await;
        r["result"]["value"].clone()
    }

    pub async fn click(&mut self, id: &str) {
        let found = self.eval(&format!("(() => {{ const b = document.getElementById('{id}'); if (!b) return false; b.click(); return true; }})()")).await;
        assert_eq!(found, true, "no button #{id}");
    }

    pub async fn screenshot(&mut self, name: &str) -> Vec<u8> {
        let r = self.send("Page.captureScreenshot", json!({ "format": "png" })).await;
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        png
    }
}

/// The RGB pixels of a PNG (RGB or RGBA), with its width and height.
pub fn pixels(png_bytes: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("PNG colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()].chunks_exact(step).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width as usize, info.height as usize, px)
}

/// Every QR code readable in a PNG.
pub fn qr_codes(png_bytes: &[u8]) -> Vec<String> {
    let (w, h, px) = pixels(png_bytes);
    let luma: Vec<u8> = px
        .iter()
        .map(|p| ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8)
        .collect();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, c)| c)).collect()
}

pub fn count_near(png_bytes: &[u8], color: [u8; 3]) -> usize {
    let (_, _, px) = pixels(png_bytes);
    px.iter().filter(|p| p.iter().zip(color).all(|(a, b)| a.abs_diff(b) <= 12)).count()
}

impl Browser {
    /// Lays the page out at `width` × `height` CSS pixels (one device pixel each).
    pub async fn viewport(&mut self, width: u32, height: u32) {
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        self.send("Emulation.setDeviceMetricsOverride", metrics).await;
    }

    /// Sets an input's value as typing would (an `input` event follows).
    pub async fn type_into(&mut self, id: &str, text: &str) {
        let text = serde_json::to_string(text).unwrap();
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.getElementById('{id}'); if (!e) return false; e.value = {text}; e.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()"
            ))
            .await;
        assert_eq!(found, true, "no input #{id}");
    }

    /// Clicks the button inside `#within` whose text is `text`.
    pub async fn click_text(&mut self, within: &str, text: &str) {
        let text = serde_json::to_string(text).unwrap();
        let found = self
            .eval(&format!(
                "(() => {{ const b = [...document.querySelectorAll('#{within} button')].find(b => b.textContent.trim() === {text}); if (!b) return false; b.click(); return true; }})()"
            ))
            .await;
        assert_eq!(found, true, "no button {text} in #{within}");
    }

    /// The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page now,
    /// one line each (rule, impact, the first element's selector).
    pub async fn accessibility_violations(&mut self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_script()).unwrap();
        // Injected through DevTools, which the page's CSP does not apply to.
        self.send("Runtime.evaluate", json!({ "expression": source })).await;
        let found = self
            .eval(
                "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))",
            )
            .await;
        found.as_array().unwrap_or_else(|| panic!("axe did not run: {found}")).iter().map(|v| v.to_string()).collect()
    }
}

/// axe-core's script (tests/browser/axe, its version pinned in package-lock.json), installed
/// with `npm ci` on first use.
fn axe_script() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/axe");
    let script = dir.join("node_modules/axe-core/axe.min.js");
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        if !script.exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .status()
                .expect("npm is needed for axe-core (Node.js's npm; `.ci/run` has Node.js installed)");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
    });
    script
}

/// Compares a screenshot with its reviewed golden image (tests/browser/golden/NAME.png): at
/// most `tolerance` of the pixels may differ (by more than 24 in a channel) — the sales'
/// references and times change from run to run, the layout must not. With
/// `POSAGENT_UPDATE_GOLDENS=1` the screenshot becomes the golden (review it, then commit).
pub fn assert_golden(name: &str, png_bytes: &[u8], tolerance: f64) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/golden");
    let golden = dir.join(format!("{name}.png"));
    if std::env::var_os("POSAGENT_UPDATE_GOLDENS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&golden, png_bytes).unwrap();
        return;
    }
    let want = std::fs::read(&golden).unwrap_or_else(|_| {
        panic!("no golden image {}: run with POSAGENT_UPDATE_GOLDENS=1, look at it, commit it", golden.display())
    });
    let (w1, h1, a) = pixels(&want);
    let (w2, h2, b) = pixels(png_bytes);
    assert_eq!((w1, h1), (w2, h2), "{name}: the screenshot's size differs from the golden's");
    let differing = a.iter().zip(&b).filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 24)).count();
    let share = differing as f64 / a.len() as f64;
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/browser-screenshots/{name}.png"));
    assert!(
        share <= tolerance,
        "{name}: {:.2} % of the pixels differ from the golden (at most {:.2} %); compare {} with {}",
        share * 100.0,
        tolerance * 100.0,
        shot.display(),
        golden.display()
    );
}
