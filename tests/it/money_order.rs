//! Promises made to the register hold when the acquirer's write path is down: a void
//! asked for while a capture waits in the outbox goes out after it (never ahead of it,
//! which would release what the capture was promised), and a second return of a purchase
//! counts the first one's refund still queued, by amount and by line. The simulated
//! acquirer's `partition_posts` fault leaves every POST unanswered and unprocessed while
//! reads are answered, so the daemon is online for reads and its writes stay queued.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use common::eventually::{Seen, eventually_seen};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn faults(h: &Harness, body: Value) {
    let r = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&body).send().await.unwrap();
    assert!(r.status().is_success());
}

/// A terminal whose acquirer calls give up after 1 s.
async fn with_short_timeouts() -> Harness {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.acquirer.timeout_ms = 1000).await;
    h
}

async fn card_sale(h: &Harness, amount: i64, capture: &str, lines: Option<Value>) -> Value {
    let mut body = json!({"amount": amount, "currency": "SEK", "method": "CARD", "capture": capture});
    if let Some(l) = lines {
        body["order_lines"] = l;
    }
    let sale = h.create(body).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await
}

/// Makes the daemon see the acquirer answer again (a read that succeeds).
async fn online_again(h: &Harness) {
    eventually_seen("the daemon to see the acquirer again", Duration::from_secs(30), || async {
        let (_, k) = h.get("/v1/klarna?amount=1000&currency=SEK").await;
        let (_, health) = h.get("/health").await;
        if health["acquirer"]["online"] == true { Seen::Done(()) } else { Seen::Not((k, health)) }
    })
    .await;
}

/// Waits until return `id` is refunded; a refusal fails at once.
async fn wait_refunded(h: &Harness, id: &str, what: &str) {
    eventually_seen(what, Duration::from_secs(60), || async {
        let (_, r) = h.get(&format!("/v1/returns/{id}")).await;
        assert_ne!(r["state"], "REFUSED", "{what}: refused: {r}");
        if r["state"] == "REFUNDED" { Seen::Done(()) } else { Seen::Not(r) }
    })
    .await;
}

async fn wait_sale(h: &Harness, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually_seen("the sale to get there", Duration::from_secs(60), || async {
        let (_, s) = h.get(&format!("/v1/sales/{id}")).await;
        if done(&s) { Seen::Done(s) } else { Seen::Not(s) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_waits_behind_a_queued_capture() {
    let h = with_short_timeouts().await;
    let sale = card_sale(&h, 10_000, "LATER", None).await;
    let id = sale["id"].as_str().unwrap().to_string();
    faults(&h, json!({"partition_posts": true})).await;
    let (status, c) = h.post(&format!("/v1/sales/{id}/capture"), json!({"amount": 3000})).await;
    assert_eq!((status, c["queued_capture_amount"].as_i64()), (202, Some(3000)), "{c}");
    online_again(&h).await;
    // The write path is back, the capture still waits for its next attempt: the void,
    // which could now be sent at once, must not overtake it.
    faults(&h, json!({})).await;
    let (status, v) = h.post(&format!("/v1/sales/{id}/void"), json!({})).await;
    assert!(status == 202 || status == 200, "{v}");
    let done = wait_sale(&h, &id, |s| s["voided"] == true && s["queued_capture_amount"] == 0).await;
    assert_eq!(done["captured_amount"], 3000, "the promised capture went through: {done}");
    let ledger = h.backend_get("/v1/ledger").await;
    let kinds: Vec<&str> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reference"] == sale["reference"])
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["AUTHORIZATION", "CAPTURE", "VOID"], "in the order they were asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_return_counts_the_first_ones_queued_refund() {
    let h = with_short_timeouts().await;
    let lines = json!([
        {"name": "Jacket", "reference": "JKT", "quantity": 2, "unit_price": 5000, "total_amount": 10000,
         "tax_rate": 2500, "total_tax_amount": 2000},
    ]);
    let sale = card_sale(&h, 10_000, "NOW", Some(lines)).await;
    let reference = sale["reference"].as_str().unwrap().to_string();
    faults(&h, json!({"partition_posts": true})).await;
    // The first return's refund cannot go out: queued, the register told so.
    let (status, first) = h.post("/v1/returns", json!({"original_reference": reference, "amount": 6000})).await;
    assert_eq!((status, first["state"].as_str()), (202, Some("PENDING")), "{first}");
    online_again(&h).await;
    // By amount: 6000 more would refund 12000 of 10000.
    let (status, second) = h.post("/v1/returns", json!({"original_reference": reference, "amount": 6000})).await;
    assert_eq!(status, 422, "{second}");
    // By lines: one jacket's worth is queued already as an amount; two more are too many.
    let by_lines = json!({"original_reference": reference, "lines": [{"reference": "JKT", "quantity": 2}]});
    let (status, third) = h.post("/v1/returns", by_lines).await;
    assert_eq!(status, 422, "{third}");
    // What is left can be returned, and everything is refunded once the acquirer answers.
    let (status, rest) = h.post("/v1/returns", json!({"original_reference": reference, "amount": 4000})).await;
    assert!(status == 202 || status == 201, "{rest}");
    faults(&h, json!({})).await;
    let first_id = first["id"].as_str().unwrap().to_string();
    wait_refunded(&h, &first_id, "the first customer's return to be refunded").await;
    let ledger = h.backend_get("/v1/ledger").await;
    let refunded: i64 = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "REFUND" && e["reference"] == reference.as_str())
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    assert!(refunded <= 10_000, "never more than the purchase: {refunded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_of_everything_counts_the_captures_still_queued() {
    let h = with_short_timeouts().await;
    let sale = card_sale(&h, 10_000, "LATER", None).await;
    let (id, reference) = (sale["id"].as_str().unwrap().to_string(), sale["reference"].as_str().unwrap().to_string());
    let (status, _) = h.post(&format!("/v1/sales/{id}/capture"), json!({"amount": 4000})).await;
    assert_eq!(status, 200);
    // A second capture is promised (202) while the write path is down.
    faults(&h, json!({"partition_posts": true})).await;
    let (status, c) = h.post(&format!("/v1/sales/{id}/capture"), json!({"amount": 3000})).await;
    assert_eq!((status, c["queued_capture_amount"].as_i64()), (202, Some(3000)), "{c}");
    online_again(&h).await;
    // "Everything" is what the register was told is captured: 7000, not the 4000 the
    // acquirer holds yet; the refund waits behind the capture.
    let (status, all) = h.post("/v1/returns", json!({"original_reference": reference})).await;
    assert_eq!((status, all["amount"].as_i64()), (202, Some(7000)), "{all}");
    faults(&h, json!({})).await;
    let return_id = all["id"].as_str().unwrap().to_string();
    wait_refunded(&h, &return_id, "the return to be refunded").await;
    let ledger = h.backend_get("/v1/ledger").await;
    let booked: Vec<(String, i64)> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reference"] == reference.as_str())
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount"].as_i64().unwrap()))
        .collect();
    let want: Vec<(String, i64)> = [("AUTHORIZATION", 10_000), ("CAPTURE", 4000), ("CAPTURE", 3000), ("REFUND", 7000)]
        .map(|(k, a)| (k.to_string(), a))
        .into();
    assert_eq!(booked, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_into_a_silent_network_is_answered_within_its_budget_and_booked_once() {
    // The default timeouts (10 s a call, retried): without a budget the register waited
    // more than 30 s for this answer.
    let h = Harness::start().await;
    let sale = card_sale(&h, 10_000, "LATER", None).await;
    let id = sale["id"].as_str().unwrap().to_string();
    faults(&h, json!({"partition": true})).await;
    let asked = Instant::now();
    let (status, c) = h.post(&format!("/v1/sales/{id}/capture"), json!({"amount": 4000})).await;
    let waited = asked.elapsed();
    assert_eq!((status, c["queued_capture_amount"].as_i64()), (202, Some(4000)), "{c}");
    assert!(waited < Duration::from_secs(12), "the register waited {waited:?} for its answer");
    // Back online, the queued capture goes out under its key: booked once.
    faults(&h, json!({})).await;
    let done = wait_sale(&h, &id, |s| s["captured_amount"] == 4000 && s["queued_capture_amount"] == 0).await;
    let ledger = h.backend_get("/v1/ledger").await;
    let captures = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reference"] == sale["reference"] && e["kind"] == "CAPTURE")
        .count();
    assert_eq!(captures, 1, "{done}");
}
