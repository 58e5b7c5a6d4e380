//! The routes over HTTP: a cancel or a void whose body is not what the document allows
//! (none, or a JSON object) is refused with the 400 envelope and changes nothing, and
//! every error envelope carries Klarna's `doc_url`, also on its field errors.

#![allow(clippy::unwrap_used)]

use super::SimBackend;
use super::routes::ERROR_DOC_URL;
use posagent_acquirer_api::{ApiError, PaymentRequest, PaymentRequestState};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const KEY: &str = "test-key";

/// A simulated acquirer on a local port, and its base URL.
async fn acquirer() -> (Arc<SimBackend>, String, CancellationToken) {
    let stop = CancellationToken::new();
    let backend = SimBackend::new(KEY.into(), "http://sim".into(), chrono::Duration::minutes(15), stop.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(super::serve(listener, super::router(backend.clone()), stop.clone()));
    (backend, base, stop)
}

/// A Klarna payment request waiting for the customer (SUBMITTED).
fn submitted_request(backend: &SimBackend) -> String {
    let request = super::tests::request(None);
    let answer = backend.books().authorize(&request, "k-authorize", backend.now()).unwrap();
    answer.payment_request.unwrap().payment_request_id
}

async fn post(base: &str, path: &str, key: &str, body: &'static str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

fn is_bad_body(status: u16, body: &serde_json::Value) -> bool {
    let envelope = serde_json::from_value::<ApiError>(body.clone());
    status == 400 && envelope.is_ok_and(|e| e.error_code == "VALIDATION_ERROR" && e.error_message.contains("body"))
}

#[tokio::test]
async fn a_cancel_whose_body_is_not_a_json_object_is_refused_and_changes_nothing() {
    let (backend, base, stop) = acquirer().await;
    let id = submitted_request(&backend);
    let path = format!("/v1/payment-requests/{id}/cancel");
    for (n, body) in ["cancel please", "{\"reason\":", "[]", "\"CANCEL\"", "null"].into_iter().enumerate() {
        let (status, answer) = post(&base, &path, &format!("k-bad-{n}"), body).await;
        assert!(is_bad_body(status, &answer), "{body:?} → {status} {answer}");
        assert_eq!(answer["doc_url"], ERROR_DOC_URL, "{answer}");
        let state = backend.books().payment_request(&id, backend.now()).map(|p| p.state);
        assert_eq!(state, Ok(PaymentRequestState::Submitted), "{body:?} canceled the request");
    }
    // What the document allows goes through: an empty object (and no body, below).
    let (status, answer) = post(&base, &path, "k-good", "{}").await;
    assert_eq!(status, 200, "{answer}");
    let canceled = serde_json::from_value::<PaymentRequest>(answer).map(|p| p.state).map_err(|e| e.to_string());
    assert_eq!(canceled, Ok(PaymentRequestState::Canceled));
    stop.cancel();
}

#[tokio::test]
async fn a_void_takes_no_body_or_an_object_and_refuses_anything_else() {
    let (_backend, base, stop) = acquirer().await;
    let path = "/v1/payment-transactions/krn:payment:eu1:transaction:none/void";
    let (status, answer) = post(&base, path, "k-void-bad", "void").await;
    assert!(is_bad_body(status, &answer), "{status} {answer}");
    // The body passes: the transaction is then looked up (and not found).
    for (key, body) in [("k-void-empty", ""), ("k-void-object", "{\"note\":\"x\"}")] {
        let (status, answer) = post(&base, path, key, body).await;
        assert_eq!((status, answer["error_code"].as_str()), (404, Some("RESOURCE_NOT_FOUND")), "{body:?}: {answer}");
        assert_eq!(answer["doc_url"], ERROR_DOC_URL, "{answer}");
    }
    stop.cancel();
}

#[tokio::test]
async fn field_errors_carry_a_doc_url() {
    let (_backend, base, stop) = acquirer().await;
    let (status, answer) = post(&base, "/v1/payment-requests/x/cancel", "", "{}").await;
    assert_eq!(status, 400, "{answer}");
    let envelope = serde_json::from_value::<ApiError>(answer.clone()).unwrap();
    assert_eq!(envelope.doc_url.as_deref(), Some(ERROR_DOC_URL));
    assert!(!envelope.validation_errors.is_empty(), "{answer}");
    for field in &envelope.validation_errors {
        assert_eq!(field.doc_url.as_deref(), Some(ERROR_DOC_URL), "{answer}");
    }
    stop.cancel();
}
