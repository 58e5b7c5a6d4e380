//! A capture the acquirer booked but whose answer was lost, then a crash: after the
//! restart the acquirer's event stream reports the capture while it is still queued at
//! the terminal. It is counted once — taken, not both captured and queued — so what
//! really remains can still be captured or voided. (Found by the crash harness.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::eventually::{Seen, eventually, eventually_seen};
use common::process::{Daemon, Setup, ledger, register_call, set_faults, setup, start_daemon, tap};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn sale_until(d: &Daemon, s: &Setup, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually_seen("the sale to get there", Duration::from_secs(15), || async {
        let (_, sale) = d.call(s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
        if done(&sale) { Seen::Done(sale) } else { Seen::Not(sale) }
    })
    .await
}

async fn booked(s: &Setup, kind: &str) -> Vec<i64> {
    ledger(s).await.iter().filter(|e| e["kind"] == kind).map(|e| e["amount"].as_i64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_whose_answer_was_lost_before_a_crash_is_counted_once() {
    let s = setup().await;
    let d = start_daemon(&s);
    let body = json!({"amount": 10_000, "currency": "SEK", "method": "CARD", "capture": "LATER"});
    let (_, sale) = d.call(&s, Method::POST, "/v1/sales", body).await;
    let id = sale["id"].as_str().unwrap().to_string();
    tap(&s).await;
    sale_until(&d, &s, &id, |v| v["state"] == "APPROVED").await;

    // The capture is booked at the acquirer, its answer is lost, and the daemon dies.
    set_faults(&s, json!({"drop_response_next": 3})).await;
    let (http, url, token) = (s.http.clone(), d.url.clone(), d.token.clone());
    let path = format!("/v1/sales/{id}/capture");
    let sent = tokio::spawn(async move {
        let r = http.post(format!("{url}{path}")).bearer_auth(token).header("Idempotency-Key", "K1");
        let _ = r.json(&json!({"amount": 6_000})).send().await;
    });
    eventually("the capture to reach the acquirer", Duration::from_secs(10), || async {
        (!booked(&s, "CAPTURE").await.is_empty()).then_some(())
    })
    .await;
    d.crash();
    sent.abort();

    // Back up with the write path still down: the event stream reports the capture.
    set_faults(&s, json!({"partition_posts": true})).await;
    let d = start_daemon(&s);
    let after = sale_until(&d, &s, &id, |v| v["captured_amount"] == 6_000).await;
    assert_eq!(after["queued_capture_amount"], 0, "the capture counted as captured and queued: {after}");
    // What really remains is still capturable (queued while writes are down).
    let (status, more) = register_call(
        &s.http,
        &d.url,
        &d.token,
        Method::POST,
        &format!("/v1/sales/{id}/capture"),
        json!({"amount": 4_000}),
    )
    .await
    .unwrap();
    assert_eq!(status, 202, "{more}");

    // Writes back: the second capture goes out; each booked once.
    set_faults(&s, json!({})).await;
    d.call(&s, Method::POST, "/v1/queue/sync", json!({})).await;
    let done = sale_until(&d, &s, &id, |v| v["captured_amount"] == 10_000 && v["queued_capture_amount"] == 0).await;
    assert_eq!(done["transaction_state"], "COMPLETED", "{done}");
    let mut captures = booked(&s, "CAPTURE").await;
    captures.sort_unstable();
    assert_eq!(captures, [4_000, 6_000]);
    d.crash();
}
