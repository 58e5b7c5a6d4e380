//! The emulated USB printer harness shared by `tests/it/usb_printer.rs` and
//! `tests/it/package.rs`: the Epson TM-T20II of `tests/it/usb/emulated_printer.c` built with
//! `cc` into the test's temp dir together with the netlink shim, run as a child process
//! driven by commands on its stdin, its `event …` lines collected from its stdout, what
//! it received read back from its output file; the preload environment a host process
//! needs to see it (`LD_PRELOAD=<shim>.so:libumockdev-preload.so.0`, `UMOCKDEV_DIR`);
//! and a small client for a daemon process's ECR API (Klarna sales, /health, /metrics),
//! each wait bounded by a deadline.
//!
//! Include it with `#[path = "usb/harness.rs"] mod harness;` (and `usb/escpos.rs`).
// Each test that includes this uses part of it.
#![allow(dead_code)]

use super::escpos::{self, Item};
use posagent_sim::SimEnvironment;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The partial cut every receipt ends with: GS V B 3.
pub const CUT: [u8; 4] = [0x1d, 0x56, 0x42, 0x03];

/// The emulated printer's USB id, as a profile's printer endpoint names it.
pub const ENDPOINT: &str = "usb:04b8:0e28";

/// The /metrics series of the printer's paper-out condition (1 while out).
pub const PAPER_OUT: &str = "posagent_device_condition{device=\"printer\",condition=\"paper_out\"}";

/// Why the emulation cannot run here: umockdev (or a C compiler) is missing.
pub fn missing_tools() -> Option<String> {
    let pc = Command::new("pkg-config").args(["--exists", "umockdev-1.0"]).status();
    if !matches!(pc, Ok(s) if s.success()) {
        return Some("pkg-config finds no umockdev-1.0 (libumockdev-dev)".into());
    }
    if preload_library().is_none() {
        return Some("libumockdev-preload.so.0 is not installed (umockdev)".into());
    }
    None
}

/// The umockdev preload library, by its path (the loader's search path may not have it).
fn preload_library() -> Option<PathBuf> {
    let out = Command::new("pkg-config").args(["--variable=libdir", "umockdev-1.0"]).output().ok()?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    [libdir.as_str(), "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"]
        .iter()
        .map(|d| Path::new(d).join("libumockdev-preload.so.0"))
        .find(|p| p.exists())
}

/// Compiles C files of `tests/it/usb/` into `dir/name`; `shared` for a preload library.
fn compile(dir: &Path, name: &str, sources: &[&str], shared: bool) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/usb");
    let out = dir.join(name);
    let mut cc = Command::new("cc");
    cc.args(["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-o"]).arg(&out);
    cc.args(sources.iter().map(|s| src.join(s)));
    if shared {
        cc.args(["-shared", "-fPIC", "-ldl"]);
    } else {
        let flags = Command::new("pkg-config").args(["--cflags", "--libs", "umockdev-1.0"]).output().unwrap();
        assert!(flags.status.success(), "pkg-config umockdev-1.0 failed");
        cc.args(String::from_utf8(flags.stdout).unwrap().split_whitespace());
    }
    let built = cc.output().unwrap_or_else(|e| panic!("cannot run cc: {e}"));
    assert!(built.status.success(), "cc {sources:?} failed:\n{}", String::from_utf8_lossy(&built.stderr));
    out
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    closed: bool,
}

/// A running emulated printer.
pub struct Printer {
    child: Child,
    stdin: ChildStdin,
    lines: Arc<(Mutex<Lines>, Condvar)>,
    /// Every byte the printer received on bulk OUT.
    pub output: PathBuf,
    /// The testbed the host process must be given as `UMOCKDEV_DIR`.
    pub umockdev_dir: PathBuf,
    /// `<shim>.so:libumockdev-preload.so.0`, for the host's `LD_PRELOAD`.
    preload: String,
}

impl Printer {
    /// Builds the emulator and the netlink shim into `dir` and starts the emulator (its
    /// testbed, output and log in `dir`), plugged in.
    pub fn start(dir: &Path) -> Printer {
        let binary = compile(dir, "emulated_printer", &["emulated_printer.c", "tm_t20ii.c"], false);
        // libusb only hears kernel uevents; see tests/it/usb/netlink_kernel_shim.c.
        let shim = compile(dir, "netlink_kernel_shim.so", &["netlink_kernel_shim.c"], true);
        let preload = format!("{}:{}", shim.display(), preload_library().unwrap().display());
        let output = dir.join("printed.bin");
        let mut child = Command::new(binary)
            .arg("--out")
            .arg(&output)
            .env("TMPDIR", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("emulator.log")).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new((Mutex::new(Lines::default()), Condvar::new()));
        let shared = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let (m, cv) = &*shared;
                m.lock().unwrap().lines.push(line);
                cv.notify_all();
            }
            let (m, cv) = &*shared;
            m.lock().unwrap().closed = true;
            cv.notify_all();
        });
        let mut p = Printer { child, stdin, lines, output, umockdev_dir: PathBuf::new(), preload };
        let line = p.wait_line(|l| l.starts_with("UMOCKDEV_DIR="), Duration::from_secs(10));
        p.umockdev_dir = PathBuf::from(line.trim_start_matches("UMOCKDEV_DIR="));
        p
    }

    /// What a host process needs in its environment to see the printer on its USB bus.
    pub fn env(&self) -> [(&'static str, OsString); 2] {
        [("LD_PRELOAD", self.preload.clone().into()), ("UMOCKDEV_DIR", self.umockdev_dir.clone().into())]
    }

    /// Lets a host process running as group `gid` use the testbed. The testbed is the
    /// emulator's (root's when the test is root): mkdtemp made it 0700 and its sockets
    /// 0755. A host under the preload reads its sysfs tree and device nodes, connects to
    /// the ioctl sockets (`ioctl/dev/bus/usb/001/00N`: connecting needs write permission
    /// on the socket) and binds its own uevent sockets (`eventN`) in the testbed's top
    /// directory. So everything in it goes to group `gid`, group read-write (and search
    /// on directories): `chgrp -R gid` and `chmod -R g+rwX`. Files the emulator makes
    /// later (a replug's new device node and socket) are not covered.
    pub fn share_with_group(&self, gid: u32) {
        for (tool, change) in [("chgrp", gid.to_string()), ("chmod", "g+rwX".to_string())] {
            let ok = Command::new(tool).arg("-R").arg(&change).arg(&self.umockdev_dir).status();
            assert!(ok.is_ok_and(|s| s.success()), "{tool} -R {change} {}", self.umockdev_dir.display());
        }
    }

    /// Waits for a line of the printer's (seen before or after the call) and returns it.
    pub fn wait_line(&self, pred: impl Fn(&str) -> bool, within: Duration) -> String {
        self.wait_lines(|lines| lines.iter().find(|l| pred(l)).cloned(), within, "the line")
    }

    /// Waits until `pred` finds something in all the lines so far.
    fn wait_lines<T>(&self, pred: impl Fn(&[String]) -> Option<T>, within: Duration, what: &str) -> T {
        let deadline = Instant::now() + within;
        let (m, cv) = &*self.lines;
        let mut g = m.lock().unwrap();
        loop {
            if let Some(found) = pred(&g.lines) {
                return found;
            }
            assert!(!g.closed, "the emulated printer exited before {what}; its lines: {:?}", g.lines);
            let now = Instant::now();
            assert!(now < deadline, "the emulated printer never printed {what}; its lines: {:?}", g.lines);
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// How many of the printer's lines so far are `line`.
    pub fn count(&self, line: &str) -> usize {
        self.lines.0.lock().unwrap().lines.iter().filter(|l| *l == line).count()
    }

    /// Sends a command (`paper out`, `unplug`, ...) and waits for its `ok`.
    pub fn command(&mut self, cmd: &str) {
        let ok = format!("ok {cmd}");
        let before = self.count(&ok);
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        let seen = |lines: &[String]| (lines.iter().filter(|l| **l == ok).count() > before).then_some(());
        self.wait_lines(seen, Duration::from_secs(5), &format!("`{ok}`"));
    }

    /// Every byte received on bulk OUT so far.
    pub fn received(&self) -> Vec<u8> {
        std::fs::read(&self.output).unwrap_or_default()
    }

    /// Waits (without blocking the runtime) for an `event …` line, with `log()` (the
    /// daemon's) in the failure.
    pub async fn event_until(&self, line: &str, secs: u64, log: impl Fn() -> String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.count(line) == 0 {
            assert!(Instant::now() < deadline, "no `{line}` from the printer\nthe daemon's log:\n{}", log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the printer has received `n` whole documents (ESC @ … cut); all the
    /// items received.
    pub async fn documents_until(&self, n: usize, secs: u64, log: impl Fn() -> String) -> Vec<Item> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let bytes = self.received();
            if bytes.windows(4).filter(|w| *w == CUT).count() >= n {
                let items = escpos::decode(&bytes);
                if escpos::documents(&items).len() >= n {
                    return items;
                }
            }
            assert!(Instant::now() < deadline, "{n} documents never arrived ({} bytes)\n{}", bytes.len(), log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Klarna sale's receipt: initialised (ESC @), the amount as printed in its text,
/// Klarna named, the partial cut last.
pub fn assert_receipt(doc: &[Item], amount_text: &str) {
    assert_eq!(doc.first(), Some(&Item::Command(vec![0x1b, 0x40])), "starts with ESC @");
    assert_eq!(doc.last(), Some(&Item::Command(CUT.to_vec())), "ends with GS V B 3");
    let lines = escpos::text_lines(doc);
    assert!(lines.iter().any(|l| l.contains(amount_text)), "{amount_text} in the receipt: {lines:#?}");
    assert!(lines.iter().any(|l| l.contains("Klarna")), "Klarna in the receipt: {lines:#?}");
}

/// A daemon process's ECR API: its URL and token; `log` is the daemon's log file, shown
/// when a wait runs out.
pub struct Ecr {
    pub url: String,
    pub token: String,
    pub log: PathBuf,
    pub http: reqwest::Client,
}

impl Ecr {
    pub fn new(url: String, token: String, log: PathBuf) -> Ecr {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        Ecr { url, token, log, http }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap()
    }

    /// `/health`: its status code and body.
    pub async fn health(&self) -> (u16, Value) {
        let r = self.get("/health").await;
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Polls /health until `done` holds (within `secs`); the last answer (the caller
    /// asserts on it, so a wait that runs out shows what /health said).
    pub async fn health_until(&self, secs: u64, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.health().await;
            if done(status, &body) || Instant::now() >= deadline {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The printer's entry in /health's devices.
    pub async fn printer(&self) -> Value {
        let (_, health) = self.health().await;
        health["devices"].as_array().unwrap().iter().find(|d| d["device"] == "printer").cloned().unwrap()
    }

    /// Polls /health until the printer's entry satisfies `pred` (within `secs`).
    pub async fn printer_until(&self, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let p = self.printer().await;
            if pred(&p) {
                return p;
            }
            assert!(Instant::now() < deadline, "printer never {what}: {p}\nthe daemon's log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The /metrics scrape.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Waits (within `secs`) until /metrics has a sample line starting with `series`
    /// (a name and the start of its labels) whose value is `value`; that line.
    pub async fn metric_until(&self, series: &str, value: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let scrape = self.metrics().await;
            let found = scrape.lines().find(|l| l.starts_with(series) && l.rsplit(' ').next() == Some(value));
            if let Some(line) = found {
                return line.to_string();
            }
            let seen: Vec<&str> = scrape.lines().filter(|l| l.starts_with(series)).collect();
            assert!(Instant::now() < deadline, "no `{series}… {value}` in /metrics, only {seen:?}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the printer's `posagent_device_up` to be 1 or 0 (within `secs`).
    pub async fn printer_up_until(&self, up: bool, secs: u64) -> String {
        self.metric_until("posagent_device_up{device=\"printer\"", if up { "1" } else { "0" }, secs).await
    }

    /// A Klarna sale of `amount` SEK minor units, approved by the simulated customer;
    /// its final JSON.
    pub async fn klarna_sale(&self, sim: &SimEnvironment, amount: u64) -> Value {
        let r = self.http.post(format!("{}/v1/sales", self.url)).bearer_auth(&self.token);
        let sale: Value =
            r.json(&json!({"amount": amount, "currency": "SEK"})).send().await.unwrap().json().await.unwrap();
        let id = sale["id"].as_str().unwrap_or_else(|| panic!("no sale: {sale}\n{}", self.log())).to_string();
        self.sale_until(&id, |s| s["state"] == "QR_SHOWN").await;
        sim.customer(posagent_sim::customer::CustomerAction::Approve).await.unwrap();
        self.sale_until(&id, |s| s["state"] == "APPROVED").await
    }

    /// Polls the sale until `pred` holds (15 s at most).
    pub async fn sale_until(&self, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let sale: Value = self.get(&format!("/v1/sales/{id}")).await.json().await.unwrap();
            if pred(&sale) {
                return sale;
            }
            assert!(Instant::now() < deadline, "sale never got there: {sale}\nthe daemon's log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
