//! No secret ever reaches the logs: the logs of every flow (approved, declined, canceled,
//! offline, failing acquirer, returns, a card payment approved offline and forwarded) are
//! captured as JSON and searched for the ECR token, the acquirer key, Klarna's
//! interoperability token and data, session tokens and card data.
//! Also: a sale's log lines carry its sale id, and /metrics counts what happened.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "it/common/mod.rs"]
mod common;

use common::Harness;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_every_flow_hold_no_secret() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("info,posagent=debug,posagent_sim=debug")
        .with_writer(capture.clone())
        .init();

    let mut h = Harness::start().await;
    let acquirer_key = std::fs::read_to_string(h.data_dir().join("acquirer.key")).unwrap().trim().to_string();
    let interop_token = "eyJhbGciOiJub25lIn0.eyJzdGF0dXMiOiJQQVlNRU5UX1NVUFBPUlRFRCJ9.c2VjcmV0LXNpZ25hdHVyZQ";
    let interop_data =
        r#"{"content_type":"application/vnd.klarna.interoperability-data.v2+json","content":{"secret":"k-9f2"}}"#;
    let mut session_tokens = vec![];

    // Approved, with Klarna's interoperability token and data.
    let sale = h.create(json!({"amount": 50000, "currency": "SEK", "interoperability_token": interop_token, "interoperability_data": interop_data})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    let approved = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let pr =
        h.backend_get(&format!("/v1/payment-requests?reference={}", approved["reference"].as_str().unwrap())).await;
    session_tokens.push(pr["state_context"]["klarna_network_session_token"].as_str().unwrap().to_string());

    // Declined; canceled.
    for action in ["decline", "cancel"] {
        let s = h.create(json!({"amount": 7000, "currency": "SEK", "interoperability_token": interop_token})).await;
        let sid = s["id"].as_str().unwrap().to_string();
        h.wait_state(&sid, "QR_SHOWN").await;
        if action == "decline" {
            h.customer("decline").await;
            h.wait_state(&sid, "DECLINED").await;
        } else {
            let (status, canceled) = h.post(&format!("/v1/sales/{sid}/cancel"), json!({})).await;
            assert_eq!((status, canceled["state"].as_str()), (200, Some("CANCELED")), "{canceled}");
        }
    }

    // A return, then a failing and an offline acquirer while asking with the token.
    let (status, _) = h.post("/v1/returns", json!({"original_reference": approved["reference"], "amount": 1000})).await;
    assert_eq!(status, 201);
    for faults in [json!({"error_5xx_rate": 1.0}), json!({"rate_limit_next": 20, "retry_after_secs": 0})] {
        h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&faults).send().await.unwrap();
        let (status, _) = h.get(&format!("/v1/klarna?amount=43210&interoperability_token={interop_token}")).await;
        assert_eq!(status, 200);
        let s = h.create(json!({"amount": 43210, "currency": "SEK", "interoperability_token": interop_token})).await;
        h.wait_for(s["id"].as_str().unwrap(), |s| s["state"] == "UNAVAILABLE" || s["state"] == "FAILED").await;
    }
    // A card payment approved offline (the acquirer answers 500), then forwarded.
    let card = h.create(json!({"amount": 1500, "currency": "SEK", "method": "CARD"})).await;
    let card_id = card["id"].as_str().unwrap().to_string();
    h.wait_state(&card_id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "insert").await;
    h.wait_for(&card_id, |s| s["offline"] == "QUEUED" && s["receipt_printed"] == true).await;
    h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&json!({})).send().await.unwrap();
    h.post("/v1/queue/sync", json!({})).await;
    h.wait_for(&card_id, |s| s["offline"] == "FORWARDED").await;
    // A wrong token at the ECR API.
    h.http.get(format!("{}/v1/sales/{id}", h.url)).bearer_auth("wrong-token").send().await.unwrap();

    let metrics = h.metrics().await;
    h.stop_daemon().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.lines().count() > 20, "too few log lines to prove anything:\n{logs}");
    let secrets = [
        ("ECR token", h.token.as_str()),
        ("acquirer API key", acquirer_key.as_str()),
        ("interoperability token", interop_token),
        ("interoperability token signature", "c2VjcmV0LXNpZ25hdHVyZQ"),
        ("interoperability data", "k-9f2"),
        ("card key serial number", "FFFF9876543210E00001"),
        ("clear card number", "4111111111111111"),
        ("encrypted card read", "encrypted_payload"),
    ];
    for (what, secret) in
        secrets.iter().chain(session_tokens.iter().map(|t| ("session token", t.as_str())).collect::<Vec<_>>().iter())
    {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }
    // Each state change of the approved sale is logged with its sale id.
    let changes: Vec<&str> = logs.lines().filter(|l| l.contains("sale state changed") && l.contains(&id)).collect();
    assert!(changes.len() >= 4, "{changes:?}");

    assert!(metrics.contains("posagent_sales_total{method=\"KLARNA\",result=\"APPROVED\"} 1"), "{metrics}");
    assert!(metrics.contains("posagent_sales_total{method=\"KLARNA\",result=\"DECLINED\"} 1"), "{metrics}");
    assert!(metrics.contains("posagent_sales_total{method=\"KLARNA\",result=\"CANCELED\"} 1"), "{metrics}");
    assert!(
        metrics.contains("posagent_acquirer_requests_total{operation=\"POST /v1/payments/authorize\",outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("outcome=\"failed\""), "{metrics}");
    assert!(metrics.contains("posagent_returns_total{state=\"REFUNDED\"} 1"), "{metrics}");
    assert!(metrics.contains("posagent_offline_approvals_total 1"), "{metrics}");
    assert!(metrics.contains("posagent_device_up{device=\"display\""), "{metrics}");
    assert!(!metrics.contains(&h.token) && !metrics.contains(&acquirer_key));
}
