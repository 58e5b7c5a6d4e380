//! The running daemon's ECR answers validated against `docs/ecr-api.yaml`: each answer
//! against the schema the document gives for its operation and status, and every
//! operation of the document exercised.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use serde_json::{Value, json};
use std::collections::BTreeSet;

struct Spec {
    doc: Value,
    seen: BTreeSet<(String, String)>,
}

impl Spec {
    fn load() -> Spec {
        Spec { doc: common::openapi("ecr-api.yaml"), seen: BTreeSet::new() }
    }

    /// Checks `body` against the response the document gives for this operation and status.
    fn check(&mut self, method: &str, template: &str, status: u16, body: &Value) {
        self.seen.insert((method.to_string(), template.to_string()));
        let op = &self.doc["paths"][template][method.to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in docs/ecr-api.yaml");
        let responses = &op["responses"];
        let response = if responses[status.to_string()].is_object() {
            &responses[status.to_string()]
        } else {
            assert!(
                responses["default"].is_object() && status >= 400,
                "{method} {template}: status {status} not documented"
            );
            &responses["default"]
        };
        let response = match response["$ref"].as_str() {
            Some(r) => &self.doc["components"]["responses"][r.rsplit('/').next().unwrap()],
            None => response,
        };
        let schema = &response["content"]["application/json"]["schema"];
        let errors = common::schema_errors(&self.doc, schema, body);
        assert!(errors.is_empty(), "{method} {template} {status}: {errors:?}\n{body:#}");
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

async fn call(
    h: &Harness,
    spec: &mut Spec,
    method: &str,
    template: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = h.http.request(method.parse().unwrap(), format!("{}{path}", h.url)).bearer_auth(&h.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let is_json = r.headers().get("content-type").is_some_and(|v| v.to_str().unwrap_or("").contains("json"));
    if !is_json {
        spec.seen.insert((method.to_string(), template.to_string()));
        return (status, Value::Null);
    }
    let v: Value = r.json().await.unwrap();
    spec.check(method, template, status, &v);
    (status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ecr_answer_matches_the_openapi_document() {
    let h = Harness::start().await;
    let mut s = Spec::load();

    // A Klarna sale to APPROVED, captured later in part, then voided.
    call(&h, &mut s, "GET", "/v1/klarna", "/v1/klarna?amount=12345&locale=sv-SE", None).await;
    let (st, sale) = call(
        &h,
        &mut s,
        "POST",
        "/v1/sales",
        "/v1/sales",
        Some(json!({"amount": 12345, "currency": "SEK", "capture": "LATER", "reference": "OAS-1", "order_lines": common::lines_1234_50()})),
    )
    .await;
    assert_eq!(st, 422, "lines must sum to the amount: {sale}");
    let (st, sale) = call(
        &h,
        &mut s,
        "POST",
        "/v1/sales",
        "/v1/sales",
        Some(json!({"amount": 12345, "currency": "SEK", "capture": "LATER", "reference": "OAS-1"})),
    )
    .await;
    assert_eq!(st, 201);
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(&id, |v| v["state"] == "APPROVED" && v["receipt_printed"] == true).await;
    call(&h, &mut s, "GET", "/v1/sales/{id}", &format!("/v1/sales/{id}"), None).await;
    let (st, history) =
        call(&h, &mut s, "GET", "/v1/sales/{id}/history", &format!("/v1/sales/{id}/history"), None).await;
    assert_eq!(st, 200);
    let states: Vec<&str> =
        history["history"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states.first().copied(), Some("CREATED"), "{history}");
    assert!(states.contains(&"QR_SHOWN") && states.contains(&"APPROVED"), "{history}");
    let (st, _) = call(
        &h,
        &mut s,
        "POST",
        "/v1/sales/{id}/capture",
        &format!("/v1/sales/{id}/capture"),
        Some(json!({"amount": 2345})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, v) = call(&h, &mut s, "POST", "/v1/sales/{id}/void", &format!("/v1/sales/{id}/void"), None).await;
    assert_eq!((st, v["voided"].as_bool()), (200, Some(true)));
    let (st, _) = call(&h, &mut s, "POST", "/v1/sales/{id}/reprint", &format!("/v1/sales/{id}/reprint"), None).await;
    assert_eq!(st, 200);
    let (st, _) = call(
        &h,
        &mut s,
        "POST",
        "/v1/sales",
        "/v1/sales",
        Some(json!({"amount": 12345, "currency": "SEK", "capture": "LATER", "reference": "OAS-1"})),
    )
    .await;
    assert_eq!(st, 200, "the same request again");
    // The reference with another request (no LATER) is a conflict, not this sale.
    let (st, _) = call(
        &h,
        &mut s,
        "POST",
        "/v1/sales",
        "/v1/sales",
        Some(json!({"amount": 12345, "currency": "SEK", "reference": "OAS-1"})),
    )
    .await;
    assert_eq!(st, 409, "the same reference with another capture mode");

    // A return of part of it, read back.
    let (st, r) = call(
        &h,
        &mut s,
        "POST",
        "/v1/returns",
        "/v1/returns",
        Some(json!({"original_reference": "OAS-1", "amount": 1000})),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    call(&h, &mut s, "GET", "/v1/returns/{id}", &format!("/v1/returns/{rid}"), None).await;

    // A sale canceled while the QR code is up.
    let (_, c) =
        call(&h, &mut s, "POST", "/v1/sales", "/v1/sales", Some(json!({"amount": 5000, "currency": "SEK"}))).await;
    let cid = c["id"].as_str().unwrap().to_string();
    h.wait_state(&cid, "QR_SHOWN").await;
    let (st, c) = call(&h, &mut s, "POST", "/v1/sales/{id}/cancel", &format!("/v1/sales/{cid}/cancel"), None).await;
    assert_eq!((st, c["state"].as_str()), (200, Some("CANCELED")));
    // Tried again (a new sale, canceled too).
    let retry = format!("/v1/sales/{cid}/retry");
    let (st, r) = call(&h, &mut s, "POST", "/v1/sales/{id}/retry", &retry, Some(json!({"method": "KLARNA"}))).await;
    assert_eq!(st, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    h.wait_state(&rid, "QR_SHOWN").await;
    call(&h, &mut s, "POST", "/v1/sales/{id}/cancel", &format!("/v1/sales/{rid}/cancel"), None).await;

    // A sale whose customer chooses: card taken, then canceled at the reader.
    let (_, c) = call(
        &h,
        &mut s,
        "POST",
        "/v1/sales",
        "/v1/sales",
        Some(json!({"amount": 5000, "currency": "SEK", "method": "CHOICE"})),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_string();
    h.wait_state(&cid, "AWAITING_METHOD").await;
    call(&h, &mut s, "GET", "/v1/sales/{id}", &format!("/v1/sales/{cid}"), None).await;
    let path = format!("/v1/sales/{cid}/method");
    let (st, c) = call(&h, &mut s, "POST", "/v1/sales/{id}/method", &path, Some(json!({"method": "CARD"}))).await;
    assert_eq!((st, c["state"].as_str()), (200, Some("AWAITING_CARD")));
    let (st, _) = call(&h, &mut s, "POST", "/v1/sales/{id}/method", &path, Some(json!({"method": "KLARNA"}))).await;
    assert_eq!(st, 409);
    call(&h, &mut s, "POST", "/v1/sales/{id}/cancel", &format!("/v1/sales/{cid}/cancel"), None).await;

    // The cash drawer.
    let (st, _) = call(&h, &mut s, "POST", "/v1/drawer/open", "/v1/drawer/open", None).await;
    assert_eq!(st, 204);

    // Reports, queue, log level, health, metrics, events.
    call(&h, &mut s, "GET", "/v1/reports/x", "/v1/reports/x", None).await;
    call(&h, &mut s, "GET", "/v1/reports/reconciliation", "/v1/reports/reconciliation", None).await;
    call(&h, &mut s, "POST", "/v1/reports/z", "/v1/reports/z", None).await;
    call(&h, &mut s, "GET", "/v1/queue", "/v1/queue?state=done", None).await;
    call(&h, &mut s, "GET", "/v1/queue/summary", "/v1/queue/summary", None).await;
    call(&h, &mut s, "POST", "/v1/queue/sync", "/v1/queue/sync", None).await;
    let (_, done) = call(&h, &mut s, "GET", "/v1/queue", "/v1/queue", None).await;
    let first = done["operations"][0]["id"].as_i64().unwrap();
    call(&h, &mut s, "GET", "/v1/queue/{id}", &format!("/v1/queue/{first}"), None).await;
    let (st, _) = call(&h, &mut s, "POST", "/v1/queue/{id}/retry", &format!("/v1/queue/{first}/retry"), None).await;
    assert_eq!(st, 409, "a done operation is not retried");
    call(&h, &mut s, "GET", "/v1/log-level", "/v1/log-level", None).await;
    let (st, _) = call(&h, &mut s, "PUT", "/v1/log-level", "/v1/log-level", Some(json!({"level": "info"}))).await;
    assert!(st == 200 || st == 409, "409 when this process has no reloadable subscriber: {st}");
    call(&h, &mut s, "GET", "/health", "/health", None).await;
    call(&h, &mut s, "GET", "/metrics", "/metrics", None).await;
    let events = h.http.get(format!("{}/v1/events", h.url)).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    s.seen.insert(("GET".into(), "/v1/events".into()));

    // Errors.
    let (st, _) = call(&h, &mut s, "GET", "/v1/sales/{id}", "/v1/sales/nope", None).await;
    assert_eq!(st, 404);
    let (st, _) =
        call(&h, &mut s, "POST", "/v1/sales", "/v1/sales", Some(json!({"amount": "12", "currency": "SEK"}))).await;
    assert_eq!(st, 400);

    let missing: Vec<_> = s.operations().difference(&s.seen).cloned().collect();
    assert!(missing.is_empty(), "operations never exercised: {missing:?}");
}
