//! The real daemon prints over raw USB (libusb, `usb:04b8:0e28`) to an emulated Epson
//! TM-T20II (`tests/usb/emulated_printer.c`, umockdev): a Klarna sale's receipt arrives
//! byte for byte; paper out, cover open, a garbled or missing status answer show in
//! /health and /metrics and clear again (paper out also as the printer's `paper_out`
//! condition, 1 then 0); a stalled bulk OUT and an unplug/replug are recovered from, and
//! the receipts held meanwhile are printed once. The emulator harness is
//! `tests/usb/harness.rs`, shared with `tests/package.rs`.
//!
//! Skipped (with a message) only when umockdev is not installed; CI installs it with
//! `apt-get install -y umockdev libumockdev-dev pkg-config gcc`.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "usb/escpos.rs"]
mod escpos;
#[path = "usb/harness.rs"]
mod harness;

use harness::{Ecr, Printer, assert_receipt};
use posagent::daemon::start_simulator;
use posagent_sim::SimEnvironment;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn write_config(dir: &Path, data: &Path, sim: &SimEnvironment) -> PathBuf {
    let reader = sim.card_reader.as_ref().expect("the simulator has a card reader");
    let profile = format!(
        r#"model = "usb-test"
description = "simulated panel and card reader, an Epson TM-T20II on USB"
[display]
driver = "panel"
endpoint = "tcp:{display}"
width = 800
height = 480
[printer]
driver = "escpos"
endpoint = "usb:04b8:0e28"
model = "TM-T20II"
code_page = "pc858"
[card_reader]
driver = "framed-serial"
endpoint = "serial:{reader}@115200"
"#,
        display = sim.display_addr,
        reader = reader.path
    );
    std::fs::write(dir.join("profile.toml"), profile).unwrap();
    let config = format!(
        r#"data_dir = "{data}"
device_profile = "profile.toml"
[store]
store_reference = "usb-store"
terminal_reference = "USB01"
name = "USB Store"
country = "SE"
currency = "SEK"
locale = "sv-SE"
[acquirer]
url = "{url}"
credentials_file = "{data}/acquirer.key"
[ecr]
listen = "127.0.0.1:0"
token_file = "ecr.token"
max_requests_per_sec = 10000
"#,
        data = data.display(),
        url = sim.backend_url
    );
    let path = dir.join("posagent.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// The daemon as a process under the umockdev preload, with its ECR API.
struct Daemon {
    child: Child,
    ecr: Ecr,
}

impl Daemon {
    fn start(config: &Path, data: &Path, printer: &Printer, log: PathBuf) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_posagent"))
            .args(["run", "--config"])
            .arg(config)
            .envs(printer.env())
            .env("POSAGENT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_string);
        let url = url.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("no ECR URL in `{line}`; the daemon's log:\n{}", std::fs::read_to_string(&log).unwrap())
        });
        let token = std::fs::read_to_string(data.join("ecr.token")).unwrap().trim().to_string();
        Daemon { child, ecr: Ecr::new(url, token, log) }
    }
}

impl std::ops::Deref for Daemon {
    type Target = Ecr;
    fn deref(&self) -> &Ecr {
        &self.ecr
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_over_usb_with_faults_and_replug() {
    if let Some(why) = harness::missing_tools() {
        eprintln!("SKIPPED usb_printer: {why}; install: apt-get install -y umockdev libumockdev-dev pkg-config gcc");
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut printer = Printer::start(tmp.path());

    let stop = CancellationToken::new();
    let data = tmp.path().join("data");
    let sim = start_simulator(&data, &tmp.path().join("sim"), stop.clone()).await.unwrap();
    let config = write_config(tmp.path(), &data, &sim);
    let daemon = Daemon::start(&config, &data, &printer, tmp.path().join("daemon.log"));

    // Opened at start: usblp detached, the interface claimed.
    daemon.printer_until("connected", 10, |p| p["connected"] == true).await;
    printer.wait_line(|l| l == "event usblp-detached", Duration::from_secs(1));
    printer.wait_line(|l| l == "event claimed", Duration::from_secs(1));
    daemon.printer_up_until(true, 2).await;

    // A sale's receipt, byte for byte; status was asked before it.
    daemon.klarna_sale(&sim, 12_500).await;
    let items = printer.documents_until(1, 10, || daemon.log()).await;
    let docs = escpos::documents(&items);
    assert_receipt(docs[0], "125,00");
    let first_doc = items.iter().position(|i| i.is(&[0x1b, 0x40])).unwrap();
    assert!(items[..first_doc].iter().any(|i| i.is(&[0x10, 0x04])), "DLE EOT before the receipt: {items:?}");

    // Paper out: a fault in /health and the printer down in /metrics; paper back: up.
    printer.command("paper out");
    let p = daemon
        .printer_until("showed paper out", 5, |p| p["last_error"].as_str().is_some_and(|e| e.contains("paper")))
        .await;
    eprintln!("paper out: {p}");
    daemon.printer_up_until(false, 1).await;
    daemon.metric_until(harness::PAPER_OUT, "1", 2).await;
    let (_, health) = daemon.health().await;
    assert!(health["problems"].as_array().unwrap().iter().any(|p| p["part"] == "printer"), "{health}");
    printer.command("paper ok");
    daemon.printer_until("recovered from paper out", 5, |p| p["connected"] == true && p["last_error"].is_null()).await;
    daemon.printer_up_until(true, 2).await;
    daemon.metric_until(harness::PAPER_OUT, "0", 2).await;

    // Cover open, a garbled status answer, no answer at all: each a fault, then cleared.
    for (on, off) in
        [("cover open", "cover closed"), ("status garbage", "status normal"), ("status silent", "status normal")]
    {
        printer.command(on);
        let p = daemon.printer_until(&format!("showed `{on}`"), 8, |p| !p["last_error"].is_null()).await;
        eprintln!("{on}: {p}");
        daemon.printer_up_until(false, 2).await;
        printer.command(off);
        daemon
            .printer_until(&format!("recovered from `{on}`"), 8, |p| {
                p["connected"] == true && p["last_error"].is_null()
            })
            .await;
        daemon.printer_up_until(true, 2).await;
    }

    // A stalled bulk OUT endpoint: cleared by the host, and the next receipt prints.
    printer.command("stall");
    daemon.klarna_sale(&sim, 4_200).await;
    printer.event_until("event clear-halt 0x02", 15, || daemon.log()).await;
    let items = printer.documents_until(2, 15, || daemon.log()).await;
    assert_receipt(escpos::documents(&items)[1], "42,00");

    // Unplugged: noticed; a sale meanwhile keeps its receipt; plugged back (a new device
    // number): reopened, and the held receipt printed once.
    printer.command("unplug");
    daemon.printer_until("noticed the unplug", 5, |p| p["connected"] == false).await;
    daemon.printer_up_until(false, 2).await;
    daemon.klarna_sale(&sim, 990).await;
    printer.command("plug");
    daemon.printer_until("reopened after replug", 10, |p| p["connected"] == true && p["last_error"].is_null()).await;
    let items = printer.documents_until(3, 15, || daemon.log()).await;
    let docs = escpos::documents(&items);
    assert_receipt(docs[2], "9,90");
    // Printed once: the next sale's receipt is the fourth document.
    daemon.klarna_sale(&sim, 100).await;
    let items = printer.documents_until(4, 10, || daemon.log()).await;
    let docs = escpos::documents(&items);
    assert_eq!(docs.len(), 4, "the held receipt is printed once");
    assert_receipt(docs[3], "1,00");
    eprintln!("usb_printer took {:.1} s", started.elapsed().as_secs_f64());
    drop(daemon);
    drop(printer);
    stop.cancel();
}
