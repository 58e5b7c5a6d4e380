//! Contract tests: posagent's acquirer client against the simulated acquirer over real
//! HTTP on loopback, with faults injected.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent::backend::{AcquirerClient, BackendError, ClientSettings, RetryPolicy};
use posagent_acquirer_api::payments::{PointOfCheckout, PointOfTransaction};
use posagent_acquirer_api::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, CaptureMode, CaptureRequest, Currency, KlarnaData,
    PaymentMethod, RefundRequest, TransactionState,
};
use posagent_sim::backend::{Faults, SimBackend, router, serve};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const KEY: &str = "test-terminal-key-0123456789";

struct Sim {
    url: String,
    backend: Arc<SimBackend>,
    http: reqwest::Client,
    _stop: tokio_util::sync::DropGuard,
}

async fn sim() -> Sim {
    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let backend = SimBackend::new(KEY.into(), url.clone(), chrono::Duration::minutes(15), stop.clone());
    tokio::spawn(serve(listener, router(backend.clone()), stop.clone()));
    Sim { url, backend, http: reqwest::Client::new(), _stop: stop.drop_guard() }
}

fn client(s: &Sim, timeout_ms: u64) -> AcquirerClient {
    AcquirerClient::with_settings(ClientSettings {
        base_url: s.url.clone(),
        api_key: KEY.into(),
        timeout: Duration::from_millis(timeout_ms),
        retry: RetryPolicy { attempts: 4, base: Duration::from_millis(20), cap: Duration::from_millis(200) },
        ..ClientSettings::default()
    })
    .unwrap()
}

fn request(reference: &str, amount: i64, capture: CaptureMode, token: Option<String>) -> AuthorizeRequest {
    AuthorizeRequest {
        method: PaymentMethod::Klarna,
        currency: Currency::SEK,
        amount,
        payment_transaction_reference: reference.into(),
        country: "SE".into(),
        locale: "sv-SE".into(),
        point_of_checkout: PointOfCheckout { kind: "PHYSICAL_STORE".into(), store_reference: "s1".into() },
        point_of_transaction: PointOfTransaction { kind: "TERMINAL".into(), terminal_reference: "t1".into() },
        capture,
        line_items: vec![],
        purchase_reference: None,
        interaction_expiry: None,
        klarna: Some(KlarnaData { klarna_network_session_token: token, ..KlarnaData::default() }),
        card: None,
        offline_approved_at: None,
    }
}

/// Steps up, lets the customer approve, and returns the session token.
async fn completed_request(
    s: &Sim,
    c: &AcquirerClient,
    reference: &str,
    amount: i64,
    capture: CaptureMode,
) -> (AuthorizeRequest, String) {
    let step = c.authorize(&request(reference, amount, capture, None), &format!("{reference}-1")).await.unwrap();
    assert_eq!(step.result, AuthorizeResult::StepUpRequired);
    let url = step.payment_request.unwrap().state_context.customer_interaction.qr_code.target_url;
    assert!(s.http.post(format!("{url}/approve")).send().await.unwrap().status().is_success());
    let pr = c.payment_request_by_reference(reference).await.unwrap().unwrap();
    let token = pr.state_context.klarna_network_session_token.unwrap();
    (request(reference, amount, capture, Some(token)), format!("{reference}-final"))
}

async fn ledger(s: &Sim) -> Vec<Value> {
    s.http.get(format!("{}/v1/ledger", s.url)).bearer_auth(KEY).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_dropped_authorization_response_leaves_one_ledger_entry() {
    let s = sim().await;
    let c = client(&s, 400);
    let (final_req, key) = completed_request(&s, &c, "R-drop", 5000, CaptureMode::Later).await;
    s.backend.set_faults(Faults { drop_response_next: 1, ..Faults::default() });
    let r = c.authorize(&final_req, &key).await.unwrap();
    assert_eq!(r.result, AuthorizeResult::Approved);
    let auths: Vec<Value> = ledger(&s).await.into_iter().filter(|e| e["kind"] == "AUTHORIZATION").collect();
    assert_eq!(auths.len(), 1, "{auths:?}");
    // Retrying once more with the same key still books nothing new.
    let again = c.authorize(&final_req, &key).await.unwrap();
    assert_eq!(
        again.payment_transaction.map(|t| t.payment_transaction_id),
        r.payment_transaction.map(|t| t.payment_transaction_id)
    );
    assert_eq!(ledger(&s).await.len(), 1);
}

#[tokio::test]
async fn a_dropped_step_up_response_is_recovered_by_reference() {
    let s = sim().await;
    let c = client(&s, 400);
    s.backend.set_faults(Faults { drop_response_next: 1, ..Faults::default() });
    let r = c.authorize(&request("R-step", 1000, CaptureMode::Now, None), "k-step").await.unwrap();
    assert_eq!(r.result, AuthorizeResult::StepUpRequired);
    let pr = c.payment_request_by_reference("R-step").await.unwrap().unwrap();
    assert_eq!(r.payment_request.unwrap().payment_request_id, pr.payment_request_id);
}

#[tokio::test]
async fn a_429_storm_is_ridden_out_and_retry_after_respected() {
    let s = sim().await;
    let c = client(&s, 2000);
    s.backend.set_faults(Faults { rate_limit_next: 2, retry_after_secs: 1, ..Faults::default() });
    let start = Instant::now();
    let r = c.authorize(&request("R-429", 1000, CaptureMode::Now, None), "k-429").await.unwrap();
    assert_eq!(r.result, AuthorizeResult::StepUpRequired);
    assert!(start.elapsed() >= Duration::from_secs(2), "retried before Retry-After: {:?}", start.elapsed());
    // A longer storm than the retry budget ends in a clear rate-limit error.
    s.backend.set_faults(Faults { rate_limit_next: 10, retry_after_secs: 0, ..Faults::default() });
    let e = c.authorize(&request("R-429b", 1000, CaptureMode::Now, None), "k-429b").await.unwrap_err();
    assert_eq!(e.code(), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let s = sim().await;
    let c = client(&s, 1000);
    s.backend.set_faults(Faults { error_5xx_rate: 1.0, ..Faults::default() });
    let e = c.authorize(&request("R-5xx", 1000, CaptureMode::Now, None), "k-5xx").await.unwrap_err();
    assert!(matches!(e, BackendError::Refused { status: 500, .. }), "{e}");
    s.backend.set_faults(Faults::default());
    assert!(c.authorize(&request("R-5xx", 1000, CaptureMode::Now, None), "k-5xx").await.is_ok());
    // A partition surfaces as unreachable after the retries.
    s.backend.set_faults(Faults { partition: true, ..Faults::default() });
    let c = client(&s, 150);
    let e = c.transaction("nope").await.unwrap_err();
    assert!(matches!(e, BackendError::Unreachable { .. }), "{e}");
}

#[tokio::test]
async fn idempotency_replays_the_original_body_and_refuses_a_changed_one() {
    let s = sim().await;
    let post = |key: &'static str, body: Value| {
        let req = s
            .http
            .post(format!("{}/v1/payments/authorize", s.url))
            .bearer_auth(KEY)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap())
        }
    };
    let body = serde_json::to_value(request("R-idem", 1000, CaptureMode::Now, None)).unwrap();
    let (s1, b1) = post("k-idem", body.clone()).await;
    let (s2, b2) = post("k-idem", body.clone()).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(b1, b2, "the replay is byte for byte the original answer");
    let mut changed = body.clone();
    changed["amount"] = json!(2000);
    let (s3, b3) = post("k-idem", changed).await;
    assert_eq!(s3, 409);
    let err: Value = serde_json::from_slice(&b3).unwrap();
    assert_eq!(err["error_code"], "RESOURCE_CONFLICT");
    assert_eq!(err["error_type"], "RESOURCE_ERROR");
    assert!(err["error_id"].as_str().is_some_and(|s| !s.is_empty()));
    // No key at all is refused.
    let r = s.http.post(format!("{}/v1/payments/authorize", s.url)).bearer_auth(KEY).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // Nor is a wrong API key accepted.
    let r = s.http.get(format!("{}/v1/ledger", s.url)).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn validation_errors_name_the_parameter() {
    let s = sim().await;
    let c = client(&s, 1000);
    let mut bad = request("R-val", 1000, CaptureMode::Now, None);
    bad.line_items = vec![posagent_acquirer_api::LineItem {
        name: "A".into(),
        reference: None,
        quantity: 2,
        unit_price: 400,
        total_amount: 800,
        tax_rate: None,
        total_discount_amount: 0,
        total_tax_amount: None,
        ..Default::default()
    }];
    match c.authorize(&bad, "k-val").await.unwrap_err() {
        BackendError::Refused { status: 400, error } => {
            assert_eq!(error.error_code, "VALIDATION_ERROR");
            assert_eq!(error.validation_errors[0].parameter, "line_items");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn transaction_rules_refuse_what_klarna_refuses() {
    let s = sim().await;
    let c = client(&s, 2000);
    let (req, key) = completed_request(&s, &c, "R-tx", 10_000, CaptureMode::Later).await;
    let tx = c.authorize(&req, &key).await.unwrap().payment_transaction.unwrap();
    assert_eq!(tx.state, TransactionState::Authorized);
    let id = tx.payment_transaction_id.clone();
    let cap = |amount: i64| CaptureRequest {
        amount,
        payment_capture_reference: None,
        klarna_network_data: None,
        line_items: vec![],
    };
    let refund = |amount: i64, capture: Option<String>| RefundRequest {
        amount,
        payment_capture_id: capture,
        payment_refund_reference: None,
        klarna_network_data: None,
        line_items: vec![],
    };
    // Refund before any capture: 403.
    assert!(matches!(c.refund(&id, &refund(100, None), "rf0").await, Err(BackendError::Refused { status: 403, .. })));
    // Capture more than authorized: 400.
    assert!(matches!(c.capture(&id, &cap(10_001), "c0").await, Err(BackendError::Refused { status: 400, .. })));
    let t = c.capture(&id, &cap(4_000), "c1").await.unwrap();
    assert_eq!((t.captured_amount, t.state), (4_000, TransactionState::Authorized));
    let first_capture = t.payment_captures[0].payment_capture_id.clone();
    // Refund more than that capture: 400; within it: fine.
    assert!(matches!(
        c.refund(&id, &refund(4_001, Some(first_capture.clone())), "rf1").await,
        Err(BackendError::Refused { status: 400, .. })
    ));
    let t = c.refund(&id, &refund(1_500, Some(first_capture)), "rf2").await.unwrap();
    assert_eq!(t.refunded_amount, 1_500);
    // Void the rest: COMPLETED because something was captured; then nothing more to capture or void.
    let t = c.void(&id, "v1").await.unwrap();
    assert_eq!(t.state, TransactionState::Completed);
    assert!(matches!(c.capture(&id, &cap(1), "c2").await, Err(BackendError::Refused { status: 403, .. })));
    assert!(matches!(c.void(&id, "v2").await, Err(BackendError::Refused { status: 403, .. })));
    // Refund beyond what was captured and not yet refunded: 400.
    assert!(matches!(c.refund(&id, &refund(2_501, None), "rf3").await, Err(BackendError::Refused { status: 400, .. })));
    assert!(c.refund(&id, &refund(2_500, None), "rf4").await.is_ok());

    // A voided transaction without captures is CLOSED: no refunds.
    let (req, key) = completed_request(&s, &c, "R-closed", 3_000, CaptureMode::Later).await;
    let id2 = c.authorize(&req, &key).await.unwrap().payment_transaction.unwrap().payment_transaction_id;
    assert_eq!(c.void(&id2, "v3").await.unwrap().state, TransactionState::Closed);
    assert!(matches!(c.capture(&id2, &cap(1), "c3").await, Err(BackendError::Refused { status: 403, .. })));
    assert!(matches!(c.refund(&id2, &refund(1, None), "rf5").await, Err(BackendError::Refused { status: 403, .. })));
}

#[tokio::test]
async fn the_201st_capture_is_refused() {
    let s = sim().await;
    let c = client(&s, 2000);
    let (req, key) = completed_request(&s, &c, "R-200", 1_000, CaptureMode::Later).await;
    let id = c.authorize(&req, &key).await.unwrap().payment_transaction.unwrap().payment_transaction_id;
    for i in 0..200 {
        c.capture(
            &id,
            &CaptureRequest {
                amount: 1,
                payment_capture_reference: None,
                klarna_network_data: None,
                line_items: vec![],
            },
            &format!("cap-{i}"),
        )
        .await
        .unwrap();
    }
    let e = c
        .capture(
            &id,
            &CaptureRequest {
                amount: 1,
                payment_capture_reference: None,
                klarna_network_data: None,
                line_items: vec![],
            },
            "cap-200",
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BackendError::Refused { status: 403, .. }), "{e}");
    assert_eq!(c.transaction(&id).await.unwrap().captured_amount, 200);
}

#[tokio::test]
async fn the_final_authorization_needs_a_completed_request_and_an_unused_token() {
    let s = sim().await;
    let c = client(&s, 2000);
    let (req, key) = completed_request(&s, &c, "R-tok", 1_000, CaptureMode::Now).await;
    assert_eq!(c.authorize(&req, &key).await.unwrap().result, AuthorizeResult::Approved);
    // The token is single-use: a new key cannot charge it again.
    let e = c.authorize(&req, "another-key").await.unwrap_err();
    assert!(matches!(e, BackendError::Refused { status: 403, .. }), "{e}");
    let bogus = request("R-tok", 1_000, CaptureMode::Now, Some("krn:network:eu1:test:session-token:nope".into()));
    assert!(matches!(c.authorize(&bogus, "k-bogus").await, Err(BackendError::Refused { status: 400, .. })));
}

/// A genuine encrypted read (AES DUKPT with the test keys) of the test card ending in
/// `last4`, for `amount`; each `counter` is a read of its own.
fn card(last4: &str, pin: bool, amount: i64, counter: u32) -> posagent_acquirer_api::CardData {
    let pan = match last4 {
        "1111" => "4111111111111111",
        "0002" => "4000000000000002",
        "9995" => "4000000000009995",
        "0069" => "4000000000000069",
        _ => "4000000000003220",
    };
    let pin = pin.then_some("1234");
    posagent_sim::card_crypto::sample_card_data(pan, amount, "SEK", pin, counter).unwrap()
}

#[tokio::test]
async fn test_cards_give_their_outcomes_and_clear_pans_are_refused() {
    let s = sim().await;
    let c = client(&s, 2000);
    let mut req = request("R-card", 2_500, CaptureMode::Now, None);
    req.method = PaymentMethod::Card;
    req.klarna = None;
    for (i, (last4, pin, expected)) in [
        ("1111", false, None),
        ("0002", false, Some("DO_NOT_HONOR")),
        ("9995", false, Some("INSUFFICIENT_FUNDS")),
        ("0069", false, Some("EXPIRED_CARD")),
        ("3220", false, Some("PIN_REQUIRED")),
        ("3220", true, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = req.clone();
        r.payment_transaction_reference = format!("R-card-{i}");
        r.card = Some(card(last4, pin, 2_500, i as u32 + 1));
        let out = c.authorize(&r, &format!("card-{i}")).await.unwrap();
        match expected {
            None => assert_eq!(out.result, AuthorizeResult::Approved, "{last4}"),
            Some(reason) => {
                assert_eq!(out.result, AuthorizeResult::Declined, "{last4}");
                assert_eq!(out.result_reason.as_deref(), Some(reason));
            }
        }
    }
    let mut clear = req.clone();
    clear.card = Some(posagent_acquirer_api::CardData {
        masked_pan: "4111111111111111".into(),
        ..card("1111", false, 2_500, 50)
    });
    assert!(matches!(c.authorize(&clear, "card-clear").await, Err(BackendError::Refused { status: 400, .. })));
    // The acquirer decrypts the read: one made for another amount, a replayed read under
    // a new key and a tampered one are refused.
    let refused =
        |e: Result<AuthorizeResponse, BackendError>| matches!(e, Err(BackendError::Refused { status: 400, .. }));
    let mut other = req.clone();
    other.payment_transaction_reference = "R-card-other".into();
    other.card = Some(card("1111", false, 9_999, 60));
    assert!(refused(c.authorize(&other, "card-other").await), "a read of 99.99 for 25.00");
    let mut replay = req.clone();
    replay.payment_transaction_reference = "R-card-replay".into();
    replay.card = Some(card("1111", false, 2_500, 1));
    assert!(refused(c.authorize(&replay, "card-replay").await), "the read of card-0 again");
    let mut tampered = req.clone();
    tampered.payment_transaction_reference = "R-card-tampered".into();
    let mut t = card("1111", false, 2_500, 61);
    t.encrypted_payload = t.encrypted_payload.chars().rev().collect();
    tampered.card = Some(t);
    assert!(refused(c.authorize(&tampered, "card-tampered").await), "a tampered read");
    // A second read for a reference already charged is refused: one transaction per sale.
    let mut again = req.clone();
    again.payment_transaction_reference = "R-card-0".into();
    again.card = Some(card("1111", false, 2_500, 62));
    let e = c.authorize(&again, "card-again").await.unwrap_err();
    assert!(matches!(e, BackendError::Refused { status: 403, .. }), "{e}");
}

#[tokio::test]
async fn events_are_signed_and_follow_the_payment() {
    let s = sim().await;
    let c = client(&s, 2000);
    let (req, key) = completed_request(&s, &c, "R-ev", 1_000, CaptureMode::Now).await;
    c.authorize(&req, &key).await.unwrap();
    let page = c.events(0, Duration::from_millis(100)).await.unwrap();
    let types: Vec<&str> = page.events.iter().map(|e| e.metadata.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "payment.request.state-change.submitted",
            "payment.request.state-change.completed",
            "payment.transaction.state-change.authorized",
            "payment.transaction.captured"
        ]
    );
    let seqs: Vec<u64> = page.events.iter().map(|e| e.metadata.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    // Reading on waits for the next event.
    let later = c.events(4, Duration::from_millis(100)).await.unwrap();
    assert!(later.events.is_empty());
    // A client with another key refuses the page as unsigned for it.
    let other = AcquirerClient::with_settings(ClientSettings {
        base_url: s.url.clone(),
        api_key: "another-terminal-key-000000".into(),
        timeout: Duration::from_secs(2),
        ..ClientSettings::default()
    })
    .unwrap();
    assert!(other.events(0, Duration::ZERO).await.is_err());
    // The raw signature verifies against the body.
    let r = s.http.get(format!("{}/v1/events?after=0", s.url)).bearer_auth(KEY).send().await.unwrap();
    let sig = r.headers()["klarna-signature"].to_str().unwrap().to_string();
    assert_eq!(r.headers()["klarna-signing-key-id"], "terminal-events-v1");
    let body = r.bytes().await.unwrap();
    let key = posagent_acquirer_api::events::signing_key(KEY);
    assert!(posagent_acquirer_api::events::verify(&key, &body, &sig));
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert!(!posagent_acquirer_api::events::verify(&key, &tampered, &sig));
}

#[tokio::test]
async fn online_orders_settlement_and_batches() {
    let s = sim().await;
    let c = client(&s, 2000);
    // An online order is found by its reference and can be returned by line.
    let order = c.order("WEB-1001").await.unwrap().unwrap();
    assert_eq!(order.amount, 159_700);
    assert!(c.order("WEB-9999").await.unwrap().is_none());
    let hat = order.line_items[1].clone();
    let one_hat = posagent_acquirer_api::LineItem {
        quantity: 1,
        total_amount: hat.unit_price,
        total_tax_amount: Some(hat.unit_price * 2500 / 12_500),
        ..hat
    };
    let refund = RefundRequest {
        amount: 19_900,
        payment_capture_id: None,
        payment_refund_reference: Some("RET-1".into()),
        klarna_network_data: None,
        line_items: vec![one_hat],
    };
    let t = c.refund(&order.payment_transaction_id, &refund, "ret-1").await.unwrap();
    assert_eq!(t.refunded_amount, 19_900);

    // A batch: a capture-later sale captured and partly refunded; one bad operation.
    let (req, key) = completed_request(&s, &c, "R-batch", 6_000, CaptureMode::Later).await;
    let tx = c.authorize(&req, &key).await.unwrap().payment_transaction.unwrap().payment_transaction_id;
    use posagent_acquirer_api::batch::{BatchOperation, BatchOperationKind, BatchRequest};
    let batch = BatchRequest {
        operations: vec![
            BatchOperation {
                idempotency_key: "b-cap".into(),
                operation: BatchOperationKind::Capture,
                payment_transaction_id: Some(tx.clone()),
                request: json!({"amount": 6000}),
            },
            BatchOperation {
                idempotency_key: "b-ref".into(),
                operation: BatchOperationKind::Refund,
                payment_transaction_id: Some(tx.clone()),
                request: json!({"amount": 1000}),
            },
            BatchOperation {
                idempotency_key: "b-bad".into(),
                operation: BatchOperationKind::Refund,
                payment_transaction_id: Some(tx.clone()),
                request: json!({"amount": 99999}),
            },
        ],
    };
    let out = c.batch(&batch, "batch-1").await.unwrap();
    let statuses: Vec<u16> = out.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 201, 400]);
    // The same batch again replays; nothing is booked twice.
    let again = c.batch(&batch, "batch-2").await.unwrap();
    assert_eq!(again.results.iter().map(|r| r.status).collect::<Vec<_>>(), [201, 201, 400]);
    let t = c.transaction(&tx).await.unwrap();
    assert_eq!((t.captured_amount, t.refunded_amount), (6_000, 1_000));

    // Today's settlement: the batch's capture and refund, and the online return.
    let report = c.settlement(chrono::Utc::now().date_naive()).await.unwrap();
    let sek = report.totals.iter().find(|t| t.currency == "SEK").unwrap();
    assert_eq!((sek.sales, sek.returns, sek.net), (6_000, 20_900, -14_900));
    assert_eq!(report.entries.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_of_the_acquirer_is_its_envelope() {
    let s = sim().await;
    let http = &s.http;
    let cases = [
        (http.get(format!("{}/v1/no-such-endpoint", s.url)).bearer_auth(KEY), 404, "RESOURCE_NOT_FOUND"),
        (http.delete(format!("{}/v1/payments/authorize", s.url)).bearer_auth(KEY), 405, "METHOD_NOT_ALLOWED"),
        (http.get(format!("{}/v1/klarna/availability?amount=lots", s.url)).bearer_auth(KEY), 400, "VALIDATION_ERROR"),
        (http.get(format!("{}/v1/ledger", s.url)), 401, "UNAUTHORIZED"),
        (http.get(format!("{}/nowhere", s.url)), 404, "RESOURCE_NOT_FOUND"),
    ];
    for (request, status, code) in cases {
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status);
        let body: Value = r.json().await.expect("a JSON envelope");
        assert_eq!(body["error_code"], code, "{body}");
        assert!(
            body["error_id"].is_string() && body["error_message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}
