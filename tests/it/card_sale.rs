//! Card sales end to end: the daemon's real serial driver talks to the simulated card
//! reader over a pseudo-terminal; the encrypted read goes to the simulated acquirer.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use common::eventually::{WITHIN, eventually};

use common::Harness;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_sales_approved_declined_and_canceled() {
    let h = Harness::start().await;

    // Approved, tapped.
    let sale = h.create(json!({"amount": 8990, "currency": "SEK", "method": "CARD"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    // The reader is enabled for the amount before the customer can tap.
    h.present_card_when_waiting("approve", "tap").await;
    let done = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    assert_eq!(done["masked_pan"], "411111******1111");
    assert_eq!(done["entry_mode"], "CONTACTLESS");
    assert!(done["klarna_reference"].is_null());
    let receipt = &h.sim.printer.wait_for(1, std::time::Duration::from_secs(5)).await.unwrap()[0];
    assert!(receipt.text.contains("Betalt med kort") && receipt.text.contains("**** 1111"), "{}", receipt.text);
    assert!(!receipt.text.contains("411111"), "the receipt shows the last four digits only");
    let states = h.journal_states(&id);
    assert_eq!(states[..3], ["CREATED", "AWAITING_CARD", "AUTHORIZING"]);

    // Declined cards end DECLINED with the issuer's reason.
    for (card, reason) in
        [("decline", "DO_NOT_HONOR"), ("insufficient_funds", "INSUFFICIENT_FUNDS"), ("expired", "EXPIRED_CARD")]
    {
        let s = h.create(json!({"amount": 1000, "currency": "SEK", "method": "CARD"})).await;
        let sid = s["id"].as_str().unwrap().to_string();
        h.wait_state(&sid, "AWAITING_CARD").await;
        h.present_card_when_waiting(card, "insert").await;
        let d = h.wait_state(&sid, "DECLINED").await;
        assert_eq!(d["reason"], reason);
    }

    // PIN required: the issuer refuses the tap without a PIN, the reader asks for the card
    // inserted with its PIN, and the second read is approved under a key of its own.
    let s = h.create(json!({"amount": 30000, "currency": "SEK", "method": "CARD"})).await;
    let pid = s["id"].as_str().unwrap().to_string();
    h.wait_state(&pid, "AWAITING_CARD").await;
    h.present_card_when_waiting("pin_required", "tap").await;
    let again = h.wait_for(&pid, |v| v["state"] == "AWAITING_CARD" && v["pin_required"] == true).await;
    assert!(again["reason"].is_null(), "{again}");
    eventually("the reader to take the card inserted with its PIN", WITHIN, || async {
        let asks_pin = h.sim.card_reader.as_ref().unwrap().state().pin;
        (asks_pin && h.present_card("pin_required", "insert").await == 204).then_some(())
    })
    .await;
    let paid = h.wait_state(&pid, "APPROVED").await;
    assert_eq!(paid["entry_mode"], "CHIP", "inserted for the PIN: {paid}");
    let states = h.journal_states(&pid);
    assert_eq!(states.iter().filter(|s| *s == "AUTHORIZING").count(), 2, "{states:?}");

    // The cashier cancels while the reader waits; the reader stops waiting.
    let s = h.create(json!({"amount": 1000, "currency": "SEK", "method": "CARD"})).await;
    let sid = s["id"].as_str().unwrap().to_string();
    h.wait_state(&sid, "AWAITING_CARD").await;
    let (status, c) = h.post(&format!("/v1/sales/{sid}/cancel"), json!({})).await;
    assert_eq!(
        (status, c["state"].as_str(), c["reason"].as_str()),
        (200, Some("CANCELED"), Some("CASHIER_CANCELED")),
        "{c}"
    );
    eventually("the reader to stop waiting", WITHIN, || async {
        h.sim.card_reader.as_ref().unwrap().state().waiting_for.is_none().then_some(())
    })
    .await;
    assert_eq!(h.present_card("approve", "tap").await, 409, "nothing to tap into");

    // One authorization for each approved card sale; no card data in the journal.
    let ledger = h.backend_get("/v1/ledger").await;
    assert_eq!(ledger.as_array().unwrap().iter().filter(|e| e["kind"] == "AUTHORIZATION").count(), 2);
    let db = std::fs::read(h.data_dir().join("posagent.db")).unwrap();
    let wal = std::fs::read(h.data_dir().join("posagent.db-wal")).unwrap_or_default();
    for needle in ["FFFF9876543210E00001", "encrypted_payload", "4111111111111111"] {
        assert!(!db.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} in the journal");
        assert!(!wal.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} in the WAL");
    }
    let (_, health) = h.health().await;
    assert!(
        health["devices"].as_array().unwrap().iter().any(|d| d["device"] == "card_reader" && d["connected"] == true),
        "{health}"
    );
}

/// A Polish store: the receipt's `zł` and Polish letters come out of the printer through
/// its PC852 table, the euro-free lines switching tables as needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polish_receipt_prints_zloty_and_polish_letters() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.store.country = "PL".into();
        c.store.currency = posagent_acquirer_api::Currency::parse("PLN").unwrap();
        c.store.locale = "pl-PL".into();
    })
    .await;
    let sale = h.create(json!({"amount": 123450, "currency": "PLN", "method": "CARD"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let receipt = &h.sim.printer.wait_for(1, std::time::Duration::from_secs(5)).await.unwrap()[0];
    assert!(receipt.text.contains("1234,50\u{a0}zł"), "{}", receipt.text);
    assert!(receipt.text.contains("kartą"), "{}", receipt.text);
    assert!(!receipt.text.contains('?'), "nothing unprintable: {}", receipt.text);
}
