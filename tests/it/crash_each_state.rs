//! A crash at each state of a sale, then a restart: the daemon process is killed with
//! SIGKILL while the sale is journaled in that state, started again, and the sale goes
//! on from there to APPROVED with its receipt — authorized exactly once at the acquirer,
//! never a second payment for one sale. Transient states are held open with acquirer
//! latency (each call of the Terminal API answers 800 ms late, within the client's 1 s).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::process::{Daemon, Setup, ledger, set_faults, setup, start_daemon, tap};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// How the sale is set up to be caught in its state.
#[derive(Clone, Copy, Debug)]
enum Hold {
    /// Acquirer latency while the sale enters the state.
    Latency,
    /// Nothing: the state waits for the customer.
    Waits,
}

async fn wait_state(d: &Daemon, s: &Setup, id: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, sale) = d.call(s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
        if sale["state"] == state {
            return sale;
        }
        assert!(tokio::time::Instant::now() < deadline, "the sale never reached {state}: {sale}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn journaled_state(s: &Setup, reference: &str) -> String {
    let db = rusqlite::Connection::open(s.data.join("posagent.db")).unwrap();
    db.query_row("SELECT state FROM sales WHERE reference = ?1", [reference], |r| r.get(0)).unwrap()
}

async fn ledger_authorizations(s: &Setup, reference: &str) -> usize {
    ledger(s).await.iter().filter(|e| e["reference"] == reference && e["kind"] == "AUTHORIZATION").count()
}

async fn customer(s: &Setup, action: &str) {
    let r = s.http.post(format!("{}/sim/customer", s.sim.backend_url)).json(&json!({"action": action})).send().await;
    assert_eq!(r.unwrap().status(), 200, "the customer could not {action}");
}

async fn paper(s: &Setup, out: bool) {
    s.http.post(format!("{}/sim/printer/paper", s.sim.backend_url)).json(&json!({"out": out})).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_in_each_state_then_a_restart_finishes_the_sale_once() {
    let s = setup().await;
    let cases: [(&str, &str, Hold); 9] = [
        ("CREATED", "KLARNA", Hold::Latency),
        ("AVAILABILITY_CHECKED", "KLARNA", Hold::Latency),
        ("AWAITING_METHOD", "CHOICE", Hold::Waits),
        ("QR_SHOWN", "KLARNA", Hold::Waits),
        ("CUSTOMER_IN_PROGRESS", "KLARNA", Hold::Waits),
        ("CUSTOMER_COMPLETED", "KLARNA", Hold::Latency),
        ("AWAITING_CARD", "CARD", Hold::Waits),
        ("AUTHORIZING", "CARD", Hold::Latency),
        ("APPROVED", "CARD", Hold::Waits),
    ];
    for (i, (state, method, hold)) in cases.into_iter().enumerate() {
        let reference = format!("CRASH-{i}-{state}");
        let d = start_daemon(&s);
        let latency = |on: bool| json!({"latency_ms": if on { 800 } else { 0 }});
        // Bring the sale to the state.
        if matches!(state, "CREATED" | "AVAILABILITY_CHECKED") {
            set_faults(&s, latency(true)).await;
        }
        if state == "APPROVED" {
            paper(&s, false).await;
            paper(&s, true).await; // the receipt will be held
        }
        let (status, sale) = d
            .call(
                &s,
                Method::POST,
                "/v1/sales",
                json!({"amount": 12_300 + i as i64, "currency": "SEK", "method": method, "reference": reference}),
            )
            .await;
        assert_eq!(status, 201, "{sale}");
        let id = sale["id"].as_str().unwrap().to_string();
        match state {
            "CUSTOMER_IN_PROGRESS" => {
                wait_state(&d, &s, &id, "QR_SHOWN").await;
                customer(&s, "scan").await;
            }
            "CUSTOMER_COMPLETED" => {
                wait_state(&d, &s, &id, "QR_SHOWN").await;
                set_faults(&s, latency(true)).await;
                customer(&s, "approve").await;
            }
            "AUTHORIZING" => {
                wait_state(&d, &s, &id, "AWAITING_CARD").await;
                set_faults(&s, latency(true)).await;
                tap(&s).await;
            }
            "APPROVED" => {
                wait_state(&d, &s, &id, "AWAITING_CARD").await;
                tap(&s).await;
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                loop {
                    let (_, v) = d.call(&s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
                    if v["state"] == "APPROVED" && !v["receipt_error"].is_null() {
                        break;
                    }
                    assert!(tokio::time::Instant::now() < deadline, "receipt never held: {v}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            _ => {}
        }
        if state != "APPROVED" {
            wait_state(&d, &s, &id, state).await;
        }
        d.crash();
        assert_eq!(
            journaled_state(&s, &reference),
            state,
            "{state}: the journal holds the state it crashed in ({hold:?})"
        );

        // Restart with the faults gone and finish the sale.
        set_faults(&s, latency(false)).await;
        paper(&s, false).await;
        let d = start_daemon(&s);
        match state {
            "CREATED" | "AVAILABILITY_CHECKED" | "QR_SHOWN" => {
                wait_state(&d, &s, &id, "QR_SHOWN").await;
                customer(&s, "approve").await;
            }
            "CUSTOMER_IN_PROGRESS" => {
                // The customer, already in Klarna's journey on the phone, approves there.
                let v = wait_state(&d, &s, &id, "CUSTOMER_IN_PROGRESS").await;
                let url = v["payment_request_url"].as_str().unwrap();
                let r = s.http.post(format!("{url}/approve")).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
            }
            "AWAITING_METHOD" => {
                let (st, v) =
                    d.call(&s, Method::POST, &format!("/v1/sales/{id}/method"), json!({"method": "KLARNA"})).await;
                assert_eq!(st, 200, "{v}");
                wait_state(&d, &s, &id, "QR_SHOWN").await;
                customer(&s, "approve").await;
            }
            "AWAITING_CARD" => tap(&s).await,
            "AUTHORIZING" => {
                // Either the acquirer has it (read by reference) or the card is asked again.
                for _ in 0..300 {
                    let (_, v) = d.call(&s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
                    if v["state"] == "APPROVED" {
                        break;
                    }
                    if v["state"] == "AWAITING_CARD" {
                        tap(&s).await;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            _ => {}
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let done = loop {
            let (_, v) = d.call(&s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
            if v["state"] == "APPROVED" && v["receipt_printed"] == true {
                break v;
            }
            assert!(tokio::time::Instant::now() < deadline, "{state}: the sale did not finish after the restart: {v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(done["offline"].is_null(), "{state}: approved online: {done}");
        assert_eq!(ledger_authorizations(&s, &reference).await, 1, "{state}: authorized exactly once");
        d.crash();
    }
    // Every receipt came out once: nine sales, nine receipts.
    let receipts = s.sim.printer.wait_for(9, Duration::from_secs(5)).await.map(|r| r.len());
    assert_eq!(receipts, Some(9));
    // No receipt twice: a daemon started now resumes nothing, and the X report it prints
    // is the tenth paper out of the printer.
    let d = start_daemon(&s);
    let (status, _) = d.call(&s, Method::GET, "/v1/reports/x?print=true", Value::Null).await;
    assert_eq!(status, 200);
    let receipts = s.sim.printer.wait_for(10, Duration::from_secs(10)).await.unwrap_or_default();
    assert_eq!(receipts.len(), 10, "no receipt twice");
    assert!(receipts[9].text.contains("X-RAPPORT"), "the tenth is the report: {}", receipts[9].text);
    d.crash();
}

/// A card sale brought to AUTHORIZING with `fault` on the acquirer when the card is
/// tapped; the daemon and the sale id.
async fn card_sale_authorizing(s: &Setup, reference: &str, amount: i64, fault: Value) -> (Daemon, String) {
    let d = start_daemon(s);
    let body = json!({"amount": amount, "currency": "SEK", "method": "CARD", "reference": reference});
    let (status, sale) = d.call(s, Method::POST, "/v1/sales", body).await;
    assert_eq!(status, 201, "{sale}");
    let id = sale["id"].as_str().unwrap().to_string();
    wait_state(&d, s, &id, "AWAITING_CARD").await;
    set_faults(s, fault).await;
    tap(s).await;
    wait_state(&d, s, &id, "AUTHORIZING").await;
    (d, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_restarted_in_authorizing_while_offline_can_be_canceled_and_is_reversed() {
    let s = setup().await;
    let reference = "CRASH-AUTH-OFFLINE";
    let (d, id) = card_sale_authorizing(&s, reference, 4_321, json!({"latency_ms": 800})).await;
    d.crash();

    // Back up with the acquirer unreachable: nobody can tell whether the card was
    // charged. The cashier cancels (the customer pays cash); the terminal is free again.
    set_faults(&s, json!({"partition": true})).await;
    let d = start_daemon(&s);
    wait_state(&d, &s, &id, "AUTHORIZING").await;
    let (status, v) = d.call(&s, Method::POST, &format!("/v1/sales/{id}/cancel"), json!({})).await;
    assert_eq!((status, v["state"].as_str(), v["reason"].as_str()), (200, Some("CANCELED"), Some("CASHIER_CANCELED")));
    assert_eq!(v["reversal"], "QUEUED", "{v}");
    let (status, next) =
        d.call(&s, Method::POST, "/v1/sales", json!({"amount": 100, "currency": "SEK", "method": "CARD"})).await;
    assert_eq!(status, 201, "the terminal takes the next sale: {next}");
    let next_id = next["id"].as_str().unwrap().to_string();
    wait_state(&d, &s, &next_id, "AWAITING_CARD").await;
    let (status, _) = d.call(&s, Method::POST, &format!("/v1/sales/{next_id}/cancel"), json!({})).await;
    assert_eq!(status, 200);

    // The acquirer answers again: the reversal goes out. Whatever reached the acquirer
    // before the crash is undone; if nothing did, nothing will be accepted under it.
    set_faults(&s, json!({})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (_, v) = d.call(&s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
        if v["reversal"] != "QUEUED" {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "the reversal never went out: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let entries = ledger(&s).await;
    let booked = |kind: &str| entries.iter().filter(|e| e["reference"] == reference && e["kind"] == kind).count();
    match done["reversal"].as_str() {
        Some("REVERSED") => assert_eq!((booked("AUTHORIZATION"), booked("REFUND")), (1, 1), "{entries:?}"),
        Some("NOTHING_FOUND") => assert_eq!(booked("AUTHORIZATION"), 0, "{entries:?}"),
        other => panic!("reversal {other:?}: {done}"),
    }
    assert_eq!(done["state"], "CANCELED");
    d.crash();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_restarted_in_authorizing_after_a_late_commit_is_approved_once() {
    let s = setup().await;
    let reference = "CRASH-AUTH-LATE";
    // The acquirer books the authorization, but its answer never comes back.
    let (d, id) = card_sale_authorizing(&s, reference, 5_432, json!({"drop_response_next": 1})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ledger_authorizations(&s, reference).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the acquirer never booked the authorization");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    d.crash();

    // At the restart the sale reads its authorization by reference instead of asking
    // the card again under its used key: approved, the customer charged once, no
    // conflict, nothing to reverse.
    set_faults(&s, json!({})).await;
    let d = start_daemon(&s);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (_, v) = d.call(&s, Method::GET, &format!("/v1/sales/{id}"), Value::Null).await;
        if v["state"] != "AUTHORIZING" && v["state"] != "AWAITING_CARD" {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "the sale never left AUTHORIZING: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["state"], "APPROVED", "{done}");
    assert!(done["reversal"].is_null(), "{done}");
    assert_eq!(ledger_authorizations(&s, reference).await, 1);
    d.crash();
}
