//! Hostile input from the register never leaves the terminal's own path segment at the
//! acquirer: a crafted `original_reference` cannot refund another transaction, reach
//! another endpoint, or refund an order by a look-alike; the acquirer-call metric labels
//! come from a fixed set of route templates.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use serde_json::json;

async fn refunds(h: &Harness) -> usize {
    let ledger = h.backend_get("/v1/ledger").await;
    ledger.as_array().unwrap().iter().filter(|e| e["kind"] == "REFUND").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_references_refund_nothing_and_reach_no_other_endpoint() {
    let h = Harness::start().await;
    // A captured card sale whose transaction an attacker would like refunded.
    let s = h.create(json!({"amount": 5000, "currency": "SEK", "method": "CARD"})).await;
    let id = s["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    let paid = h.wait_state(&id, "APPROVED").await;
    let tx = paid["payment_transaction_id"].as_str().unwrap().to_string();
    for crafted in [
        format!("../payment-transactions/{tx}"),
        "x/../WEB-1002".to_string(),
        "WEB-1002?x=1".to_string(),
        "WEB-1002#frag".to_string(),
        "WEB-1002\t".to_string(),
        "WEB-1002%2F".to_string(),
        "../ledger".to_string(),
        "../settlements/2026-12-01".to_string(),
        "..".to_string(),
        ".".to_string(),
    ] {
        let (status, body) = h.post("/v1/returns", json!({"original_reference": crafted})).await;
        assert!(status == 404 || status == 422, "{crafted:?}: {status} {body}");
        assert_eq!(refunds(&h).await, 0, "{crafted:?} refunded something");
    }
    // The real references still work.
    let (status, r) = h.post("/v1/returns", json!({"original_reference": "WEB-1002", "amount": 100})).await;
    assert_eq!((status, r["state"].as_str()), (201, Some("REFUNDED")), "{r}");
    let metrics = h.metrics().await;
    for line in metrics.lines().filter(|l| l.starts_with("posagent_acquirer_request")) {
        assert!(!line.contains("WEB-") && !line.contains("ledger") && !line.contains(".."), "{line}");
    }
    assert!(metrics.contains("GET /v1/orders/{id}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_customers_availability_answer_is_never_served_to_the_next() {
    let h = Harness::start().await;
    // A token saying this customer's Klarna payment is unsupported.
    let token = "eyJhbGciOiJub25lIn0.eyJzdGF0dXMiOiAiUEFZTUVOVF9VTlNVUFBPUlRFRCJ9.c2ln";
    let (status, theirs) = h.get(&format!("/v1/klarna?amount=7777&interoperability_token={token}")).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!((theirs["source"].as_str(), theirs["available"].as_bool()), (Some("LIVE"), Some(false)), "{theirs}");
    // The next query, without a token, gets its own answer, not the cached one.
    let (_, next) = h.get("/v1/klarna?amount=7777").await;
    assert_eq!((next["source"].as_str(), next["available"].as_bool()), (Some("LIVE"), Some(true)), "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_are_closed_and_do_not_keep_the_register_out() {
    use tokio::io::AsyncReadExt;
    let h = Harness::start().await;
    let addr = h.url.trim_start_matches("http://").to_string();
    let mut silent = vec![];
    for _ in 0..300 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // The register still gets its answers.
    let (status, _) = h.get("/v1/queue/summary").await;
    assert_eq!(status, 200);
    // A socket that never sends its request is closed by the daemon (first-byte timeout).
    let mut first = silent.swap_remove(0);
    let mut buf = [0u8; 16];
    let started = std::time::Instant::now();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(20), first.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the silent socket was closed: {closed:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_or_reference_back_with_another_request_is_a_conflict() {
    let h = Harness::start().await;
    // A sale reference retried with another capture mode is not the captured sale.
    let s = h.create(json!({"amount": 2000, "currency": "SEK", "method": "CARD", "reference": "REG-77"})).await;
    let id = s["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_state(&id, "APPROVED").await;
    let same = json!({"amount": 2000, "currency": "SEK", "method": "CARD", "reference": "REG-77"});
    let (status, again) = h.post("/v1/sales", same).await;
    assert_eq!((status, again["id"].as_str()), (200, Some(id.as_str())), "a true retry: {again}");
    let later = json!({"amount": 2000, "currency": "SEK", "method": "CARD", "reference": "REG-77", "capture": "LATER"});
    let (status, p) = h.post("/v1/sales", later).await;
    assert_eq!((status, p["code"].as_str()), (409, Some("REFERENCE_CONFLICT")), "{p}");

    // A return reference retried for another purchase.
    let (status, r) =
        h.post("/v1/returns", json!({"original_reference": "WEB-1002", "amount": 100, "reference": "RT-1"})).await;
    assert_eq!(status, 201, "{r}");
    let (status, p) =
        h.post("/v1/returns", json!({"original_reference": "WEB-1001", "amount": 100, "reference": "RT-1"})).await;
    assert_eq!((status, p["code"].as_str()), (409, Some("REFERENCE_CONFLICT")), "{p}");
    let (status, _) =
        h.post("/v1/returns", json!({"original_reference": "WEB-1002", "amount": 100, "reference": "RT-1"})).await;
    assert_eq!(status, 200, "a true retry");

    // A capture key retried with another amount.
    let s = h.create(json!({"amount": 5000, "currency": "SEK", "method": "CARD", "capture": "LATER"})).await;
    let lid = s["id"].as_str().unwrap().to_string();
    h.wait_state(&lid, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_state(&lid, "APPROVED").await;
    let path = format!("/v1/sales/{lid}/capture");
    let capture = |amount: i64| {
        let body = json!({"amount": amount});
        let (h, path) = (&h, &path);
        async move { h.call_keyed(reqwest::Method::POST, path, Some(&body), Some("cap-9")).await }
    };
    assert_eq!(capture(1000).await.0, 200);
    assert_eq!(capture(1000).await.0, 200, "a true retry");
    let (status, body) = capture(4000).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "IDEMPOTENCY_CONFLICT", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_with_anything_after_its_json_is_refused() {
    let h = Harness::start().await;
    for body in [r#"{"amount": 1000, "currency": "SEK"}xyz"#, r#"{"amount": 1000, "currency": "SEK"}{"amount": 5}"#] {
        let r = h
            .http
            .post(format!("{}/v1/sales", h.url))
            .bearer_auth(&h.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body}");
    }
    assert_eq!(h.sales_in_journal(), 0, "nothing half-read was started");
}
