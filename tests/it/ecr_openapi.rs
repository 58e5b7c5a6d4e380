//! The running daemon's ECR answers validated against `docs/ecr-api.yaml`: each answer
//! strictly (tests/it/common/contract.rs: documented status, content type, no unknown key,
//! no missing required one) against the response the document gives for its operation and
//! status, and every operation of the document exercised; the strict check shown to
//! refuse what the document does not say.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

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
    let contract = common::contract::ecr();
    assert_eq!(contract.template(path).as_deref(), Some(template), "{path}");
    spec.seen.insert((method.to_string(), template.to_string()));
    common::contract::read_checked(contract, method, path, req.send().await.unwrap()).await
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
    let (st, list) = call(&h, &mut s, "GET", "/v1/sales", "/v1/sales?state=APPROVED&method=KLARNA&limit=5", None).await;
    assert_eq!((st, list["sales"][0]["reference"].as_str()), (200, Some("OAS-1")), "{list}");
    let (st, _) = call(&h, &mut s, "GET", "/v1/sales", "/v1/sales?since=today", None).await;
    assert_eq!(st, 422, "since is an RFC 3339 date-time");
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
    call(&h, &mut s, "GET", "/console", "/console", None).await;
    let (st, info) = call(&h, &mut s, "GET", "/console/info", "/console/info", None).await;
    assert_eq!((st, info["currency"].as_str()), (200, Some("SEK")), "{info}");
    console_operations(&h, &mut s).await;
    let events = h.http.get(format!("{}/v1/events", h.url)).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    // The stream does not end: its status and content type only.
    let content_type = events.headers()["content-type"].to_str().ok();
    common::contract::ecr().check("GET", "/v1/events", events.status().as_u16(), content_type, b"");
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

/// A request of the console (a session cookie, a CSRF token, no bearer token), its answer checked.
async fn console_call(
    spec: &mut Spec,
    method: &str,
    template: &str,
    path: &str,
    req: reqwest::RequestBuilder,
) -> (u16, Value) {
    spec.seen.insert((method.to_string(), template.to_string()));
    common::contract::read_checked(common::contract::ecr(), method, path, req.send().await.unwrap()).await
}

/// The cashiers, the catalogue, the console's files and texts, and a session from sign-in
/// to sign-out with a supervisor's approval between.
async fn console_operations(h: &Harness, s: &mut Spec) {
    let anna = json!({"name": "Anna", "role": "CASHIER", "pin": "4071"});
    let (st, _) = call(h, s, "PUT", "/v1/cashiers/{id}", "/v1/cashiers/7", Some(anna)).await;
    assert_eq!(st, 201);
    let bo = json!({"name": "Bo", "role": "SUPERVISOR", "pin": "9052"});
    assert_eq!(call(h, s, "PUT", "/v1/cashiers/{id}", "/v1/cashiers/3", Some(bo)).await.0, 201);
    let (_, list) = call(h, s, "GET", "/v1/cashiers", "/v1/cashiers", None).await;
    assert_eq!(list["cashiers"][0]["id"], "3", "{list}");
    let (_, room) = call(h, s, "GET", "/v1/offline", "/v1/offline", None).await;
    assert_eq!((room["card_payments"].as_bool(), room["waiting_count"].as_i64()), (Some(true), Some(0)), "{room}");
    let (_, catalogue) = call(h, s, "GET", "/v1/catalogue", "/v1/catalogue", None).await;
    assert_eq!(catalogue["articles"][0]["reference"], "KAFFE", "{catalogue}");
    for path in ["/console/app.js", "/console/app.css"] {
        assert_eq!(call(h, s, "GET", path, path, None).await.0, 200);
    }
    let (_, texts) = call(h, s, "GET", "/console/texts/{lang}", "/console/texts/sv-SE", None).await;
    assert_eq!((texts["lang"].as_str(), texts["texts"]["sign_in"].as_str()), (Some("sv"), Some("Logga in")));

    let url = |path: &str| format!("{}{path}", h.url);
    let signing = h.http.post(url("/console/session")).json(&json!({"cashier": "7", "pin": "4071"}));
    let response = signing.send().await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    s.seen.insert(("POST".into(), "/console/session".into()));
    let (st, session) =
        common::contract::read_checked(common::contract::ecr(), "POST", "/console/session", response).await;
    assert_eq!((st, session["cashier"]["name"].as_str()), (200, Some("Anna")), "{session}");
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    let read = h.http.get(url("/console/session")).header("cookie", &cookie);
    assert_eq!(console_call(s, "GET", "/console/session", "/console/session", read).await.0, 200);
    let approval =
        h.http.post(url("/console/session/approval")).header("cookie", &cookie).header("x-csrf-token", &csrf);
    let (st, approved) = console_call(
        s,
        "POST",
        "/console/session/approval",
        "/console/session/approval",
        approval.json(&json!({"cashier": "3", "pin": "9052"})),
    )
    .await;
    assert_eq!((st, approved["approval_waiting"].as_bool()), (200, Some(true)), "{approved}");
    let out = h.http.delete(url("/console/session")).header("cookie", &cookie).header("x-csrf-token", &csrf);
    assert_eq!(console_call(s, "DELETE", "/console/session", "/console/session", out).await.0, 204);
    let gone = h.http.get(url("/console/session")).header("cookie", &cookie);
    assert_eq!(console_call(s, "GET", "/console/session", "/console/session", gone).await.0, 401);
}

/// The strict check bites: an extra key (at the top and nested), a missing required key,
/// an undocumented status, `default` for a success or with another body than the error
/// envelope, an undocumented content type; and `allOf` parts closed as one.
#[test]
fn the_strict_check_refuses_what_the_document_does_not_say() {
    let c = common::contract::ecr();
    let json = Some("application/json");
    let check = |method: &str, path: &str, status: u16, ct: Option<&str>, body: &Value| {
        c.violation(method, path, status, ct, body.to_string().as_bytes())
    };
    assert_eq!(check("GET", "/v1/log-level", 200, json, &json!({"level": "info"})), Ok(()));
    let extra = check("GET", "/v1/log-level", 200, json, &json!({"level": "info", "verbose": true}));
    assert!(extra.as_ref().is_err_and(|e| e.contains("'verbose' was unexpected")), "{extra:?}");
    let missing = check("GET", "/v1/log-level", 200, json, &json!({}));
    assert!(missing.as_ref().is_err_and(|e| e.contains("\"level\" is a required property")), "{missing:?}");
    let status = check("GET", "/v1/log-level", 201, json, &json!({"level": "info"}));
    assert!(status.as_ref().is_err_and(|e| e.contains("status 201 is not documented")), "{status:?}");
    let problem = json!({"code": "NOT_FOUND", "message": "no such sale", "field": null});
    assert_eq!(check("GET", "/v1/sales/x", 404, json, &problem), Ok(()));
    assert!(check("GET", "/v1/sales/x", 302, json, &problem).is_err(), "default is for errors only");
    assert!(check("GET", "/v1/sales/x", 500, json, &json!({"error": "boom"})).is_err(), "not the envelope");
    assert!(check("GET", "/v1/sales/x", 404, Some("text/plain"), &problem).is_err(), "not JSON as listed");
    assert!(c.violation("POST", "/v1/drawer/open", 204, None, b"").is_ok());
    assert!(c.violation("POST", "/v1/drawer/open", 204, json, b"{}").is_err(), "204 has no body");
    let history = json!({"sale": null, "history": [{"seq": 1, "state": "CREATED", "detail": null, "at": "2026-01-01T00:00:00Z", "by": "x"}]});
    let nested = check("GET", "/v1/sales/x/history", 200, json, &history);
    assert!(nested.as_ref().is_err_and(|e| e.contains("'by' was unexpected")), "{nested:?}");
    assert_eq!(c.template("/v1/queue/summary?x=1").as_deref(), Some("/v1/queue/summary"));
    assert_eq!(c.template("/v1/queue/7").as_deref(), Some("/v1/queue/{id}"));
    // Outside the document: only refused, in the envelope.
    assert!(check("GET", "/v1/nowhere", 200, json, &json!({})).is_err());
    assert!(check("GET", "/v1/nowhere", 404, json, &json!({"code": "NOT_FOUND"})).is_err(), "no message");
    assert_eq!(check("GET", "/v1/nowhere", 404, json, &problem), Ok(()));
    assert!(check("DELETE", "/v1/sales", 404, json, &problem).is_err(), "a method not given is 405");

    // Composition: the parts of an allOf are left open, the whole is closed.
    let doc = json!({
        "paths": {"/t": {"get": {"responses": {"200": {"description": "t", "content": {"application/json": {"schema":
            {"allOf": [{"$ref": "#/components/schemas/A"}, {"type": "object", "properties": {"b": {"type": "object", "properties": {"c": {}}}}}]}
        }}}}}}},
        "components": {"schemas": {"A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}}}
    });
    let t = common::contract::Contract::from_doc("composition", doc);
    let at = |body: Value| t.violation("GET", "/t", 200, json, body.to_string().as_bytes());
    assert_eq!(at(json!({"a": 1, "b": {"c": 2}})), Ok(()));
    assert!(at(json!({"a": 1, "z": 0})).is_err(), "unknown key beside the parts");
    assert!(at(json!({"a": 1, "b": {"d": 0}})).is_err(), "unknown key inside a part");
    assert!(at(json!({"b": {}})).is_err(), "a part's required key");
}
