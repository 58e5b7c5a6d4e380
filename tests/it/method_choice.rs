//! The customer chooses the method at the terminal (`"method": "CHOICE"`): the display
//! shows the amount and the methods available, the register sends the choice, and the
//! sale goes on as a Klarna or card sale. Klarna is offered only where it is available.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;
use std::time::Duration;

fn is_pink([r, g, b]: [u8; 3]) -> bool {
    r > 235 && (150..=190).contains(&g) && (185..=220).contains(&b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_chooses_klarna_or_card_and_klarna_only_where_available() {
    let h = Harness::start().await;

    // Klarna available: both are offered; the display shows the choice, no QR code yet.
    let sale = h.create(json!({"amount": 12345, "currency": "SEK", "method": "CHOICE"})).await;
    assert!(sale["method"].is_null(), "{sale}");
    let id = sale["id"].as_str().unwrap().to_string();
    let waiting = h.wait_state(&id, "AWAITING_METHOD").await;
    assert_eq!(waiting["offered_methods"], json!(["KLARNA", "CARD"]));
    assert!(waiting["method"].is_null());
    // Listed by method only once it has one.
    let listed = |method: &'static str| {
        let h = &h;
        async move {
            let (st, list) = h.get(&format!("/v1/sales?method={method}")).await;
            assert_eq!(st, 200, "{list}");
            list["sales"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!((listed("KLARNA").await, listed("CARD").await), (0, 0), "a customer still choosing has no method");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let png = h.display_png().await;
    assert!(common::decode_png_qr(&png).is_empty(), "no QR code before Klarna is chosen");
    let (_, bad) = h.post(&format!("/v1/sales/{id}/method"), json!({"method": "CASH"})).await;
    assert_eq!(bad["code"], "INVALID_FIELD");

    let (st, chosen) = h.post(&format!("/v1/sales/{id}/method"), json!({"method": "KLARNA"})).await;
    assert_eq!(st, 200, "{chosen}");
    assert_eq!(chosen["method"], "KLARNA");
    assert_ne!(chosen["state"], "AWAITING_METHOD");
    assert_eq!((listed("KLARNA").await, listed("CARD").await), (1, 0));
    let shown = h.wait_state(&id, "QR_SHOWN").await;
    assert_eq!(h.read_display_qr().await, shown["payment_request_url"].as_str().unwrap());
    // The same choice again answers the sale; another one is refused.
    let (st, _) = h.post(&format!("/v1/sales/{id}/method"), json!({"method": "KLARNA"})).await;
    assert_eq!(st, 200);
    let (st, late) = h.post(&format!("/v1/sales/{id}/method"), json!({"method": "CARD"})).await;
    assert_eq!((st, late["code"].as_str()), (409, Some("NOT_AWAITING_METHOD")));
    h.customer("approve").await;
    let done = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    assert_eq!(done["method"], "KLARNA");
    assert_eq!(
        h.journal_states(&id)[..4],
        ["CREATED", "AWAITING_METHOD", "AVAILABILITY_CHECKED", "QR_SHOWN"],
        "the choice is journaled before the payment request"
    );

    // The card chosen instead.
    let sale = h.create(json!({"amount": 8990, "currency": "SEK", "method": "CHOICE"})).await;
    let cid = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&cid, "AWAITING_METHOD").await;
    let (st, chosen) = h.post(&format!("/v1/sales/{cid}/method"), json!({"method": "card"})).await;
    assert_eq!((st, chosen["state"].as_str(), chosen["method"].as_str()), (200, Some("AWAITING_CARD"), Some("CARD")));
    h.present_card_when_waiting("approve", "tap").await;
    let done = h.wait_state(&cid, "APPROVED").await;
    assert!(done["payment_request_id"].is_null(), "no Klarna payment request for a card sale: {done}");

    // Klarna not available for 0,50 kr: the card is the only method and is asked for at
    // once; the register learns why Klarna was not offered and cannot choose it.
    let sale = h.create(json!({"amount": 50, "currency": "SEK", "method": "CHOICE"})).await;
    let uid = sale["id"].as_str().unwrap().to_string();
    let card_only = h.wait_state(&uid, "AWAITING_CARD").await;
    assert_eq!(card_only["offered_methods"], json!(["CARD"]));
    assert_eq!(card_only["klarna_unavailable_reason"], "AMOUNT_OUT_OF_RANGE");
    assert_eq!(card_only["method"], "CARD");
    let (st, refused) = h.post(&format!("/v1/sales/{uid}/method"), json!({"method": "KLARNA"})).await;
    assert_eq!((st, refused["code"].as_str()), (422, Some("METHOD_NOT_SUPPORTED")), "{refused}");
    let (_, canceled) = h.post(&format!("/v1/sales/{uid}/cancel"), json!({})).await;
    assert_eq!(canceled["state"], "CANCELED");

    // A sale with a method of its own takes no choice.
    let sale = h.create(json!({"amount": 5000, "currency": "SEK"})).await;
    let kid = sale["id"].as_str().unwrap().to_string();
    let (st, _) = h.post(&format!("/v1/sales/{kid}/method"), json!({"method": "CARD"})).await;
    assert_eq!(st, 409);
    h.post(&format!("/v1/sales/{kid}/cancel"), json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_is_canceled_by_the_cashier_by_walking_away_and_survives_a_restart() {
    let mut h = Harness::start().await;
    // The cashier cancels while the customer is choosing.
    let sale = h.create(json!({"amount": 12345, "currency": "SEK", "method": "CHOICE"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_METHOD").await;
    let (_, canceled) = h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
    assert_eq!((canceled["state"].as_str(), canceled["reason"].as_str()), (Some("CANCELED"), Some("CASHIER_CANCELED")));

    // A restart while the customer chooses: the choice is shown again and still taken.
    let sale = h.create(json!({"amount": 12345, "currency": "SEK", "method": "CHOICE"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_METHOD").await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.limits.choice_timeout_secs = 600).await;
    let (st, chosen) = h.post(&format!("/v1/sales/{id}/method"), json!({"method": "KLARNA"})).await;
    assert_eq!(st, 200, "{chosen}");
    h.wait_state(&id, "QR_SHOWN").await;
    h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
    let ledger = h.backend_get("/v1/ledger").await;
    assert!(ledger.as_array().unwrap().is_empty(), "no money moved: {ledger}");

    // The customer walks away: the choice times out.
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.limits.choice_timeout_secs = 1).await;
    let sale = h.create(json!({"amount": 12345, "currency": "SEK", "method": "CHOICE"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let gone = h.wait_for(&id, |s| s["state"] == "CANCELED").await;
    assert_eq!(gone["reason"], "CHOICE_TIMEOUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_screen_shows_klarnas_acceptance_mark_from_the_acquirer() {
    let h = Harness::start().await;
    // The mark is fetched at start and drawn in Klarna's pink box in the lower half (the
    // idle screen has nothing else pink).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let png = h.display_png().await;
        let (w, hgt, px) = common::browser::pixels(&png);
        let pink = (hgt / 2..hgt).step_by(2).any(|y| (0..w).step_by(2).any(|x| is_pink(px[y * w + x])));
        if pink {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the acceptance mark never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
