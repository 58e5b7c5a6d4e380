//! Devices unplugged and plugged back are noticed and reopened by themselves within 2 s,
//! shown in /health; a sale meeting a missing display ends with a clear reason, no hang.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn device(h: &Harness, name: &str) -> Value {
    let (_, health) = h.health().await;
    health["devices"].as_array().unwrap().iter().find(|d| d["device"] == name).cloned().unwrap()
}

/// Waits until `pred` holds for the device, returning how long it took (at most 2 s).
async fn within_2s(h: &Harness, name: &str, pred: impl Fn(&Value) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let d = device(h, name).await;
        if pred(&d) {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(2), "{name} did not get there within 2 s: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn plug(h: &Harness, device: &str, plugged: bool) {
    let r = h
        .http
        .post(format!("{}/sim/devices/{device}", h.sim.backend_url))
        .json(&json!({ "plugged": plugged }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_and_replug_are_seen_and_recovered() {
    let h = Harness::start().await;
    // Probed and opened at start, before any sale.
    within_2s(&h, "display", |d| d["connected"] == true).await;
    within_2s(&h, "printer", |d| d["connected"] == true).await;

    let (status, health) = h.get("/health").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")), "{health}");
    plug(&h, "display", false).await;
    within_2s(&h, "display", |d| d["connected"] == false && d["last_error"].is_string()).await;
    // No sale can be shown to the customer: /health is down, 503, and says why.
    let (status, health) = h.get("/health").await;
    assert_eq!((status, health["status"].as_str()), (503, Some("down")), "{health}");
    assert_eq!(health["problems"][0]["part"], "display", "{health}");
    // A sale now cannot show its QR code: it ends with a clear reason, and the payment
    // request is withdrawn at the acquirer.
    let sale = h.create(json!({"amount": 10000, "currency": "SEK"})).await;
    let done = h
        .wait_for(sale["id"].as_str().unwrap(), |s| {
            s["state"].as_str().is_some_and(|st| ["CANCELED", "FAILED"].contains(&st))
        })
        .await;
    assert_eq!(done["reason"], "DISPLAY_FAILED", "{done}");
    let pr = h.backend_get(&format!("/v1/payment-requests?reference={}", done["reference"].as_str().unwrap())).await;
    assert_eq!(pr["state"], "CANCELED");

    plug(&h, "display", true).await;
    within_2s(&h, "display", |d| d["connected"] == true && d["last_error"].is_null()).await;

    h.sim.printer.set_paper_out(true);
    within_2s(&h, "printer", |d| d["last_error"].as_str().is_some_and(|e| e.contains("paper"))).await;
    // Sales go on (receipts held): degraded, and the printer is not up in /metrics.
    let (status, health) = h.get("/health").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("degraded")), "{health}");
    assert!(health["problems"].as_array().unwrap().iter().any(|p| p["part"] == "printer"), "{health}");
    let metrics = h.metrics().await;
    let printer_up = metrics.lines().find(|l| l.starts_with("posagent_device_up{device=\"printer\"")).unwrap();
    assert!(printer_up.ends_with(" 0"), "{printer_up}");
    assert!(metrics.contains("posagent_build_info{version=") && metrics.contains("process_start_time_seconds"));
    // The cause has its own series, the others are there at 0.
    let condition = |c: &str, v: u8| format!("posagent_device_condition{{device=\"printer\",condition=\"{c}\"}} {v}\n");
    for line in [condition("paper_out", 1), condition("cover_open", 0), condition("paper_low", 0)] {
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    let printer = health["devices"].as_array().unwrap().iter().find(|d| d["device"] == "printer").unwrap();
    assert_eq!(printer["conditions"], json!(["paper_out"]), "{health}");
    h.sim.printer.set_paper_out(false);
    within_2s(&h, "printer", |d| d["connected"] == true && d["last_error"].is_null()).await;
    let metrics = h.metrics().await;
    assert!(metrics.contains(&condition("paper_out", 0)), "{metrics}");

    plug(&h, "printer", false).await;
    within_2s(&h, "printer", |d| d["connected"] == false).await;
    plug(&h, "printer", true).await;
    within_2s(&h, "printer", |d| d["connected"] == true).await;

    // And a sale works again, end to end.
    let sale = h.create(json!({"amount": 10000, "currency": "SEK"})).await;
    h.wait_state(sale["id"].as_str().unwrap(), "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(sale["id"].as_str().unwrap(), |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framebuffer_display_shows_the_qr_code() {
    use posagent::config::{DisplayDriver, Endpoint};
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    // A fake framebuffer: a device file and its sysfs description (16 bpp, padded lines).
    let dir = tempfile::tempdir().unwrap();
    let (w, h_px, stride) = (480u32, 272u32, 480 * 2 + 64);
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).unwrap();
    std::fs::write(sys.join("virtual_size"), format!("{w},{h_px}")).unwrap();
    std::fs::write(sys.join("bits_per_pixel"), "16").unwrap();
    std::fs::write(sys.join("stride"), stride.to_string()).unwrap();
    let dev = dir.path().join("fb0");
    std::fs::write(&dev, vec![0u8; (stride * h_px) as usize]).unwrap();
    let mut config =
        posagent::daemon::simulated_store_config(&h.data_dir(), &h.sim.backend_url, "127.0.0.1:0".parse().unwrap());
    config.limits.shutdown_grace_secs = 0;
    let mut profile = posagent::daemon::simulated_profile(&h.sim).unwrap();
    profile.display.driver = DisplayDriver::Framebuffer { sysfs: sys.clone() };
    profile.display.endpoint = Endpoint::File(dev.display().to_string());
    let daemon =
        posagent::daemon::Daemon::start(config, profile, tokio_util::sync::CancellationToken::new()).await.unwrap();
    h.url = daemon.ecr_url.clone();
    h.token = daemon.ecr_token.clone();
    h.daemon = Some(daemon);

    let sale = h.create(json!({"amount": 10000, "currency": "SEK"})).await;
    let shown = h.wait_state(sale["id"].as_str().unwrap(), "QR_SHOWN").await;
    let url = shown["payment_request_url"].as_str().unwrap().to_string();
    // Read the framebuffer back as a camera would see it.
    let mut found = vec![];
    for _ in 0..50 {
        let bytes = std::fs::read(&dev).unwrap();
        let luma: Vec<u8> = (0..h_px)
            .flat_map(|y| (0..w).map(move |x| (y, x)))
            .map(|(y, x)| {
                let i = (y * stride + x * 2) as usize;
                let v = u16::from_le_bytes([bytes[i], bytes[i + 1]]);
                let (r, g, b) = (((v >> 11) & 31) * 8, ((v >> 5) & 63) * 4, (v & 31) * 8);
                ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000) as u8
            })
            .collect();
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(w as usize, h_px as usize, |x, y| luma[y * w as usize + x]);
        found = img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, c)| c)).collect();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found, vec![url]);
    let (_, health) = h.health().await;
    assert!(health["devices"][0]["endpoint"].as_str().unwrap().contains("fb0"), "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_printer_is_also_a_serial_port() {
    let h = Harness::start().await;
    let path = h.sim.printer_pty.clone().expect("a pseudo-terminal for the printer");
    let printed = tokio::task::spawn_blocking(move || {
        use posagent_drivers::printer::{Block, Document, PrinterProfile, ReceiptPrinter};
        let transport = posagent_drivers::transport::SerialTransport::open(&path, 38_400).unwrap();
        let mut printer = ReceiptPrinter::new(transport, PrinterProfile::default(), true);
        assert_eq!(printer.status().unwrap(), posagent_drivers::printer::PrinterStatus::default());
        let mut doc = Document::default();
        doc.line("over the serial port");
        doc.push(Block::Cut);
        printer.print(&doc)
    })
    .await
    .unwrap();
    assert!(printed.is_ok(), "{printed:?}");
    let receipts = h.sim.printer.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert!(receipts.iter().any(|r| r.text.contains("over the serial port")));
}

/// The device's health once `pred` holds for it, or as it is after 5 s.
async fn device_when(h: &Harness, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let d = device(h, name).await;
        if pred(&d) || Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_versions_are_read_and_checked_against_the_profile() {
    let mut h = Harness::start().await;
    // The simulator profile lists the simulated devices' versions: validated.
    let sale = h.create(json!({"amount": 1000, "currency": "SEK", "method": "CARD"})).await;
    let printer = device_when(&h, "printer", |d| !d["firmware"].is_null()).await;
    assert_eq!(
        (printer["firmware"].as_str(), printer["firmware_validated"].as_bool()),
        (Some("SIM-PRN 1.04"), Some(true))
    );
    let reader = device_when(&h, "card_reader", |d| !d["firmware"].is_null()).await;
    assert_eq!(
        (reader["firmware"].as_str(), reader["firmware_validated"].as_bool()),
        (Some("SIM-RDR 2.4.1"), Some(true))
    );
    let display = device_when(&h, "display", |d| !d["firmware"].is_null()).await;
    assert_eq!(
        (display["firmware"].as_str(), display["firmware_validated"].as_bool()),
        (Some("SIM-PNL 3.0.2"), Some(true))
    );

    // A profile validated with other versions: the same devices are flagged.
    h.post(&format!("/v1/sales/{}/cancel", sale["id"].as_str().unwrap()), json!({})).await;
    h.stop_daemon().await;
    let mut profile = posagent::daemon::simulated_profile(&h.sim).unwrap();
    profile.printer.firmware = vec!["2.00".into()];
    profile.display.firmware = vec!["PNL 9".into()];
    let report = tokio::task::spawn_blocking({
        let p = profile.clone();
        move || posagent::discovery::firmware_report(&p)
    })
    .await
    .unwrap();
    assert!(report.contains("printer      firmware SIM-PRN 1.04 NOT VALIDATED (the profile lists: 2.00)"), "{report}");
    assert!(report.contains("card reader  firmware SIM-RDR 2.4.1 (validated)"), "{report}");
    assert!(
        report.contains("display      firmware SIM-PNL 3.0.2 NOT VALIDATED (the profile lists: PNL 9)"),
        "{report}"
    );
    h.start_daemon_on(profile, |_| {}).await;
    let flagged = device_when(&h, "printer", |d| d["firmware_validated"] == false).await;
    assert_eq!(flagged["firmware_validated"], false, "{flagged}");
    let flagged = device_when(&h, "display", |d| d["firmware_validated"] == false).await;
    assert_eq!(flagged["firmware_validated"], false, "{flagged}");
}
