//! The simulator's dashboard in headless Chromium, driven over the DevTools protocol:
//! a Klarna sale approved by clicking, a declined one, a card sale, device and network
//! controls —
//! with screenshots checked (the QR code in the screenshot decodes to the payment URL).
//!
//! Needs Debian's `chromium` (installed by `.ci/run`). Without it the test fails, unless
//! `POSAGENT_SKIP_BROWSER=1` says this machine cannot have one.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::Harness;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::BufRead;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

struct Browser {
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

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(str::to_string)
}

impl Browser {
    async fn launch(binary: &str) -> Browser {
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
        Browser { child, ws, next_id: 0, session: None, _profile: profile }
    }

    async fn send(&mut self, method: &str, params: Value) -> Value {
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

    async fn open(&mut self, url: &str) {
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

    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .send("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }))
            .await;
        r["result"]["value"].clone()
    }

    async fn click(&mut self, id: &str) {
        let found = self.eval(&format!("(() => {{ const b = document.getElementById('{id}'); if (!b) return false; b.click(); return true; }})()")).await;
        assert_eq!(found, true, "no button #{id}");
    }

    async fn screenshot(&mut self, name: &str) -> Vec<u8> {
        let r = self.send("Page.captureScreenshot", json!({ "format": "png" })).await;
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        png
    }
}

/// RGBA or RGB pixels of a screenshot.
fn pixels(png_bytes: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("screenshot colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()].chunks_exact(step).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width as usize, info.height as usize, px)
}

fn qr_codes(png_bytes: &[u8]) -> Vec<String> {
    let (w, h, px) = pixels(png_bytes);
    let luma: Vec<u8> = px
        .iter()
        .map(|p| ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8)
        .collect();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, c)| c)).collect()
}

fn count_near(png_bytes: &[u8], color: [u8; 3]) -> usize {
    let (_, _, px) = pixels(png_bytes);
    px.iter().filter(|p| p.iter().zip(color).all(|(a, b)| a.abs_diff(b) <= 12)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_klarna_sale_clicked_through_on_the_dashboard() {
    let Some(binary) = chromium() else {
        if std::env::var_os("POSAGENT_SKIP_BROWSER").is_some() {
            eprintln!("SKIPPED: no chromium on this machine (POSAGENT_SKIP_BROWSER is set)");
            return;
        }
        panic!("chromium is not installed; `.ci/run` installs Debian's chromium package");
    };
    let h = Harness::start().await;
    let mut b = Browser::launch(&binary).await;
    b.open(&format!("{}/", h.sim.backend_url)).await;
    assert_eq!(b.eval("document.title").await, "posagent simulator");

    // The register starts a Klarna sale; the dashboard shows the QR code the customer scans.
    let sale = h.create(json!({"amount": 123450, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let shown = h.wait_state(&id, "QR_SHOWN").await;
    let url = shown["payment_request_url"].as_str().unwrap().to_string();
    let mut decoded = vec![];
    for _ in 0..50 {
        decoded = qr_codes(&b.screenshot("1-qr-on-dashboard").await);
        if !decoded.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(decoded, vec![url.clone()], "the QR code in the screenshot is the payment request URL");

    // Click "Scan & approve".
    b.click("approve").await;
    let done = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let klarna_ref = done["klarna_reference"].as_str().unwrap().to_string();
    let mut approved = vec![];
    for _ in 0..50 {
        approved = b.screenshot("2-approved").await;
        let receipt = b.eval("document.querySelector('#receipts pre.receipt')?.textContent || ''").await;
        if count_near(&approved, [0x0A, 0x7A, 0x3C]) > 5_000
            && receipt.as_str().is_some_and(|r| r.contains(&klarna_ref))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(count_near(&approved, [0x0A, 0x7A, 0x3C]) > 5_000, "the approved (green) screen is on the dashboard");
    let status = b.eval("document.getElementById('status').textContent").await;
    assert!(status.as_str().is_some_and(|s| s.contains(&url)), "{status}");

    // A second sale the customer declines, by clicking.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    b.click("decline").await;
    h.wait_state(&id, "DECLINED").await;
    let mut declined = vec![];
    for _ in 0..50 {
        declined = b.screenshot("3-declined").await;
        if count_near(&declined, [0xB0, 0x1E, 0x2D]) > 5_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(count_near(&declined, [0xB0, 0x1E, 0x2D]) > 5_000, "the declined (red) screen is on the dashboard");

    // A card sale: the register asks for a card, the developer clicks "Tap card".
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sale = h.create(json!({"amount": 8990, "currency": "SEK", "method": "CARD"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    for _ in 0..50 {
        let reader = b.eval("document.getElementById('reader').textContent").await;
        if reader.as_str().is_some_and(|r| r.contains("waiting")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.click("card-approve").await;
    let paid = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    assert_eq!(paid["masked_pan"], "411111******1111");
    let mut card_shot = vec![];
    for _ in 0..50 {
        card_shot = b.screenshot("4-card-approved").await;
        let receipt = b.eval("document.querySelector('#receipts pre.receipt')?.textContent || ''").await;
        if count_near(&card_shot, [0x0A, 0x7A, 0x3C]) > 5_000
            && receipt.as_str().is_some_and(|r| r.contains("**** 1111"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(count_near(&card_shot, [0x0A, 0x7A, 0x3C]) > 5_000, "the approved screen after the card sale");

    // Network and device controls reach the simulator.
    b.click("net-offline").await;
    let mut faults = Value::Null;
    for _ in 0..50 {
        faults = h.http.get(format!("{}/sim/faults", h.sim.backend_url)).send().await.unwrap().json().await.unwrap();
        if faults["partition"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(faults["partition"], true);
    b.click("net-normal").await;
    b.eval("(() => { const c = document.getElementById('paper-out'); c.checked = true; c.dispatchEvent(new Event('change')); })()").await;
    for _ in 0..50 {
        if h.sim.printer.paper_out() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(h.sim.printer.paper_out());
    b.screenshot("5-controls").await;
}
