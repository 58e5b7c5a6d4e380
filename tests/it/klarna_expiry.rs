//! Klarna's lifecycle after the sale. A Klarna authorization that is never captured
//! expires at the acquirer when its time comes on the acquirer's clock, and the sale shows
//! it (`transaction_state: EXPIRED`, then `CLOSED`) because the acquirer's signed event
//! stream said so — nobody read the transaction. A capture asked for afterwards is
//! refused by the acquirer once and ends as a dead letter, not retried. And the day's
//! settlement: the acquirer's fees, the VAT on them and the payout show in the
//! reconciliation and the X report, as the simulator's fee schedule gives them.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;
use std::time::Duration;

/// Moves the simulated acquirer's clock on by `secs`.
async fn advance_acquirer_clock(h: &Harness, secs: i64) {
    let r = h.http.post(format!("{}/sim/clock", h.sim.backend_url)).json(&json!({ "advance_secs": secs })).send();
    assert!(r.await.unwrap().status().is_success());
}

/// Cuts (or restores) the network between the terminal and the simulated acquirer.
async fn set_partition(h: &Harness, on: bool) {
    let r = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&json!({ "partition": on })).send();
    assert!(r.await.unwrap().status().is_success());
}

/// Reads the register's event stream until an `event: sale` of `id` carries
/// `"transaction_state":"<state>"`.
async fn sale_event_with(events: &mut reqwest::Response, id: &str, state: &str) {
    let wanted = format!("\"transaction_state\":\"{state}\"");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    loop {
        if seen.split("\n\n").any(|e| e.contains(id) && e.contains(&wanted)) {
            return;
        }
        let chunk = tokio::time::timeout_at(deadline, events.chunk()).await;
        let chunk = chunk.unwrap_or_else(|_| panic!("no sale event with {wanted} within 20 s; seen: {seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the stream stays open")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_on_the_acquirers_clock_reaches_the_sale_through_the_event_stream() {
    let h = Harness::start().await;
    let sale = h.create(json!({"amount": 12_500, "currency": "SEK", "capture": "LATER"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    let (status, answer) = h.customer("approve").await;
    assert_eq!(status, 200, "the simulated customer could not approve: {answer}");
    let approved = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["transaction_state"] == "AUTHORIZED").await;
    assert_eq!(approved["captured_amount"], 0, "{approved}");

    // The acquirer's clock stops 2 s short of the authorization's 28 days: nothing has
    // expired yet, and the terminal is not told anything.
    let mut events = h.events().await;
    advance_acquirer_clock(&h, 28 * 86_400 - 2).await;
    let (_, still) = h.get(&format!("/v1/sales/{id}")).await;
    assert_eq!(still["transaction_state"], "AUTHORIZED", "{still}");

    // The deadline passes on the acquirer's own clock; its expiry event reaches the sale
    // and the register's stream, with nothing reading the transaction.
    sale_event_with(&mut events, &id, "EXPIRED").await;
    let (_, expired) = h.get(&format!("/v1/sales/{id}")).await;
    assert_eq!(
        (expired["state"].as_str(), expired["transaction_state"].as_str(), expired["captured_amount"].as_i64()),
        (Some("APPROVED"), Some("EXPIRED"), Some(0)),
        "{expired}"
    );
    let sent = h.sim.backend.books().events_after(0);
    let expiries: Vec<&str> = sent
        .iter()
        .map(|e| e.metadata.event_type.as_str())
        .filter(|t| *t == "payment.transaction.state-change.expired")
        .collect();
    assert_eq!(expiries.len(), 1, "one expiry event on the acquirer's stream");
    let (_, history) = h.get(&format!("/v1/sales/{id}/history")).await;
    let details: Vec<&str> =
        history["history"].as_array().unwrap().iter().filter_map(|e| e["detail"].as_str()).collect();
    assert!(details.iter().any(|d| d.contains("acquirer reports") && d.contains("EXPIRED")), "{details:?}");

    // A capture asked for now is refused by the terminal itself (409: the acquirer said
    // the authorization expired): nothing is sent, queued or captured.
    let (status, refused) = h.post(&format!("/v1/sales/{id}/capture"), json!({})).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("NOTHING_LEFT")), "{refused}");
    assert!(refused["message"].as_str().unwrap_or("").contains("EXPIRED"), "{refused}");
    assert_eq!(h.get("/v1/queue/summary").await.1["summary"]["pending"], 0);
    let captures = h.sim.backend.books().ledger().iter().filter(|e| e.kind == "CAPTURE").count();
    assert_eq!(captures, 0);

    // After the 7-day grace the acquirer closes it (nothing captured), and the sale follows.
    advance_acquirer_clock(&h, 7 * 86_400).await;
    sale_event_with(&mut events, &id, "CLOSED").await;
    let (_, summary) = h.get("/v1/queue/summary").await;
    assert_eq!(summary["summary"]["pending"], 0, "nothing left trying: {summary}");
}

/// A Klarna sale of `amount` SEK, captured at once, approved by the simulated customer.
async fn approved_sale(h: &Harness, amount: i64) -> serde_json::Value {
    let sale = h.create(json!({"amount": amount, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    let (status, answer) = h.customer("approve").await;
    assert_eq!(status, 200, "the simulated customer could not approve: {answer}");
    h.wait_for(&id, |s| s["state"] == "APPROVED").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_payout_is_the_settlement_less_the_schedules_fees_and_their_vat() {
    let h = Harness::start().await;
    // The acquirer's schedule: 1.75 % + 0.25 per sale, 25 % VAT on the fee.
    let schedule = json!({"schedule": {"basis_points": 175, "fixed": 25, "vat_basis_points": 2_500}});
    let r = h.http.post(format!("{}/sim/fees", h.sim.backend_url)).json(&schedule).send().await.unwrap();
    assert!(r.status().is_success());
    let bad = json!({"schedule": {"basis_points": 10_001, "fixed": 0, "vat_basis_points": 0}});
    let r = h.http.post(format!("{}/sim/fees", h.sim.backend_url)).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400, "over 100 % is refused");

    let first = approved_sale(&h, 12_345).await;
    approved_sale(&h, 4_990).await;
    let (status, refund) =
        h.post("/v1/returns", json!({"original_reference": first["reference"], "amount": 1_000})).await;
    assert_eq!((status, refund["state"].as_str()), (201, Some("REFUNDED")), "{refund}");

    // By hand: 1.75 % of 123.45 = 2.160375 → 2.16, + 0.25 = 2.41, VAT 0.6025 → 0.60;
    // 1.75 % of 49.90 = 0.87325 → 0.87, + 0.25 = 1.12, VAT 0.28; the return: no fee.
    let (fees, fee_vat) = (241 + 112, 60 + 28);
    let net = 12_345 + 4_990 - 1_000;
    let payout = net - fees - fee_vat;
    assert_eq!(payout, 15_894);

    let (status, rec) = h.get("/v1/reports/reconciliation").await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["matched"], 3, "fees are no difference: {rec}");
    assert!(rec["differences"].as_array().unwrap().is_empty(), "{rec}");
    let totals = &rec["settlement"][0];
    assert_eq!(
        totals,
        &json!({"currency": "SEK", "sales": 17_335, "returns": 1_000, "net": net, "fees": fees,
                "fee_vat": fee_vat, "chargebacks": 0, "payout": payout}),
        "{rec}"
    );
    let (status, x) = h.get("/v1/reports/x?print=true").await;
    assert_eq!(status, 200, "{x}");
    assert_eq!((&x["settlement"][0], &x["settlement_error"]), (totals, &serde_json::Value::Null), "{x}");
    // The printed report says it too, in the store's language (sv-SE): fees, VAT, payout.
    let report = common::eventually::eventually("the X report on paper", common::eventually::WITHIN, || async {
        h.sim.printer.receipts().into_iter().map(|r| r.text).find(|t| t.contains("Utbetalning"))
    })
    .await;
    for line in ["Inlösarens avräkning SEK", "Avgifter", "Moms på avgifter", "Utbetalning", "158,94\u{a0}kr"] {
        assert!(report.contains(line), "{line:?} is not on the printed report:\n{report}");
    }
}

/// The authorization runs out while the terminal is cut off from the acquirer: a capture
/// asked for meanwhile is queued (the terminal cannot know), refused by the acquirer once
/// it is back, and is a dead letter saying why, sent once, not retried; the sale learns
/// the expiry from the event stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_queued_across_the_expiry_is_a_dead_letter_sent_once() {
    let h = Harness::start().await;
    let sale = h.create(json!({"amount": 12_500, "currency": "SEK", "capture": "LATER"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    assert_eq!(h.customer("approve").await.0, 200);
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["transaction_state"] == "AUTHORIZED").await;
    let mut events = h.events().await;
    set_partition(&h, true).await;
    advance_acquirer_clock(&h, 28 * 86_400 + 60).await;
    let (status, queued) = h.post(&format!("/v1/sales/{id}/capture"), json!({"amount": 100})).await;
    assert_eq!((status, queued["queued_capture_amount"].as_i64()), (202, Some(100)), "{queued}");
    set_partition(&h, false).await;
    let dead = common::eventually::eventually(
        "the queued capture to be a dead letter",
        common::eventually::WITHIN,
        || async {
            h.post("/v1/queue/sync", json!({})).await;
            let (_, page) = h.get("/v1/queue?state=DEAD").await;
            let ops = page["operations"].as_array().cloned().unwrap_or_default();
            ops.into_iter().find(|o| o["kind"] == "CAPTURE" && o["subject_id"] == id.as_str())
        },
    )
    .await;
    let why = dead["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("403") && why.contains("transaction is Expired"), "the dead letter says why: {dead}");
    // Dead is final: the worker, asked to drain again, does not send it once more.
    h.post("/v1/queue/sync", json!({})).await;
    let (_, again) = h.get(&format!("/v1/queue/{}", dead["id"])).await;
    assert_eq!((again["state"].as_str(), &again["attempts"]), (Some("DEAD"), &dead["attempts"]), "{again}");
    sale_event_with(&mut events, &id, "EXPIRED").await;
    let (_, after) = h.get(&format!("/v1/sales/{id}")).await;
    assert_eq!((after["queued_capture_amount"].as_i64(), after["captured_amount"].as_i64()), (Some(0), Some(0)));
    let captures = h.sim.backend.books().ledger().iter().filter(|e| e.kind == "CAPTURE").count();
    assert_eq!(captures, 0);
}
