//! Returns (in-store and online purchases), reprints, and receipts held through a paper-out.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, lines_1234_50};
use serde_json::json;

async fn approved_sale(h: &Harness) -> serde_json::Value {
    let sale = h.create(json!({"amount": 123450, "currency": "SEK", "order_lines": lines_1234_50()})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    let (status, body) = h.customer("approve").await;
    assert_eq!(status, 200, "{body}");
    h.wait_for(&id, |s| s["state"] == "APPROVED" && (s["receipt_printed"] == true || !s["receipt_error"].is_null()))
        .await
}

fn ledger_count(ledger: &serde_json::Value, kind: &str) -> usize {
    ledger.as_array().unwrap().iter().filter(|e| e["kind"] == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_return_of_an_in_store_sale() {
    let h = Harness::start().await;
    let sale = approved_sale(&h).await;
    let reference = sale["reference"].as_str().unwrap();
    let (status, r) = h
        .post("/v1/returns", json!({"original_reference": reference, "lines": [{"reference": "SKU-1", "quantity": 1}]}))
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["state"], "REFUNDED");
    assert_eq!(r["amount"], 2500);
    assert_eq!(r["klarna_reference"], sale["klarna_reference"]);
    assert_eq!(r["receipt_printed"], true);
    let receipts = h.sim.printer.wait_for(2, std::time::Duration::from_secs(5)).await.unwrap();
    assert!(receipts[1].text.contains("RETUR") && receipts[1].text.contains("-25,00\u{a0}kr"), "{}", receipts[1].text);
    // Only one coffee is left to return.
    let (status, p) = h
        .post("/v1/returns", json!({"original_reference": reference, "lines": [{"reference": "SKU-1", "quantity": 2}]}))
        .await;
    assert_eq!((status, p["field"].as_str()), (422, Some("lines[0].quantity")), "{p}");
    // Never more than captured and not yet refunded.
    let (status, p) = h.post("/v1/returns", json!({"original_reference": reference, "amount": 123450})).await;
    assert_eq!((status, p["field"].as_str()), (422, Some("amount")), "{p}");
    let (status, rest) = h.post("/v1/returns", json!({"original_reference": reference})).await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(rest["amount"], 123450 - 2500);
    let tx = h.backend_get(&format!("/v1/payment-transactions?reference={reference}")).await;
    assert_eq!(tx["refunded_amount"], 123450);
    let (status, _) = h.post("/v1/returns", json!({"original_reference": reference, "amount": 1})).await;
    assert_eq!(status, 422);
    let (status, read) = h.get(&format!("/v1/returns/{}", r["reference"].as_str().unwrap())).await;
    assert_eq!((status, &read["id"]), (200, &r["id"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_of_an_online_order_by_line_and_a_retry_refunds_once() {
    let h = Harness::start().await;
    let body = json!({"original_reference": "WEB-1001", "reference": "RET-77", "lines": [{"reference": "SKU-7", "quantity": 1}]});
    let (status, r) = h.post("/v1/returns", body.clone()).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["amount"], 19900);
    assert_eq!(r["lines"][0]["total_tax_amount"], 3980);
    let (status, again) = h.post("/v1/returns", body).await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], r["id"]);
    assert_eq!(ledger_count(&h.backend_get("/v1/ledger").await, "REFUND"), 1);
    let order = h.backend_get("/v1/orders/WEB-1001").await;
    assert_eq!(order["refunded_amount"], 19900);
    let (status, p) = h.post("/v1/returns", json!({"original_reference": "WEB-4040"})).await;
    assert_eq!((status, p["code"].as_str()), (404, Some("PURCHASE_NOT_FOUND")));
    let (status, p) = h
        .post(
            "/v1/returns",
            json!({"original_reference": "WEB-1002", "lines": [{"reference": "SKU-1", "quantity": 1}], "amount": 5}),
        )
        .await;
    assert_eq!((status, p["field"].as_str()), (422, Some("amount")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_need_the_acquirer_and_write_nothing_without_it() {
    let h = Harness::start().await;
    h.http
        .post(format!("{}/sim/faults", h.sim.backend_url))
        .json(&json!({"error_5xx_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let (status, p) = h.post("/v1/returns", json!({"original_reference": "WEB-1002"})).await;
    assert_eq!((status, p["code"].as_str()), (503, Some("ACQUIRER_UNREACHABLE")), "{p}");
    let db = rusqlite::Connection::open(h.data_dir().join("posagent.db")).unwrap();
    let n: i64 = db.query_row("SELECT COUNT(*) FROM returns", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_held_by_paper_out_prints_by_itself_then_reprints_are_copies() {
    let h = Harness::start().await;
    h.sim.printer.set_paper_out(true);
    let sale = approved_sale(&h).await;
    let id = sale["id"].as_str().unwrap().to_string();
    assert_eq!(sale["receipt_printed"], false);
    assert!(sale["receipt_error"].as_str().is_some_and(|e| e.contains("paper") && e.contains("by itself")), "{sale}");
    assert!(h.sim.printer.receipts().is_empty());
    // Still out of paper: a reprint by hand cannot print either, and nothing is lost.
    let (status, p) = h.post(&format!("/v1/sales/{id}/reprint"), json!({})).await;
    assert_eq!((status, p["code"].as_str()), (503, Some("PRINTER_UNAVAILABLE")));
    // A new roll: the held receipt comes out whole, once, by itself.
    h.sim.printer.set_paper_out(false);
    let printed = h.wait_for(&id, |s| s["receipt_printed"] == true).await;
    assert!(printed["receipt_error"].is_null());
    let receipts = h.sim.printer.wait_for(1, std::time::Duration::from_secs(5)).await.unwrap();
    assert!(!receipts[0].text.contains("KOPIA"));
    assert!(receipts[0].text.contains("1\u{a0}234,50\u{a0}kr"));
    // A reprint now is a copy.
    let (status, _) = h.post(&format!("/v1/sales/{id}/reprint"), json!({})).await;
    assert_eq!(status, 200);
    let receipts = h.sim.printer.wait_for(2, std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(receipts.len(), 2);
    assert!(receipts[1].text.contains("*** KOPIA ***"), "{}", receipts[1].text);
    // A declined sale has no receipt to reprint.
    let declined = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    h.wait_state(declined["id"].as_str().unwrap(), "QR_SHOWN").await;
    h.customer("decline").await;
    h.wait_state(declined["id"].as_str().unwrap(), "DECLINED").await;
    let (status, p) = h.post(&format!("/v1/sales/{}/reprint", declined["id"].as_str().unwrap()), json!({})).await;
    assert_eq!((status, p["code"].as_str()), (409, Some("NOT_APPROVED")));
    // Nothing came out twice: an X report printed now comes out right after the copy
    // (the printer takes its jobs in order), with nothing between them.
    let (status, _) = h.get("/v1/reports/x?print=true").await;
    assert_eq!(status, 200);
    let receipts = h.sim.printer.wait_for(3, std::time::Duration::from_secs(5)).await.unwrap();
    assert!(receipts[2].text.contains("X-RAPPORT"), "{}", receipts[2].text);
    assert_eq!(h.sim.printer.receipts().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_later_then_capture_part_and_void_the_rest() {
    let h = Harness::start().await;
    let sale = h.create(json!({"amount": 123450, "currency": "SEK", "capture": "LATER"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    let approved = h.wait_for(&id, |s| s["state"] == "APPROVED").await;
    assert_eq!((approved["capture"].as_str(), approved["captured_amount"].as_i64()), (Some("LATER"), Some(0)));

    // Capture part; the same request sent twice (same Idempotency-Key) captures once.
    let capture = |key: &'static str, body: serde_json::Value| {
        let req = h
            .http
            .post(format!("{}/v1/sales/{id}/capture", h.url))
            .bearer_auth(&h.token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, v) = capture("cap-1", json!({"amount": 40000})).await;
    assert_eq!((status, v["captured_amount"].as_i64()), (200, Some(40000)), "{v}");
    let (status, v) = capture("cap-1", json!({"amount": 40000})).await;
    assert_eq!((status, v["captured_amount"].as_i64()), (200, Some(40000)), "{v}");
    let (status, p) = capture("cap-2", json!({"amount": 90000})).await;
    assert_eq!((status, p["field"].as_str()), (422, Some("amount")), "{p}");
    let ledger = h.backend_get("/v1/ledger").await;
    assert_eq!(ledger_count(&ledger, "CAPTURE"), 1);

    // Void the rest: the transaction is COMPLETED with what was captured.
    let (status, v) = h.post(&format!("/v1/sales/{id}/void"), json!({})).await;
    assert_eq!((status, v["voided"].as_bool()), (200, Some(true)), "{v}");
    let tx =
        h.backend_get(&format!("/v1/payment-transactions?reference={}", sale["reference"].as_str().unwrap())).await;
    assert_eq!((tx["state"].as_str(), tx["captured_amount"].as_i64()), (Some("COMPLETED"), Some(40000)));
    let (status, p) = capture("cap-3", json!({})).await;
    assert_eq!((status, p["code"].as_str()), (409, Some("NOTHING_LEFT")));
    let (status, _) = h.post(&format!("/v1/sales/{id}/void"), json!({})).await;
    assert_eq!(status, 409);
    // The sale's receipt says the amount was reserved; the capture and the void each
    // print what they did (once: the resent capture printed nothing more).
    let papers = h.sim.printer.wait_for(3, std::time::Duration::from_secs(5)).await.unwrap();
    let with = |word: &str| papers.iter().filter(|p| p.text.contains(word)).collect::<Vec<_>>();
    assert_eq!(with("RESERVERAT").len(), 1, "the sale's receipt: {papers:#?}");
    assert_eq!((with("DEBITERING").len(), with("FRISLÄPPNING").len(), papers.len()), (1, 1, 3), "{papers:#?}");
    let void = &with("FRISLÄPPNING")[0].text;
    assert!(void.contains("834,50\u{a0}kr") && void.contains("400,00\u{a0}kr"), "released 834,50 of 1 234,50: {void}");

    // Reports count what was captured, and the capture reconciles with the settlement.
    let (_, x) = h.get("/v1/reports/x").await;
    assert_eq!(x["totals"][0]["sales_amount"], 40000, "{x}");
    let (_, rec) = h.get("/v1/reports/reconciliation").await;
    assert!(rec["differences"].as_array().unwrap().is_empty(), "{rec}");

    // A sale captured at authorization has nothing left to capture.
    let now = approved_sale(&h).await;
    let (status, p) = h.post(&format!("/v1/sales/{}/capture", now["id"].as_str().unwrap()), json!({})).await;
    assert_eq!((status, p["code"].as_str()), (409, Some("NOTHING_LEFT")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_captures_and_a_void_take_the_authorization_once() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.acquirer.timeout_ms = 1000).await;
    let sale = h.create(json!({"amount": 123450, "currency": "SEK", "capture": "LATER"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(&id, |s| s["state"] == "APPROVED").await;

    // The acquirer goes away; a first capture of 1 finds out (and queues).
    let faults = |body: serde_json::Value| {
        let req = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&body);
        async move { assert!(req.send().await.unwrap().status().is_success()) }
    };
    faults(json!({"partition": true})).await;
    let register = &h;
    let send = |path: String, key: String, body: serde_json::Value| async move {
        register.call_keyed(reqwest::Method::POST, &path, Some(&body), Some(&key)).await
    };
    let (status, first) = send(format!("/v1/sales/{id}/capture"), "first".into(), json!({"amount": 1})).await;
    assert_eq!(status, 202, "{first}");

    // Now known offline, everything only queues, without the acquirer to refuse
    // anything: six registers capture all the rest and one voids it, at the same moment,
    // each under its own key. Exactly one of them gets what is left.
    let mut racing: Vec<_> = (0..6)
        .map(|i| send(format!("/v1/sales/{id}/capture"), format!("race-{i}"), json!({"amount": 123449})))
        .collect();
    racing.push(send(format!("/v1/sales/{id}/void"), "race-void".into(), json!({})));
    let answers = futures_util::future::join_all(racing).await;
    let won: Vec<_> = answers.iter().filter(|(status, _)| *status == 202).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (status, p) in answers.iter().filter(|(status, _)| *status != 202) {
        assert!(*status == 409 || *status == 422, "{status} {p}");
    }

    // Back online, the queue drains: the acquirer gets what the terminal promised.
    faults(json!({})).await;
    h.wait_for(&id, |s| s["queued_capture_amount"] == 0 && s["void_queued"] != true).await;
    let ledger = h.backend_get("/v1/ledger").await;
    assert_eq!(ledger_count(&ledger, "CAPTURE") + ledger_count(&ledger, "VOID"), 2, "{ledger}");
    let (_, now) = h.get(&format!("/v1/sales/{id}")).await;
    let took = now["captured_amount"].as_i64().unwrap();
    assert!(took == 123450 && now["voided"] == false || took == 1 && now["voided"] == true, "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_resent_right_after_a_restart_ends_refunded_once() {
    let mut h = Harness::start().await;
    let sale = approved_sale(&h).await;
    let (http, faults_url) = (h.http.clone(), format!("{}/sim/faults", h.sim.backend_url));
    let faults = |body: serde_json::Value| {
        let (http, url) = (http.clone(), faults_url.clone());
        async move { assert!(http.post(url).json(&body).send().await.unwrap().status().is_success()) }
    };
    // Offline (the next sale found the acquirer silent): the return is queued, PENDING.
    faults(json!({"partition": true})).await;
    let probe = h.create(json!({"amount": 1_000, "currency": "SEK"})).await;
    h.wait_state(probe["id"].as_str().unwrap(), "UNAVAILABLE").await;
    let request = json!({"original_reference": sale["reference"], "reference": "RET-RESENT", "amount": 10_000});
    let (status, pending) = h.post("/v1/returns", request.clone()).await;
    assert_eq!((status, pending["state"].as_str()), (202, Some("PENDING")), "{pending}");
    // Restarted with the network back: the sync worker forwards the refund while the
    // register, which never heard the outcome, sends the same return again.
    h.stop_daemon().await;
    faults(json!({})).await;
    h.start_daemon().await;
    let (status, again) = h.post("/v1/returns", request).await;
    assert!(status == 200 || status == 202, "{status} {again}");
    let done = common::eventually::eventually_seen(
        "the resent return to leave PENDING",
        std::time::Duration::from_secs(30),
        || async {
            let (_, r) = h.get("/v1/returns/RET-RESENT").await;
            if r["state"] != "PENDING" { common::eventually::Seen::Done(r) } else { common::eventually::Seen::Not(r) }
        },
    )
    .await;
    assert_eq!(done["state"], "REFUNDED", "{done}");
    // Once the queue has nothing left to forward it is still refunded (no stale copy
    // written over it), and booked once.
    common::eventually::eventually_seen("the queue to be empty", common::eventually::WITHIN, || async {
        let (_, summary) = h.get("/v1/queue/summary").await;
        if summary["summary"]["pending"] == 0 {
            common::eventually::Seen::Done(())
        } else {
            common::eventually::Seen::Not(summary)
        }
    })
    .await;
    let (_, later) = h.get("/v1/returns/RET-RESENT").await;
    assert_eq!(later["state"], "REFUNDED", "{later}");
    assert_eq!(ledger_count(&h.backend_get("/v1/ledger").await, "REFUND"), 1);
}
