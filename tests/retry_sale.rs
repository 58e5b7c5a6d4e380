//! A Klarna sale the acquirer failed with 5xx answers ends `FAILED` with a reason code
//! the register can act on, and the cashier tries the same purchase again — Klarna once
//! the acquirer is back, or a card — through `POST /v1/sales/{id}/retry`, resent safely.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use serde_json::{Value, json};

async fn faults(h: &Harness, body: Value) {
    let r = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

async fn failed_by_5xx(h: &Harness, reference: &str) -> Value {
    // Klarna is offered (the availability check is answered), then every authorization
    // is answered 500.
    faults(h, json!({"error_5xx_rate": 1.0, "error_5xx_path": "/v1/payments/authorize"})).await;
    let lines = common::lines_1234_50();
    let sale =
        h.create(json!({"amount": 123450, "currency": "SEK", "reference": reference, "order_lines": lines})).await;
    let failed = h.wait_state(sale["id"].as_str().unwrap(), "FAILED").await;
    faults(h, json!({})).await;
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_failed_by_the_acquirer_is_tried_again_once_however_often_the_register_asks() {
    let h = Harness::start().await;
    let failed = failed_by_5xx(&h, "POS-77").await;
    assert_eq!(failed["reason"], "ACQUIRER_ERROR", "{failed}");
    assert_eq!(failed["retryable"], true, "{failed}");
    let id = failed["id"].as_str().unwrap();
    let (_, history) = h.get(&format!("/v1/sales/{id}/history")).await;
    assert!(history.to_string().contains("500"), "the acquirer's answer is in the history: {history}");

    // The register resends the retry (its answer lost): one new sale, the same one back.
    let (status, again) = h.post(&format!("/v1/sales/{id}/retry"), json!({})).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!((again["reference"].as_str(), again["retry_of"].as_str()), (Some("POS-77-R1"), Some("POS-77")));
    assert_eq!((again["amount"].as_i64(), again["method"].as_str()), (Some(123450), Some("KLARNA")));
    let (status, resent) = h.post(&format!("/v1/sales/{id}/retry"), json!({})).await;
    assert_eq!(status, 200, "{resent}");
    assert_eq!(resent["id"], again["id"]);
    // The same resent asking for another method is not quietly the Klarna sale.
    let (status, other) = h.post(&format!("/v1/sales/{id}/retry"), json!({"method": "CARD"})).await;
    assert_eq!((status, other["code"].as_str()), (409, Some("REFERENCE_CONFLICT")), "{other}");

    let again_id = again["id"].as_str().unwrap();
    h.wait_state(again_id, "QR_SHOWN").await;
    assert_eq!(h.customer("approve").await.0, 200);
    let paid = h.wait_state(again_id, "APPROVED").await;
    assert_eq!(paid["retryable"], false);
    let ledger = h.backend_get("/v1/ledger").await;
    let auths: Vec<&Value> = ledger.as_array().unwrap().iter().filter(|e| e["kind"] == "AUTHORIZATION").collect();
    assert_eq!(auths.len(), 1, "{ledger}");
    assert_eq!(auths[0]["reference"], "POS-77-R1");
    // The order lines went with it.
    let order = h.backend_get("/v1/orders/POS-77-R1").await;
    assert_eq!(order["line_items"].as_array().map(Vec::len), Some(2), "{order}");

    // A paid sale, and one still open, are not tried again.
    let (status, refused) = h.post(&format!("/v1/sales/{again_id}/retry"), json!({})).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("NOT_RETRYABLE")), "{refused}");
    let (status, missing) = h.post("/v1/sales/nope/retry", json!({})).await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cashier_takes_a_card_instead_and_a_failed_retry_counts_on() {
    let h = Harness::start().await;
    let failed = failed_by_5xx(&h, "POS-88").await;
    let id = failed["id"].as_str().unwrap();
    // The retry fails the same way: the next one is -R2 of the first sale.
    faults(&h, json!({"error_5xx_rate": 1.0, "error_5xx_path": "/v1/payments/authorize"})).await;
    let (status, second) = h.post(&format!("/v1/sales/{id}/retry"), json!({"method": "KLARNA"})).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["id"].as_str().unwrap();
    h.wait_state(second_id, "FAILED").await;
    faults(&h, json!({})).await;
    let (status, card) = h.post(&format!("/v1/sales/{second_id}/retry"), json!({"method": "CARD"})).await;
    assert_eq!(status, 201, "{card}");
    assert_eq!((card["reference"].as_str(), card["retry_of"].as_str()), (Some("POS-88-R2"), Some("POS-88")));
    let card_id = card["id"].as_str().unwrap();
    h.present_card_when_waiting("approve", "tap").await;
    let paid = h.wait_state(card_id, "APPROVED").await;
    assert_eq!(paid["method"], "CARD");
    let (status, bad) = h.post(&format!("/v1/sales/{id}/retry"), json!({"method": "CASH"})).await;
    assert_eq!((status, bad["field"].as_str()), (422, Some("method")), "{bad}");
}
