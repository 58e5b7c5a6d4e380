//! The console's sessions through HTTP on the real listener: the cookie alone moves no
//! money (CSRF token and origin), a cashier's role limits what the session does until a
//! supervisor approves (once), the log level is not the console's, wrong PINs lock, and a
//! sale started at the console carries its cashier.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::{Value, json};

struct Console<'a> {
    h: &'a Harness,
    cookie: String,
    csrf: String,
}

impl Console<'_> {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>, csrf: Option<&str>) -> (u16, Value) {
        let mut req = self.h.http.request(method, format!("{}{path}", self.h.url)).header("cookie", &self.cookie);
        if let Some(token) = csrf {
            req = req.header("x-csrf-token", token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body), Some(&self.csrf.clone())).await
    }
}

async fn sign_in<'a>(h: &'a Harness, cashier: &str, pin: &str) -> Result<Console<'a>, (u16, Value)> {
    let r = h.http.post(format!("{}/console/session", h.url)).json(&json!({"cashier": cashier, "pin": pin}));
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let cookie = r.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    let body: Value = r.json().await.unwrap();
    match cookie {
        Some(cookie) if status == 200 => {
            Ok(Console { h, cookie, csrf: body["csrf_token"].as_str().unwrap().to_string() })
        }
        _ => Err((status, body)),
    }
}

async fn add(h: &Harness, id: &str, name: &str, role: &str, pin: &str) {
    let (st, _) = h
        .call(
            reqwest::Method::PUT,
            &format!("/v1/cashiers/{id}"),
            Some(&json!({"name": name, "role": role, "pin": pin})),
        )
        .await;
    assert_eq!(st, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_session_moves_money_only_with_its_csrf_token_and_within_its_role() {
    let h = Harness::start().await;
    add(&h, "7", "Anna", "CASHIER", "4071").await;
    add(&h, "3", "Bo", "SUPERVISOR", "9052").await;
    let anna = sign_in(&h, "7", "4071").await.unwrap();

    // The cookie alone, a wrong token, another site's origin: refused, nothing journaled.
    let sale = json!({"amount": 5000, "currency": "SEK", "method": "CARD"});
    let (st, e) = anna.send(reqwest::Method::POST, "/v1/sales", Some(sale.clone()), None).await;
    assert_eq!((st, e["code"].as_str()), (403, Some("CSRF_REJECTED")), "{e}");
    let (st, _) = anna.send(reqwest::Method::POST, "/v1/sales", Some(sale.clone()), Some("0000")).await;
    assert_eq!(st, 403);
    let foreign = h
        .http
        .post(format!("{}/v1/sales", h.url))
        .header("cookie", &anna.cookie)
        .header("x-csrf-token", &anna.csrf)
        .header("origin", "http://shop.attacker.example")
        .json(&sale);
    assert_eq!(foreign.send().await.unwrap().status(), 403);
    assert_eq!(h.sales_in_journal(), 0);

    // With it, the sale is Anna's; the register's sales have no cashier.
    let (st, s) = anna.post("/v1/sales", sale).await;
    assert_eq!((st, s["cashier"].as_str()), (201, Some("7")), "{s}");
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_state(s["id"].as_str().unwrap(), "APPROVED").await;
    let register = h.create(json!({"amount": 100, "currency": "SEK", "method": "CARD"})).await;
    assert_eq!(register["cashier"], Value::Null);
    h.post(&format!("/v1/sales/{}/cancel", register["id"].as_str().unwrap()), json!({})).await;

    // The Z report is a supervisor's: a cashier's approval does not count, Bo's does, once.
    let (st, e) = anna.post("/v1/reports/z", json!({})).await;
    assert_eq!((st, e["code"].as_str()), (403, Some("SUPERVISOR_REQUIRED")), "{e}");
    let (st, e) = anna.post("/console/session/approval", json!({"cashier": "7", "pin": "4071"})).await;
    assert_eq!((st, e["code"].as_str()), (403, Some("SUPERVISOR_REQUIRED")), "{e}");
    let (st, _) = anna.post("/console/session/approval", json!({"cashier": "3", "pin": "9052"})).await;
    assert_eq!(st, 200);
    let (st, z) = anna.post("/v1/reports/z", json!({})).await;
    assert_eq!((st, z["kind"].as_str()), (200, Some("Z")), "{z}");
    assert_eq!(anna.post("/v1/reports/z", json!({})).await.0, 403, "an approval is taken once");
    // Bo signed in needs nobody; the log level is store IT's, not the console's.
    let bo = sign_in(&h, "3", "9052").await.unwrap();
    assert_eq!(bo.post("/v1/reports/z", json!({})).await.0, 200);
    let (st, e) = bo.send(reqwest::Method::PUT, "/v1/log-level", Some(json!({"level": "debug"})), Some(&bo.csrf)).await;
    assert_eq!((st, e["code"].as_str()), (403, Some("UNAUTHORIZED")), "{e}");
    // A supervisor changes a cashier from the console; not their own role.
    let (st, _) = bo
        .send(
            reqwest::Method::PUT,
            "/v1/cashiers/7",
            Some(json!({"name": "Anna B", "role": "CASHIER"})),
            Some(&bo.csrf),
        )
        .await;
    assert_eq!(st, 200);
    let (st, e) = bo
        .send(reqwest::Method::PUT, "/v1/cashiers/3", Some(json!({"name": "Bo", "role": "CASHIER"})), Some(&bo.csrf))
        .await;
    assert_eq!((st, e["field"].as_str()), (422, Some("role")), "{e}");
    let (st, e) = anna
        .send(
            reqwest::Method::PUT,
            "/v1/cashiers/7",
            Some(json!({"name": "Anna", "role": "SUPERVISOR"})),
            Some(&anna.csrf),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (403, Some("SUPERVISOR_REQUIRED")),
        "a cashier cannot make herself a supervisor: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_pins_lock_the_cashier_and_unknown_numbers_say_nothing_more() {
    let h = Harness::start().await;
    add(&h, "7", "Anna", "CASHIER", "4071").await;
    let (st, unknown) = sign_in(&h, "8", "4071").await.err().unwrap();
    let (st2, wrong) = sign_in(&h, "7", "1111").await.err().unwrap();
    assert_eq!((st, st2), (401, 401));
    assert_eq!(unknown["message"], wrong["message"], "an unknown number reads as a wrong PIN");
    for _ in 0..3 {
        assert_eq!(sign_in(&h, "7", "1111").await.err().unwrap().0, 401);
    }
    let (st, locked) = sign_in(&h, "7", "1111").await.err().unwrap();
    assert_eq!((st, locked["code"].as_str()), (423, Some("CASHIER_LOCKED")), "{locked}");
    assert_eq!(sign_in(&h, "7", "4071").await.err().unwrap().0, 423, "locked: the right PIN too");
    // A new PIN from store IT unlocks.
    let (st, _) = h
        .call(reqwest::Method::PUT, "/v1/cashiers/7", Some(&json!({"name": "Anna", "role": "CASHIER", "pin": "6170"})))
        .await;
    assert_eq!(st, 200);
    assert!(sign_in(&h, "7", "6170").await.is_ok());
    // Without a session, the console's calls are refused as such.
    let r = h.http.get(format!("{}/v1/sales", h.url)).header("cookie", "posagent_console=forged").send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "SIGN_IN_REQUIRED");
}
