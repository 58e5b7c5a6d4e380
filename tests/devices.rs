//! Devices unplugged and plugged back are noticed and reopened by themselves within 2 s,
//! shown in /health; a sale meeting a missing display ends with a clear reason, no hang.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn device(h: &Harness, name: &str) -> Value {
    let health: Value = h.http.get(format!("{}/health", h.url)).send().await.unwrap().json().await.unwrap();
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

    plug(&h, "display", false).await;
    within_2s(&h, "display", |d| d["connected"] == false && d["last_error"].is_string()).await;
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
    h.sim.printer.set_paper_out(false);
    within_2s(&h, "printer", |d| d["connected"] == true && d["last_error"].is_null()).await;

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
