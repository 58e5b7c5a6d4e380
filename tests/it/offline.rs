//! Store-and-forward through a network partition: the daemon's real acquirer client,
//! outbox and sync worker against the simulated acquirer with its partition fault.
//! Offline, card payments within the limits are approved by the terminal and queued,
//! Klarna is not offered, captures and returns queue; back online everything is
//! forwarded exactly once (the acquirer's ledger is checked), and an offline payment
//! the acquirer declines becomes a dead letter the register and /metrics see.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use common::eventually::{Seen, eventually, eventually_seen};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

async fn faults(h: &Harness, body: Value) {
    let r = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&body).send().await.unwrap();
    assert!(r.status().is_success());
}

/// A card sale tapped with `card`; returns the sale once it is final.
async fn card_sale(h: &Harness, amount: i64, card: &str, capture: &str) -> Value {
    card_sale_by(h, amount, card, capture, "tap").await
}

/// A card sale with `card` presented `how` (tap, insert, swipe), once it is final.
async fn card_sale_by(h: &Harness, amount: i64, card: &str, capture: &str, how: &str) -> Value {
    let sale = h.create(json!({"amount": amount, "currency": "SEK", "method": "CARD", "capture": capture})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting(card, how).await;
    wait_long(h, &id, |s| {
        let st = s["state"].as_str().unwrap_or("");
        st != "AWAITING_CARD" && st != "AUTHORIZING" && st != "CREATED"
    })
    .await
}

/// A terminal whose acquirer calls give up after 1 s, approving card payments of up to
/// 200.00 offline.
async fn with_short_timeouts() -> Harness {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.acquirer.timeout_ms = 1000;
        c.offline.floor_limit = 20_000;
    })
    .await;
    h
}

/// Like `Harness::wait_for`, with room for the client's timeouts.
async fn wait_long(h: &Harness, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually_seen("the sale to get there", Duration::from_secs(30), || async {
        let (_, sale) = h.get(&format!("/v1/sales/{id}")).await;
        if done(&sale) { Seen::Done(sale) } else { Seen::Not(sale) }
    })
    .await
}

/// Waits until nothing is pending in the queue (within `within`).
async fn drained(h: &Harness, within: Duration) {
    eventually_seen("the queue to drain", within, || async {
        let s = summary(h).await;
        if s["pending"] == 0 { Seen::Done(()) } else { Seen::Not(s) }
    })
    .await;
}

async fn summary(h: &Harness) -> Value {
    let (status, s) = h.get("/v1/queue/summary").await;
    assert_eq!(status, 200, "{s}");
    s["summary"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_queues_then_forwards_everything_exactly_once() {
    let h = with_short_timeouts().await;

    // Online: a LATER card sale, captured later while offline.
    let a = card_sale(&h, 12_000, "approve", "LATER").await;
    assert_eq!((a["state"].as_str(), a["offline"].as_str()), (Some("APPROVED"), None), "{a}");
    let a_id = a["id"].as_str().unwrap().to_string();

    faults(&h, json!({"partition": true})).await;

    // The first card sale offline waits for the client's timeouts, then is approved by
    // the terminal and queued; its receipt says so.
    let b = card_sale(&h, 5_000, "approve", "NOW").await;
    assert_eq!((b["state"].as_str(), b["offline"].as_str()), (Some("APPROVED"), Some("QUEUED")), "{b}");
    assert!(b["payment_transaction_id"].is_null());
    let receipt = h.sim.printer.wait_for(2, Duration::from_secs(10)).await.unwrap();
    assert!(receipt[1].text.contains("OFFLINE"), "{}", receipt[1].text);
    let b_id = b["id"].as_str().unwrap().to_string();
    let b_ref = b["reference"].as_str().unwrap().to_string();

    // Above the floor limit: refused with the reason, at once (known offline).
    let started = std::time::Instant::now();
    let c = card_sale(&h, 25_000, "approve", "NOW").await;
    assert_eq!((c["state"].as_str(), c["reason"].as_str()), (Some("DECLINED"), Some("OFFLINE_FLOOR_LIMIT")), "{c}");
    assert!(started.elapsed() < Duration::from_secs(5), "known offline: no waiting for timeouts");
    // A swiped card is not taken offline (the store's policy, by default).
    let sw = card_sale_by(&h, 1_000, "approve", "NOW", "swipe").await;
    assert_eq!((sw["state"].as_str(), sw["reason"].as_str()), (Some("DECLINED"), Some("OFFLINE_ENTRY_MODE")), "{sw}");

    // Klarna is never offered offline.
    let k = h.create(json!({"amount": 22_222, "currency": "SEK"})).await;
    let k = wait_long(&h, k["id"].as_str().unwrap(), |s| s["state"] == "UNAVAILABLE").await;
    assert_eq!(k["reason"], "OFFLINE");

    // A card the issuer declines is approved offline too (the terminal cannot know).
    let d = card_sale(&h, 3_000, "decline", "NOW").await;
    assert_eq!(d["offline"], "QUEUED", "{d}");
    let d_id = d["id"].as_str().unwrap().to_string();

    // Capture of the online sale and a return of the offline one queue.
    let (status, cap) = h.post(&format!("/v1/sales/{a_id}/capture"), json!({"amount": 12_000})).await;
    assert_eq!((status, cap["queued_capture_amount"].as_i64()), (202, Some(12_000)), "{cap}");
    let (status, again) = h.post(&format!("/v1/sales/{a_id}/capture"), json!({})).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("NOTHING_LEFT")), "queued counts: {again}");
    let (status, ret) = h.post("/v1/returns", json!({"original_reference": b_ref, "amount": 2_000})).await;
    assert_eq!((status, ret["state"].as_str()), (202, Some("PENDING")), "{ret}");
    let ret_id = ret["id"].as_str().unwrap().to_string();
    let (status, over) = h.post("/v1/returns", json!({"original_reference": b_ref, "amount": 3_001})).await;
    assert_eq!((status, over["field"].as_str()), (422, Some("amount")), "never more than paid: {over}");

    let s = summary(&h).await;
    assert_eq!((s["pending"].as_i64(), s["dead"].as_i64()), (Some(4), Some(0)), "{s}");
    // The X report counts what was sold, offline payments and queued captures included.
    let (_, x) = h.get("/v1/reports/x").await;
    assert_eq!(x["offline_pending"], 2, "{x}");
    let card = x["totals"].as_array().unwrap().iter().find(|t| t["method"] == "CARD").unwrap().clone();
    assert_eq!(
        (card["sales_count"].as_i64(), card["sales_amount"].as_i64()),
        (Some(3), Some(12_000 + 5_000 + 3_000)),
        "{x}"
    );
    let (_, pending) = h.get("/v1/queue?state=pending").await;
    let kinds: Vec<&str> =
        pending["operations"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["REFUND", "CAPTURE", "AUTHORIZE", "AUTHORIZE"], "newest first");
    assert!(!pending.to_string().contains("encrypted_payload"), "no card data in the listing");
    let metrics = h.metrics().await;
    assert!(metrics.contains("posagent_queue_depth 4"), "{metrics}");
    assert!(metrics.contains("posagent_acquirer_up 0"), "{metrics}");
    assert!(metrics.contains("posagent_offline_approvals_total 2"), "{metrics}");

    // Back online: sync now drains everything.
    faults(&h, json!({})).await;
    let (status, _) = h.post("/v1/queue/sync", json!({})).await;
    assert_eq!(status, 200);
    drained(&h, Duration::from_secs(30)).await;

    let b = wait_long(&h, &b_id, |s| s["offline"] == "FORWARDED").await;
    assert!(b["payment_transaction_id"].as_str().unwrap().starts_with("krn:"), "{b}");
    assert_eq!(b["captured_amount"], 5_000);
    let a = wait_long(&h, &a_id, |s| s["captured_amount"] == 12_000).await;
    assert_eq!(a["queued_capture_amount"], 0);
    let (_, r) = h.get(&format!("/v1/returns/{ret_id}")).await;
    assert_eq!(r["state"], "REFUNDED", "{r}");
    // Its receipt comes out once the refund is through (the register was told 202).
    eventually_seen("the completed return's receipt to print", Duration::from_secs(5), || async {
        let (_, r) = h.get(&format!("/v1/returns/{ret_id}")).await;
        if r["receipt_printed"] == true { Seen::Done(()) } else { Seen::Not(r) }
    })
    .await;
    let ret_ref = ret["reference"].as_str().unwrap().to_string();
    let printed =
        |h: &Harness| h.sim.printer.receipts().iter().any(|p| p.text.contains("RETUR") && p.text.contains(&ret_ref));
    eventually("a return receipt out of the printer", Duration::from_secs(5), || async { printed(&h).then_some(()) })
        .await;
    let d = wait_long(&h, &d_id, |s| s["offline"] == "DECLINED").await;
    assert!(d["sync_error"].as_str().unwrap().contains("DO_NOT_HONOR"), "{d}");
    let (_, x) = h.get("/v1/reports/x").await;
    let card = x["totals"].as_array().unwrap().iter().find(|t| t["method"] == "CARD").unwrap().clone();
    assert_eq!(
        (x["offline_pending"].as_i64(), card["sales_amount"].as_i64()),
        (Some(0), Some(17_000)),
        "the declined forward is not sold: {x}"
    );

    // The dead letter is listed, counted, and retrying it changes nothing at the acquirer.
    let (_, dead) = h.get("/v1/queue?state=DEAD").await;
    let dead = dead["operations"].as_array().unwrap().clone();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!((dead[0]["kind"].as_str(), dead[0]["subject_id"].as_str()), (Some("AUTHORIZE"), Some(d_id.as_str())));
    let metrics = h.metrics().await;
    assert!(metrics.contains("posagent_queue_dead_letters 1"), "{metrics}");
    assert!(metrics.contains("posagent_acquirer_up 1"), "{metrics}");
    let (status, _) = h.post(&format!("/v1/queue/{}/retry", dead[0]["id"]), json!({})).await;
    assert_eq!(status, 202);
    drained(&h, Duration::from_secs(10)).await;
    assert_eq!(summary(&h).await["dead"], 1, "the acquirer declines it again");
    let (status, not_dead) =
        h.post(&format!("/v1/queue/{}/retry", dead[0]["id"].as_i64().unwrap() + 1000), json!({})).await;
    assert_eq!((status, not_dead["code"].as_str()), (409, Some("NOT_DEAD")));

    // The acquirer's books: each operation once, under the key the terminal stored.
    let ledger = h.backend_get("/v1/ledger").await;
    let ledger = ledger.as_array().unwrap();
    let mut keys: HashMap<&str, usize> = HashMap::new();
    for e in ledger {
        *keys.entry(e["idempotency_key"].as_str().unwrap()).or_default() += 1;
    }
    let booked = |reference: &str, kind: &str| {
        ledger
            .iter()
            .filter(|e| e["reference"] == reference && e["kind"] == kind)
            .map(|e| e["amount"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let a_ref = a["reference"].as_str().unwrap();
    assert_eq!(booked(&b_ref, "AUTHORIZATION"), [5_000]);
    assert_eq!(booked(&b_ref, "CAPTURE"), [5_000]);
    assert_eq!(booked(&b_ref, "REFUND"), [2_000]);
    assert_eq!(booked(a_ref, "AUTHORIZATION"), [12_000]);
    assert_eq!(booked(a_ref, "CAPTURE"), [12_000]);
    assert!(booked(d["reference"].as_str().unwrap(), "AUTHORIZATION").is_empty());
    assert!(booked(c["reference"].as_str().unwrap(), "AUTHORIZATION").is_empty());
    assert!(!ledger.iter().any(|e| e["reference"] == k["reference"]));
    // A capture NOW books authorization and capture under the one key.
    for (key, n) in keys {
        assert!(n <= 2, "{key} booked {n} times");
    }

    // The forwarded card read is not kept in the journal.
    let db = rusqlite::Connection::open(h.data_dir().join("posagent.db")).unwrap();
    let kept: i64 = db
        .query_row("SELECT COUNT(*) FROM outbox WHERE state = 'DONE' AND request IS NOT NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_limits_count_and_total_refuse_with_the_reason() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.acquirer.timeout_ms = 1000;
        c.offline.floor_limit = 5_000;
        c.offline.total_limit = 8_000;
        c.offline.max_count = 2;
    })
    .await;
    faults(&h, json!({"partition": true})).await;
    let first = card_sale(&h, 5_000, "approve", "NOW").await;
    assert_eq!(first["offline"], "QUEUED", "{first}");
    let over_total = card_sale(&h, 3_001, "approve", "NOW").await;
    assert_eq!(over_total["reason"], "OFFLINE_TOTAL_LIMIT", "{over_total}");
    let second = card_sale(&h, 3_000, "approve", "NOW").await;
    assert_eq!(second["offline"], "QUEUED", "{second}");
    let too_many = card_sale(&h, 1, "approve", "NOW").await;
    assert_eq!(too_many["reason"], "OFFLINE_COUNT_LIMIT", "{too_many}");
    // A store that takes no card payments offline refuses at once with its own reason.
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.acquirer.timeout_ms = 1000;
        c.offline.card_payments = false;
    })
    .await;
    let off = card_sale(&h, 100, "approve", "NOW").await;
    assert_eq!(off["reason"], "OFFLINE_NOT_ALLOWED", "{off}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_authorization_of_a_sale_declined_offline_is_reversed() {
    let h = with_short_timeouts().await;

    // The acquirer takes the authorization (and captures it) but its answer is lost, and
    // then the network goes: the terminal cannot learn what became of it, and above the
    // floor limit it cannot approve the sale offline.
    faults(&h, json!({"drop_response_next": 1})).await;
    let sale = h.create(json!({"amount": 25_000, "currency": "SEK", "method": "CARD"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let reference = sale["reference"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    let booked = |ledger: &Value, kind: &str| {
        ledger.as_array().unwrap().iter().filter(|e| e["kind"] == kind && e["reference"] == reference.as_str()).count()
    };
    eventually("the authorization to reach the acquirer", Duration::from_secs(5), || async {
        (booked(&h.backend_get("/v1/ledger").await, "AUTHORIZATION") > 0).then_some(())
    })
    .await;
    faults(&h, json!({"partition": true})).await;
    let sale = wait_long(&h, &id, |s| s["state"] != "AUTHORIZING" && s["state"] != "AWAITING_CARD").await;
    assert_eq!((sale["state"].as_str(), sale["reason"].as_str()), (Some("DECLINED"), Some("OFFLINE_FLOOR_LIMIT")));
    assert_eq!(sale["reversal"], "QUEUED", "{sale}");

    // Back: the reversal goes out and refunds the customer; the register sees it.
    faults(&h, json!({})).await;
    let done = wait_long(&h, &id, |s| s["reversal"] != "QUEUED").await;
    assert_eq!((done["state"].as_str(), done["reversal"].as_str()), (Some("DECLINED"), Some("REVERSED")), "{done}");
    let ledger = h.backend_get("/v1/ledger").await;
    assert_eq!(booked(&ledger, "REFUND"), 1, "{ledger}");
    let tx = h.backend_get(&format!("/v1/payment-transactions?reference={reference}")).await;
    assert_eq!(tx["refunded_amount"], 25_000, "{tx}");

    // A sale declined offline with nothing sent (known offline) needs no reversal.
    faults(&h, json!({"partition": true})).await;
    let first = card_sale(&h, 5_000, "approve", "NOW").await;
    assert_eq!(first["offline"], "QUEUED", "{first}");
    let known = card_sale(&h, 25_000, "approve", "NOW").await;
    assert_eq!((known["state"].as_str(), known["reversal"].as_str()), (Some("DECLINED"), None), "{known}");
    faults(&h, json!({})).await;
}

/// The cashier never waits on a dead network: with a silent acquirer and the default
/// 10 s call timeout, the first card sale is decided within its 8 s budget (approved
/// offline), every later one at once, and Klarna is refused as offline within its 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_acquirer_costs_the_first_sale_8_s_and_later_ones_nothing() {
    let h = Harness::start().await;
    faults(&h, json!({"partition": true})).await;
    let mut took = vec![];
    for _ in 0..2 {
        let sale = h.create(json!({"amount": 1_000, "currency": "SEK", "method": "CARD"})).await;
        let id = sale["id"].as_str().unwrap().to_string();
        h.wait_state(&id, "AWAITING_CARD").await;
        h.present_card_when_waiting("approve", "tap").await;
        let started = std::time::Instant::now();
        let done = wait_long(&h, &id, |s| s["state"] == "APPROVED").await;
        took.push(started.elapsed());
        assert_eq!(done["offline"], "QUEUED", "{done}");
    }
    assert!(took[0] < Duration::from_secs(11), "the first sale decided within its budget: {took:?}");
    assert!(took[1] < Duration::from_secs(3), "a later one at once: {took:?}");
    let started = std::time::Instant::now();
    let k = h.create(json!({"amount": 2_000, "currency": "SEK"})).await;
    let k = wait_long(&h, k["id"].as_str().unwrap(), |s| s["state"] == "UNAVAILABLE").await;
    assert_eq!(k["reason"], "OFFLINE");
    // At most its 3 s availability budget (the terminal may try the acquirer again).
    assert!(started.elapsed() < Duration::from_secs(4), "Klarna refused within its budget: {:?}", started.elapsed());
}

/// With the acquirer unreachable a terminal that approves card payments offline still
/// sells (`degraded`, 200); one that does not can take no sale at all: `down`, 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_down_when_the_acquirer_is_gone_and_nothing_is_sold_offline() {
    let mut h = with_short_timeouts().await;
    faults(&h, json!({"partition": true})).await;
    let health = |h: &Harness| {
        let (http, url) = (h.http.clone(), h.url.clone());
        async move {
            // A call that finds the acquirer unreachable (a sale's availability check)
            // is what tells the daemon; the health answer follows within 0.5 s.
            eventually_seen("the acquirer to show offline", Duration::from_secs(15), || async {
                let r = http.get(format!("{url}/health")).send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                if body["acquirer"]["online"] == false { Seen::Done((status, body)) } else { Seen::Not(body) }
            })
            .await
        }
    };
    let _ = h.create(json!({"amount": 1_000, "currency": "SEK"})).await;
    let (status, body) = health(&h).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("degraded")), "card payments go on offline: {body}");

    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.acquirer.timeout_ms = 1000;
        c.offline.card_payments = false;
    })
    .await;
    let _ = h.create(json!({"amount": 1_000, "currency": "SEK"})).await;
    let (status, body) = health(&h).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("down")), "{body}");
    let acquirer = body["problems"].as_array().unwrap().iter().find(|p| p["part"] == "acquirer").unwrap();
    assert!(acquirer["reason"].as_str().unwrap().contains("offline.card_payments"), "{body}");
}
