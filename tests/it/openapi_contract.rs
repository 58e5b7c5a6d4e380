//! The simulated acquirer's answers, and the requests posagent sends, validated against
//! `docs/acquirer-api.yaml` (every answer strictly, tests/it/common/contract.rs); every
//! operation the document lists is exercised.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use posagent_sim::backend::{SimBackend, router, serve};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tokio_util::sync::CancellationToken;

const KEY: &str = "openapi-terminal-key-000000";

struct Spec {
    doc: Value,
    seen: BTreeSet<(String, String)>,
}

impl Spec {
    fn load() -> Spec {
        Spec { doc: common::openapi("acquirer-api.yaml"), seen: BTreeSet::new() }
    }

    fn check(&self, schema: &str, value: &Value) {
        let errors =
            common::schema_errors(&self.doc, &json!({ "$ref": format!("#/components/schemas/{schema}") }), value);
        assert!(errors.is_empty(), "{schema}: {errors:?}\n{value:#}");
    }

    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }
}

struct Api {
    url: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        spec: &mut Spec,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        spec.seen.insert((method.to_string(), template.to_string()));
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.url)).bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let contract = common::contract::acquirer();
        assert_eq!(contract.template(path).as_deref(), Some(template), "{path}");
        common::contract::read_checked(contract, method, path, req.send().await.unwrap()).await
    }
}

fn authorize_body(reference: &str, token: Option<&str>, capture: &str) -> Value {
    let mut klarna = json!({"interoperability_token": "eyJ0b2tlbiI6MX0", "klarna_network_data": "{\"a\":1}"});
    if let Some(t) = token {
        klarna["klarna_network_session_token"] = json!(t);
    }
    json!({
        "method": "KLARNA", "currency": "SEK", "amount": 11800, "payment_transaction_reference": reference,
        "country": "SE", "locale": "sv-SE",
        "point_of_checkout": {"type": "PHYSICAL_STORE", "store_reference": "s1"},
        "point_of_transaction": {"type": "TERMINAL", "terminal_reference": "t1"},
        "capture": capture,
        "line_items": [{"name": "Battery Power Pack", "reference": "19-402", "quantity": 1, "unit_price": 11800, "total_amount": 11800, "tax_rate": 2500, "total_tax_amount": 2360}],
        "klarna": klarna
    })
}

#[tokio::test]
async fn every_answer_matches_the_openapi_document() {
    let mut spec = Spec::load();
    let stop = CancellationToken::new();
    // The simulator stops with the test (the tests share one process).
    let _stop_guard = stop.clone().drop_guard();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let backend = SimBackend::new(KEY.into(), url.clone(), chrono::Duration::minutes(15), stop.clone());
    tokio::spawn(serve(listener, router(backend), stop.clone()));
    let api = Api { url: url.clone(), http: reqwest::Client::new() };
    let s = &mut spec;

    let (st, v) = api
        .call(
            s,
            "GET",
            "/v1/klarna/availability",
            "/v1/klarna/availability?country=SE&currency=SEK&amount=11800&locale=sv-SE",
            None,
            None,
        )
        .await;
    assert_eq!(st, 200);
    s.check("AvailabilityResponse", &v);
    let (_, v) = api
        .call(
            s,
            "GET",
            "/v1/klarna/availability",
            "/v1/klarna/availability?country=SE&currency=EUR&amount=11800&locale=sv-SE",
            None,
            None,
        )
        .await;
    s.check("AvailabilityResponse", &v);
    assert_eq!(v["status"], "PAYMENT_UNSUPPORTED");

    // The request posagent sends is valid too.
    s.check("AuthorizeRequest", &authorize_body("O-1", None, "LATER"));
    let (st, step) = api
        .call(
            s,
            "POST",
            "/v1/payments/authorize",
            "/v1/payments/authorize",
            Some(authorize_body("O-1", None, "LATER")),
            Some("o1"),
        )
        .await;
    assert_eq!(st, 200);
    s.check("AuthorizeResponse", &step);
    let pr_id = step["payment_request"]["payment_request_id"].as_str().unwrap().to_string();
    let target = step["payment_request"]["state_context"]["customer_interaction"]["qr_code"]["target_url"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, v) = api
        .call(
            s,
            "GET",
            "/v1/payment-requests/{payment_request_id}",
            &format!("/v1/payment-requests/{pr_id}"),
            None,
            None,
        )
        .await;
    s.check("PaymentRequest", &v);
    reqwest::Client::new().post(format!("{target}/approve")).send().await.unwrap();
    let (_, pr) = api.call(s, "GET", "/v1/payment-requests", "/v1/payment-requests?reference=O-1", None, None).await;
    s.check("PaymentRequest", &pr);
    let token = pr["state_context"]["klarna_network_session_token"].as_str().unwrap().to_string();
    let (_, fin) = api
        .call(
            s,
            "POST",
            "/v1/payments/authorize",
            "/v1/payments/authorize",
            Some(authorize_body("O-1", Some(&token), "LATER")),
            Some("o1-final"),
        )
        .await;
    s.check("AuthorizeResponse", &fin);
    let tx = fin["payment_transaction"]["payment_transaction_id"].as_str().unwrap().to_string();
    let (_, v) = api
        .call(
            s,
            "GET",
            "/v1/payment-transactions/{payment_transaction_id}",
            &format!("/v1/payment-transactions/{tx}"),
            None,
            None,
        )
        .await;
    s.check("PaymentTransaction", &v);
    let (_, v) =
        api.call(s, "GET", "/v1/payment-transactions", "/v1/payment-transactions?reference=O-1", None, None).await;
    s.check("PaymentTransaction", &v);
    let cap = json!({"amount": 5000, "payment_capture_reference": "C-1"});
    s.check("CaptureRequest", &cap);
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payment-transactions/{payment_transaction_id}/captures",
            &format!("/v1/payment-transactions/{tx}/captures"),
            Some(cap),
            Some("o1-cap"),
        )
        .await;
    assert_eq!(st, 201);
    s.check("PaymentTransaction", &v);
    let capture_id = v["payment_captures"][0]["payment_capture_id"].as_str().unwrap().to_string();
    let refund = json!({"amount": 1000, "payment_capture_id": capture_id, "payment_refund_reference": "RF-1"});
    s.check("RefundRequest", &refund);
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payment-transactions/{payment_transaction_id}/refunds",
            &format!("/v1/payment-transactions/{tx}/refunds"),
            Some(refund),
            Some("o1-ref"),
        )
        .await;
    assert_eq!(st, 201);
    s.check("PaymentTransaction", &v);
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payment-transactions/{payment_transaction_id}/void",
            &format!("/v1/payment-transactions/{tx}/void"),
            Some(json!({})),
            Some("o1-void"),
        )
        .await;
    assert_eq!(st, 200);
    s.check("PaymentTransaction", &v);
    assert_eq!(v["state"], "COMPLETED");

    // A second payment request, canceled.
    let (_, step2) = api
        .call(
            s,
            "POST",
            "/v1/payments/authorize",
            "/v1/payments/authorize",
            Some(authorize_body("O-2", None, "NOW")),
            Some("o2"),
        )
        .await;
    let pr2 = step2["payment_request"]["payment_request_id"].as_str().unwrap().to_string();
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payment-requests/{payment_request_id}/cancel",
            &format!("/v1/payment-requests/{pr2}/cancel"),
            Some(json!({})),
            Some("o2-cancel"),
        )
        .await;
    assert_eq!(st, 200);
    s.check("PaymentRequest", &v);

    let (_, v) = api.call(s, "GET", "/v1/orders/{reference}", "/v1/orders/WEB-1002", None, None).await;
    s.check("PaymentTransaction", &v);
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let (_, v) = api.call(s, "GET", "/v1/settlements/{date}", &format!("/v1/settlements/{today}"), None, None).await;
    s.check("SettlementReport", &v);
    let (_, v) = api.call(s, "GET", "/v1/events", "/v1/events?after=0", None, None).await;
    s.check("EventPage", &v);
    assert!(v["events"].as_array().unwrap().len() >= 6);
    let batch = json!({"operations": [
        {"idempotency_key": "b1", "operation": "REFUND", "payment_transaction_id": tx, "request": {"amount": 500}},
        {"idempotency_key": "b2", "operation": "VOID", "payment_transaction_id": tx, "request": {}}
    ]});
    s.check("BatchRequest", &batch);
    let (st, v) = api.call(s, "POST", "/v1/batches", "/v1/batches", Some(batch), Some("batch-o")).await;
    assert_eq!(st, 200);
    s.check("BatchResponse", &v);

    // Reversals: of a transaction (what is left is refunded), of an unknown reference
    // (a late authorization under it is then declined), and in a batch.
    let reversal = json!({"payment_transaction_reference": "O-1"});
    s.check("ReversalRequest", &reversal);
    let (st, v) =
        api.call(s, "POST", "/v1/payments/reversals", "/v1/payments/reversals", Some(reversal), Some("rev-o1")).await;
    assert_eq!((st, v["result"].as_str()), (200, Some("REVERSED")), "{v}");
    s.check("ReversalResponse", &v);
    assert_eq!(v["payment_transaction"]["refunded_amount"], v["payment_transaction"]["captured_amount"], "{v}");
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payments/reversals",
            "/v1/payments/reversals",
            Some(json!({"payment_transaction_reference": "O-LATE"})),
            Some("rev-late"),
        )
        .await;
    assert_eq!((st, v["result"].as_str()), (200, Some("NOT_FOUND")), "{v}");
    s.check("ReversalResponse", &v);
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payments/authorize",
            "/v1/payments/authorize",
            Some(authorize_body("O-LATE", None, "NOW")),
            Some("o-late"),
        )
        .await;
    assert_eq!((st, v["result"].as_str(), v["result_reason"].as_str()), (200, Some("DECLINED"), Some("REVERSED")));
    s.check("AuthorizeResponse", &v);
    let batch = json!({"operations": [
        {"idempotency_key": "b3", "operation": "REVERSE", "request": {"payment_transaction_reference": "O-2"}}
    ]});
    s.check("BatchRequest", &batch);
    let (st, v) = api.call(s, "POST", "/v1/batches", "/v1/batches", Some(batch), Some("batch-rev")).await;
    assert_eq!((st, v["results"][0]["body"]["result"].as_str()), (200, Some("NOT_FOUND")), "{v}");
    s.check("BatchResponse", &v);

    // The simulator's ledger: every booking so far.
    let (st, v) = api.call(s, "GET", "/v1/ledger", "/v1/ledger", None, None).await;
    assert_eq!(st, 200);
    assert!(v.as_array().unwrap().iter().any(|e| e["kind"] == "REFUND"), "{v:#}");

    // Errors: 400, 401, 403, 404, 409, 429 all use the envelope.
    let (st, v) = api
        .call(s, "POST", "/v1/payments/authorize", "/v1/payments/authorize", Some(json!({"amount": 1})), Some("bad"))
        .await;
    assert_eq!(st, 400);
    s.check("ApiError", &v);
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payment-transactions/{payment_transaction_id}/void",
            &format!("/v1/payment-transactions/{tx}/void"),
            Some(json!({})),
            Some("o1-void-2"),
        )
        .await;
    assert_eq!(st, 403);
    s.check("ApiError", &v);
    let (st, v) = api.call(s, "GET", "/v1/orders/{reference}", "/v1/orders/NOPE", None, None).await;
    assert_eq!(st, 404);
    s.check("ApiError", &v);
    let (st, v) = api
        .call(
            s,
            "POST",
            "/v1/payments/authorize",
            "/v1/payments/authorize",
            Some(authorize_body("O-3", None, "NOW")),
            Some("o1"),
        )
        .await;
    assert_eq!(st, 409);
    s.check("ApiError", &v);
    let r = reqwest::Client::new().get(format!("{url}/v1/events")).send().await.unwrap();
    let (st, v) = common::contract::read_checked(common::contract::acquirer(), "GET", "/v1/events", r).await;
    assert_eq!(st, 401);
    s.check("ApiError", &v);
    reqwest::Client::new()
        .post(format!("{url}/sim/faults"))
        .json(&json!({"rate_limit_next": 1, "retry_after_secs": 2}))
        .send()
        .await
        .unwrap();
    let r = reqwest::Client::new().get(format!("{url}/v1/events")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.headers()["retry-after"], "2");
    let (st, v) = common::contract::read_checked(common::contract::acquirer(), "GET", "/v1/events", r).await;
    assert_eq!(st, 429);
    s.check("ApiError", &v);

    // The checks do bite: a missing field, an extra field and a wrong enum are refused.
    let mut broken = broken_examples();
    for (schema, value) in broken.drain(..) {
        let root = json!({ "$ref": format!("#/components/schemas/{schema}"), "components": spec.doc["components"] });
        let validator = jsonschema::draft202012::options().build(&root).unwrap();
        assert!(!validator.is_valid(&value), "{schema} accepted {value}");
    }

    let missing: Vec<_> = spec.operations().difference(&spec.seen).cloned().collect();
    assert!(missing.is_empty(), "operations in the document that no test exercised: {missing:?}");
    let undocumented: Vec<_> = spec.seen.difference(&spec.operations()).cloned().collect();
    assert!(undocumented.is_empty(), "operations exercised but not documented: {undocumented:?}");
    stop.cancel();
}

fn broken_examples() -> Vec<(&'static str, Value)> {
    vec![
        ("ApiError", json!({"error_id": "x", "error_type": "INPUT_ERROR", "error_code": "X", "error_message": "m"})),
        (
            "ApiError",
            json!({"error_id": "x", "error_type": "OOPS", "error_code": "X", "error_message": "m", "validation_errors": []}),
        ),
        ("AvailabilityResponse", json!({"status": "PAYMENT_SUPPORTED", "extra": 1})),
        ("CaptureRequest", json!({"amount": 0})),
    ]
}
