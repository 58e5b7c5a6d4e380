//! The simulator's dashboard in headless Chromium, driven over the DevTools protocol:
//! a Klarna sale approved by clicking, a declined one, a card sale, device and network
//! controls —
//! with screenshots checked (the QR code in the screenshot decodes to the payment URL).
//!
//! Needs Debian's `chromium` (installed by `.ci/run`). Without it the test fails, unless
//! `POSAGENT_SKIP_BROWSER=1` says this machine cannot have one.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use common::browser::{Browser, chromium, count_near, qr_codes};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_klarna_sale_clicked_through_on_the_dashboard() {
    let Some(binary) = chromium() else { return };
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
    // The approved screen stays up for a few seconds: look for it first, then the receipt.
    let mut approved = vec![];
    for _ in 0..50 {
        approved = b.screenshot("2-approved").await;
        if count_near(&approved, [0x0A, 0x7A, 0x3C]) > 5_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(count_near(&approved, [0x0A, 0x7A, 0x3C]) > 5_000, "the approved (green) screen is on the dashboard");
    wait_for_receipt(&mut b, &klarna_ref).await;
    let status = b.eval("document.getElementById('status').textContent").await;
    assert!(status.as_str().is_some_and(|s| s.contains(&url)), "{status}");

    // A second sale the customer declines, by clicking.
    let sale = create_when_free(&h, json!({"amount": 4990, "currency": "SEK"})).await;
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
    let sale = create_when_free(&h, json!({"amount": 8990, "currency": "SEK", "method": "CARD"})).await;
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
        if count_near(&card_shot, [0x0A, 0x7A, 0x3C]) > 5_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(count_near(&card_shot, [0x0A, 0x7A, 0x3C]) > 5_000, "the approved screen after the card sale");
    wait_for_receipt(&mut b, "**** 1111").await;

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

/// Starts a sale once the terminal is free: until the last sale has wound down (its
/// result screen, its receipt) the register is answered 409 TERMINAL_BUSY.
async fn create_when_free(h: &Harness, body: Value) -> Value {
    common::eventually::eventually_seen("the terminal to take the next sale", common::eventually::WITHIN, || async {
        let (status, sale) = h.post("/v1/sales", body.clone()).await;
        match status {
            201 => common::eventually::Seen::Done(sale),
            409 if sale["code"] == "TERMINAL_BUSY" => common::eventually::Seen::Not(sale),
            _ => panic!("{status} {sale}"),
        }
    })
    .await
}

/// Waits until the newest receipt on the dashboard holds `text`.
async fn wait_for_receipt(b: &mut Browser, text: &str) {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = b.eval("document.querySelector('#receipts pre.receipt')?.textContent || ''").await;
        if last.as_str().is_some_and(|r| r.contains(text)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no receipt with {text:?} on the dashboard: {last}");
}
