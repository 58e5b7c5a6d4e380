//! The ECR API refuses bad input with typed errors and writes nothing half-done.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_code_message_and_field() {
    let h = Harness::start().await;
    let cases = [
        (json!({"currency": "SEK"}), 400, "INVALID_REQUEST", Some("amount")),
        (json!({"amount": 100, "currency": "SEK", "tip": 5}), 400, "INVALID_REQUEST", Some("tip")),
        (json!({"amount": "100", "currency": "SEK"}), 400, "INVALID_REQUEST", Some("amount")),
        (json!({"amount": 100, "currency": "EUR"}), 422, "INVALID_FIELD", Some("currency")),
        (json!({"amount": 100, "currency": "SEKK"}), 422, "INVALID_FIELD", Some("currency")),
        (json!({"amount": 0, "currency": "SEK"}), 422, "INVALID_FIELD", Some("amount")),
        (json!({"amount": 100, "currency": "SEK", "method": "CASH"}), 422, "INVALID_FIELD", Some("method")),
        (json!({"amount": 100, "currency": "SEK", "reference": "bad ref!"}), 422, "INVALID_FIELD", Some("reference")),
        (
            json!({"amount": 999, "currency": "SEK", "order_lines": [{"name": "A", "quantity": 1, "unit_price": 500, "total_amount": 500}]}),
            422,
            "INVALID_FIELD",
            Some("order_lines"),
        ),
        (
            json!({"amount": 500, "currency": "SEK", "order_lines": [{"name": "A", "quantity": 1, "unit_price": 500, "total_amount": 500, "tax_rate": 2500, "total_tax_amount": 50}]}),
            422,
            "INVALID_FIELD",
            Some("order_lines[0].tax_rate"),
        ),
        (
            json!({"amount": 100, "currency": "SEK", "interoperability_token": "x".repeat(8193)}),
            422,
            "INVALID_FIELD",
            Some("interoperability_token"),
        ),
        (
            json!({"amount": 100, "currency": "SEK", "interoperability_data": "not json"}),
            422,
            "INVALID_FIELD",
            Some("interoperability_data"),
        ),
        (json!({"amount": 100, "currency": "SEK", "locale": "swedish"}), 422, "INVALID_FIELD", Some("locale")),
    ];
    for (body, status, code, field) in cases {
        let (got, problem) = h.post("/v1/sales", body.clone()).await;
        assert_eq!(got, status, "{body} → {problem}");
        assert_eq!(problem["code"], code, "{body} → {problem}");
        assert_eq!(problem["field"].as_str(), field, "{body} → {problem}");
        assert!(problem["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Not JSON at all.
    let r = h.http.post(format!("{}/v1/sales", h.url)).bearer_auth(&h.token).body("{amount:").send().await.unwrap();
    let (status, _) = common::contract::read_checked(common::contract::ecr(), "POST", "/v1/sales", r).await;
    assert_eq!(status, 400);
    // Nothing was written for any of them.
    assert_eq!(h.sales_in_journal(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_and_compared_exactly() {
    let h = Harness::start().await;
    let url = format!("{}/v1/sales", h.url);
    let none = h.http.post(&url).json(&json!({"amount": 100, "currency": "SEK"})).send().await.unwrap();
    let (status, _) = common::contract::read_checked(common::contract::ecr(), "POST", "/v1/sales", none).await;
    assert_eq!(status, 401);
    let wrong = h
        .http
        .post(&url)
        .bearer_auth(format!("{}x", h.token))
        .json(&json!({"amount": 100, "currency": "SEK"}))
        .send()
        .await
        .unwrap();
    let (status, body) = common::contract::read_checked(common::contract::ecr(), "POST", "/v1/sales", wrong).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("UNAUTHORIZED")));
    // Health needs no token and reports both devices.
    let (_, health) = h.health().await;
    let devices: Vec<&str> =
        health["devices"].as_array().unwrap().iter().map(|d| d["device"].as_str().unwrap()).collect();
    assert_eq!(devices, ["display", "printer", "card_reader"]);
    // The token file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(h.data_dir().join("ecr.token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(h.sales_in_journal(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sale_at_a_time_and_unknown_sales() {
    let h = Harness::start().await;
    let first = h.create(json!({"amount": 1000, "currency": "SEK"})).await;
    let (status, busy) = h.post("/v1/sales", json!({"amount": 2000, "currency": "SEK"})).await;
    assert_eq!(status, 409);
    assert_eq!(busy["code"], "TERMINAL_BUSY");
    let (status, missing) = h.get("/v1/sales/no-such-sale").await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], "NOT_FOUND");
    let (status, _) = h.post("/v1/sales/no-such-sale/cancel", json!({})).await;
    assert_eq!(status, 404);
    // Reading by reference works as well as by id.
    let (status, by_ref) = h.get(&format!("/v1/sales/{}", first["reference"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(by_ref["id"], first["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_asks_whether_to_offer_klarna() {
    let h = Harness::start().await;
    let (status, a) = h.get("/v1/klarna?amount=12345").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["available"], true);
    assert_eq!(a["source"], "LIVE");
    // Klarna's payment option as the acquirer served it, for the store's locale and amount.
    let served = posagent_sim::backend::klarna_wording(&h.sim.backend_url, "sv-SE", "SEK", 12_345);
    assert_eq!(a["payment_option"], serde_json::to_value(&served).unwrap());
    assert_eq!(a["payment_option"]["header"]["text"], "Betala med Klarna");
    let (_, again) = h.get("/v1/klarna?amount=12345").await;
    assert_eq!(again["source"], "CACHE");
    assert!(again["age_secs"].as_i64().is_some());
    let (_, small) = h.get("/v1/klarna?amount=50").await;
    assert_eq!(small["available"], false);
    assert_eq!(small["reason"], "AMOUNT_OUT_OF_RANGE");
    let (_, en) = h.get("/v1/klarna?amount=12345&locale=en-US").await;
    assert_eq!(en["payment_option"]["header"]["text"], "Pay with Klarna");
    let (status, bad) = h.get("/v1/klarna?amount=0").await;
    assert_eq!((status, bad["field"].as_str()), (422, Some("amount")));

    // The acquirer goes away: Klarna is not offered, the wording stays for display.
    h.http
        .post(format!("{}/sim/faults", h.sim.backend_url))
        .json(&json!({"error_5xx_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let (_, offline) = h.get("/v1/klarna?amount=22222").await;
    assert_eq!(offline["available"], false);
    assert_eq!(offline["reason"], "OFFLINE");
    assert_eq!(offline["payment_option"]["header"]["text"], "Betala med Klarna");
    // A Klarna sale started now ends UNAVAILABLE (offline ⇒ never offered), not FAILED.
    let sale = h.create(json!({"amount": 22222, "currency": "SEK"})).await;
    let done = h.wait_state(sale["id"].as_str().unwrap(), "UNAVAILABLE").await;
    assert_eq!(done["reason"], "OFFLINE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_api_is_rate_limited() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.ecr.max_requests_per_sec = 5;
        c.ecr.max_unauthenticated_per_sec = 5;
    })
    .await;
    let mut codes = vec![];
    let mut limited_body = None;
    for _ in 0..40 {
        let r = h.http.get(format!("{}/v1/sales/none", h.url)).bearer_auth("guessing").send().await.unwrap();
        codes.push(r.status().as_u16());
        if r.status() == 429 && limited_body.is_none() {
            assert_eq!(r.headers()["retry-after"], "1");
            limited_body = Some(r.json::<serde_json::Value>().await.unwrap());
        }
    }
    let limited = codes.iter().filter(|&&c| c == 429).count();
    assert!(limited >= 25, "{codes:?}");
    assert!(codes.iter().take(9).all(|&c| c == 401), "{codes:?}");
    assert_eq!(limited_body.unwrap()["code"], "RATE_LIMITED");
    // /health is exempt, and the guesses did not use up the register's own share.
    let r = h.http.get(format!("{}/health", h.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut register = vec![];
    for _ in 0..30 {
        register.push(h.get("/v1/queue/summary").await.0);
    }
    assert!(register.iter().take(9).all(|&c| c == 200), "{register:?}");
    assert!(register.contains(&429), "the register has its own limit too: {register:?}");
}

/// The typed client (`posagent-ecr-api`'s `EcrClient`) against the running daemon: a
/// sale, its history, a retry, the reports, queue and log level read as the wire types,
/// and each refusal carrying its `ErrorCode`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_client_reads_every_answer_and_each_refusal_code() {
    use posagent_ecr_api::{ErrorCode, KlarnaQuery, NewSale, QueueQuery, RetrySale, SaleState};
    let h = Harness::start().await;
    let ecr = h.ecr();
    let new = NewSale { amount: 5000, currency: "SEK".into(), reference: Some("TYPED-1".into()), ..NewSale::default() };
    let (sale, created) = ecr.create_sale(&new).await.unwrap();
    assert!(created, "{sale:?}");
    let (again, created) = ecr.create_sale(&new).await.unwrap();
    assert!(!created && again.id == sale.id);
    let other = NewSale { reference: Some("TYPED-2".into()), ..new.clone() };
    let busy = ecr.create_sale(&other).await.unwrap_err();
    assert_eq!((busy.status(), busy.code()), (Some(409), Some(ErrorCode::TerminalBusy)), "{busy}");
    h.wait_state(&sale.id, "QR_SHOWN").await;
    let history = ecr.sale_history("TYPED-1").await.unwrap();
    assert_eq!(history.history.first().map(|e| e.state), Some(SaleState::Created));
    let canceled = ecr.cancel_sale(&sale.id).await.unwrap();
    assert_eq!(canceled.state, SaleState::Canceled);
    assert!(canceled.retryable);
    let missing = ecr.sale("NO-SUCH-SALE").await.unwrap_err();
    assert_eq!((missing.status(), missing.code()), (Some(404), Some(ErrorCode::NotFound)));
    // An id is one path segment: a reference with `/` names its sale, and a crafted one
    // reaches no other endpoint; a dot segment is not sent at all.
    let slashed = ecr.sale("TYPED-1/history").await.unwrap_err();
    assert_eq!((slashed.status(), slashed.code()), (Some(404), Some(ErrorCode::NotFound)), "{slashed}");
    let queried = ecr.sale("TYPED-1?x=1#y").await.unwrap_err();
    assert_eq!(queried.code(), Some(ErrorCode::NotFound), "{queried}");
    for dots in ["..", ".", "", "TYPED-1\t"] {
        assert!(matches!(ecr.sale(dots).await, Err(posagent_ecr_api::EcrError::BadId(_))), "{dots:?}");
    }
    let not_approved = ecr.capture(&sale.id, None, "typed-capture-1").await.unwrap_err();
    assert_eq!(not_approved.code(), Some(ErrorCode::NotApproved), "{not_approved}");

    let (retry, created) = ecr.retry_sale(&sale.id, &RetrySale::default()).await.unwrap();
    assert!(created && retry.retry_of.as_deref() == Some("TYPED-1"), "{retry:?}");
    ecr.cancel_sale(&retry.id).await.unwrap();

    let x = ecr.report_x(false).await.unwrap();
    assert_eq!(x.kind, posagent_ecr_api::ReportKind::X);
    assert!(ecr.queue(&QueueQuery::default()).await.unwrap().operations.is_empty());
    assert_eq!(ecr.queue_summary().await.unwrap().summary.pending, 0);
    assert_eq!(ecr.queued_operation(999).await.unwrap_err().code(), Some(ErrorCode::NotFound));
    assert_eq!(ecr.retry_dead_letter(999).await.unwrap_err().code(), Some(ErrorCode::NotDead));
    let bad_day = ecr.reconciliation(Some("yesterday".into())).await.unwrap_err();
    assert!(
        matches!(&bad_day, posagent_ecr_api::EcrError::Refused { body, .. }
        if body.code == ErrorCode::InvalidField && body.field.as_deref() == Some("date")),
        "{bad_day}"
    );
    let level = ecr.log_level().await.unwrap();
    assert_eq!(ecr.set_log_level("loud").await.unwrap_err().code(), Some(ErrorCode::InvalidField));
    assert_eq!(ecr.log_level().await.unwrap(), level);
    let offer = ecr.klarna(&KlarnaQuery { amount: 5000, ..KlarnaQuery::default() }).await.unwrap();
    assert!(offer.available, "{offer:?}");
    let zero = ecr.klarna(&KlarnaQuery { amount: 0, ..KlarnaQuery::default() }).await.unwrap_err();
    assert_eq!(zero.code(), Some(ErrorCode::InvalidField));
    assert_eq!(ecr.console_info().await.unwrap().currency.code(), "SEK");
    assert!(ecr.health().await.unwrap().devices.iter().any(|d| d.device == "printer"));
    assert_eq!(ecr.open_drawer().await.err().and_then(|e| e.code()), None, "the simulated printer has a drawer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_are_listed_newest_first_by_window_state_and_method() {
    use posagent_ecr_api::{ErrorCode, NewSale, SaleQuery, SaleState};
    let h = Harness::start().await;
    let ecr = h.ecr();
    let mut made = vec![];
    for (reference, method, cancel) in
        [("LIST-1", "KLARNA", true), ("LIST-2", "CARD", true), ("LIST-3", "KLARNA", false)]
    {
        let new = NewSale {
            amount: 1500,
            currency: "SEK".into(),
            reference: Some(reference.into()),
            method: Some(method.into()),
            ..NewSale::default()
        };
        let (sale, _) = ecr.create_sale(&new).await.unwrap();
        if cancel {
            ecr.cancel_sale(&sale.id).await.unwrap();
        }
        made.push(ecr.sale(&sale.id).await.unwrap());
    }
    let refs = |q: SaleQuery| {
        let ecr = ecr.clone();
        async move {
            let list = ecr.sales(&q).await.unwrap_or_else(|e| panic!("{q:?}: {e}"));
            list.sales.into_iter().map(|s| s.reference).collect::<Vec<_>>()
        }
    };
    let at = |i: usize| Some(made[i].created_at.to_rfc3339());
    assert_eq!(refs(SaleQuery::default()).await, ["LIST-3", "LIST-2", "LIST-1"]);
    assert_eq!(refs(SaleQuery { method: Some("CARD".into()), ..SaleQuery::default() }).await, ["LIST-2"]);
    let canceled = SaleQuery { state: Some("CANCELED".into()), ..SaleQuery::default() };
    assert_eq!(refs(canceled).await, ["LIST-2", "LIST-1"]);
    assert_eq!(refs(SaleQuery { since: at(1), ..SaleQuery::default() }).await, ["LIST-3", "LIST-2"]);
    // Pages: the last created_at of one page is `before` of the next.
    assert_eq!(refs(SaleQuery { limit: Some(1), ..SaleQuery::default() }).await, ["LIST-3"]);
    assert_eq!(refs(SaleQuery { limit: Some(1), before: at(2), ..SaleQuery::default() }).await, ["LIST-2"]);
    assert_eq!(refs(SaleQuery { before: at(1), ..SaleQuery::default() }).await, ["LIST-1"]);
    let later = Some((made[2].created_at + chrono::TimeDelta::hours(1)).to_rfc3339());
    assert!(refs(SaleQuery { since: later, ..SaleQuery::default() }).await.is_empty());
    let listed = ecr.sales(&SaleQuery { method: Some("CARD".into()), ..SaleQuery::default() }).await.unwrap();
    let card = &listed.sales[0];
    assert_eq!((card.id.as_str(), card.state, card.amount), (made[1].id.as_str(), SaleState::Canceled, 1500));

    for (q, field) in [
        (SaleQuery { limit: Some(0), ..SaleQuery::default() }, "limit"),
        (SaleQuery { since: Some("yesterday".into()), ..SaleQuery::default() }, "since"),
        (SaleQuery { state: Some("PAID".into()), ..SaleQuery::default() }, "state"),
        (SaleQuery { method: Some("CASH".into()), ..SaleQuery::default() }, "method"),
    ] {
        let e = ecr.sales(&q).await.unwrap_err();
        assert!(
            matches!(&e, posagent_ecr_api::EcrError::Refused { body, .. }
            if body.code == ErrorCode::InvalidField && body.field.as_deref() == Some(field)),
            "{q:?}: {e}"
        );
    }
    let (status, body) = h.get("/v1/sales?sort=amount").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")), "{body}");
}
