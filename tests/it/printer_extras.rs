//! The receipt printer's extras through the real driver and the simulated printer: the
//! store's logo on top of every receipt, and the cash drawer kicked open for the register.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::eventually::eventually;
use common::Harness;
use serde_json::json;
use std::time::Duration;

/// A 64×16 PNG: a black bar over the left half.
fn logo_png() -> Vec<u8> {
    let data: Vec<u8> = (0..64 * 16).map(|i| if i % 64 < 32 { 0 } else { 255 }).collect();
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, 64, 16);
        e.set_color(png::ColorType::Grayscale);
        e.set_depth(png::BitDepth::Eight);
        e.write_header().unwrap().write_image_data(&data).unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logo_tops_every_receipt_and_the_drawer_opens_on_request() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    let logo = h.dir.path().join("logo.png");
    std::fs::write(&logo, logo_png()).unwrap();
    h.start_daemon_with(|c| c.store.logo = Some(logo.clone())).await;

    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(&id, |s| s["receipt_printed"] == true).await;
    let receipt = &h.sim.printer.wait_for(1, Duration::from_secs(5)).await.unwrap()[0];
    // ESC @, ESC t 19, centred, then GS v 0 of 8 bytes × 16 rows: 4 black bytes, 4 white.
    let raw = &receipt.raw;
    let at = raw.windows(4).position(|w| w == [0x1D, b'v', b'0', 0]).expect("a raster image");
    assert_eq!(&raw[at + 4..at + 8], [8, 0, 16, 0]);
    assert_eq!(&raw[at + 8..at + 16], [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]);
    let first_text = raw.windows(4).position(|w| w == b"Simu").unwrap();
    assert!(at < first_text, "the logo comes before the store's name");

    // The drawer: the simulated printer sees the kick.
    assert_eq!(h.sim.printer.drawer_kicks(), 0);
    let r = h.http.post(format!("{}/v1/drawer/open", h.url)).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    eventually("the drawer kick to reach the printer", Duration::from_secs(5), || async {
        (h.sim.printer.drawer_kicks() > 0).then_some(())
    })
    .await;
    assert_eq!(h.sim.printer.receipts().len(), 1, "a drawer kick prints nothing");

    // A broken logo stops the start with a clear error.
    h.stop_daemon().await;
    std::fs::write(&logo, b"not a png").unwrap();
    let err = h.start_error(|c| c.store.logo = Some(logo.clone())).await;
    assert!(err.to_string().contains("logo") && err.to_string().contains("PNG"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_copy_follows_the_customers_receipt_when_the_store_wants_one() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.store.merchant_copy = true).await;
    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(&id, |s| s["receipt_printed"] == true).await;
    let receipts = h.sim.printer.wait_for(2, Duration::from_secs(5)).await.unwrap();
    assert!(receipts[0].text.contains("KUNDENS KOPIA"), "{}", receipts[0].text);
    assert!(receipts[1].text.contains("BUTIKENS KOPIA"), "{}", receipts[1].text);
    let reference = sale["reference"].as_str().unwrap();
    assert!(receipts.iter().all(|r| r.text.contains(reference)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_copy_held_by_paper_out_comes_out_behind_the_customers_receipt() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.store.merchant_copy = true).await;
    h.sim.printer.set_paper_out(true);
    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(&id, |s| s["receipt_error"].is_string()).await;
    assert!(h.sim.printer.receipts().is_empty());

    h.sim.printer.set_paper_out(false);
    h.wait_for(&id, |s| s["receipt_printed"] == true).await;
    let receipts = h.sim.printer.wait_for(2, Duration::from_secs(10)).await.unwrap();
    assert!(receipts[0].text.contains("KUNDENS KOPIA"), "{}", receipts[0].text);
    assert!(receipts[1].text.contains("BUTIKENS KOPIA"), "{}", receipts[1].text);
    // Each once: a reprint goes through the same printer queue after anything still
    // due, so the next receipt out is the reprint (marked), not a second original.
    let (status, _) = h.post(&format!("/v1/sales/{id}/reprint"), json!({})).await;
    assert_eq!(status, 200);
    let after = h.sim.printer.wait_for(3, Duration::from_secs(10)).await.unwrap();
    assert!(after[2].text.contains("*** KOPIA ***"), "{}", after[2].text);
    assert_ne!(after[2].text, after[0].text, "the third receipt is the marked reprint, not the original again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_interrupted_by_a_restart_comes_out_again_as_a_copy() {
    let mut h = Harness::start().await;
    let sale = h.create(json!({"amount": 4321, "currency": "SEK", "method": "CARD"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let original = h.sim.printer.wait_for(1, Duration::from_secs(5)).await.unwrap()[0].text.clone();
    assert!(!original.contains("KOPIA"), "{original}");
    let states = h.journal_details(&id);
    let printing = states.iter().position(|d| d == "receipt printing").expect("the intent is journaled");
    let printed = states.iter().position(|d| d == "receipt printed").expect("and the result");
    assert!(printing < printed, "intent before the bytes: {states:?}");
    // The daemon stopped after the printer took the receipt, before "receipt printed".
    h.stop_daemon().await;
    let db = rusqlite::Connection::open(h.data_dir().join("posagent.db")).unwrap();
    let changed = db
        .execute("UPDATE sales SET data = json_set(data, '$.receipt_printed', json('false')) WHERE id = ?1", [&id])
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    h.start_daemon().await;
    h.wait_for(&id, |s| s["receipt_printed"] == true).await;
    let receipts = h.sim.printer.wait_for(2, Duration::from_secs(5)).await.unwrap();
    assert!(receipts[1].text.contains("KOPIA"), "the second receipt is marked COPY: {}", receipts[1].text);
}
