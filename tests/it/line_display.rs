//! A counter-PC terminal (`firmware-config/counter-pc.toml`): the daemon's real CD5220
//! driver writes to the simulated 2×20 line display over a pseudo-terminal, and the
//! Klarna QR code comes out of the printer on a slip that the simulated customer scans.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::eventually::{Seen, eventually_seen};
use common::Harness;
use serde_json::{Value, json};
use std::time::Duration;

async fn lines(h: &Harness) -> Vec<String> {
    let v: Value =
        h.http.get(format!("{}/sim/line-display", h.sim.backend_url)).send().await.unwrap().json().await.unwrap();
    v["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
}

async fn wait_lines(h: &Harness, want: impl Fn(&[String]) -> bool) -> Vec<String> {
    eventually_seen("the line display to show it", Duration::from_secs(10), || async {
        let l = lines(h).await;
        if want(&l) { Seen::Done(l) } else { Seen::Not(l) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_pc_shows_text_and_prints_the_klarna_qr_code_on_a_slip() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    let profile = posagent::daemon::simulated_line_display_profile(&h.sim).unwrap();
    assert!(!profile.display.is_graphic());
    h.start_daemon_on(profile.clone(), |_| {}).await;

    // Idle: the store and Klarna's acceptance mark from the acquirer.
    let idle = wait_lines(&h, |l| l[1].contains("Klarna")).await;
    assert_eq!(idle[1].trim(), "Betala med Klarna", "{idle:?}");
    // The dashboard's state carries the same two lines.
    let state: Value =
        h.http.get(format!("{}/sim/state", h.sim.backend_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["line_display"][1], idle[1].as_str());

    // A Klarna sale: the amount on the display, the QR code on a slip.
    let sale = h.create(json!({"amount": 12345, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let shown = h.wait_state(&id, "QR_SHOWN").await;
    let url = shown["payment_request_url"].as_str().unwrap().to_string();
    let slips = h.sim.printer.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(slips[0].qr_payloads, vec![url.clone()], "the slip carries the payment request's QR code");
    assert!(
        slips[0].text.contains("123,45\u{a0}kr") && slips[0].text.contains("Betala med Klarna"),
        "{}",
        slips[0].text
    );
    let qr_lines = wait_lines(&h, |l| l[0].contains("123,45")).await;
    assert_eq!(qr_lines[0], "Totalt     123,45\u{a0}kr");
    // "Skanna kvittot" and the countdown m:ss at the right end of the line.
    assert!(qr_lines[1].starts_with("Skanna kvittot"), "{qr_lines:?}");
    let (m, s) = qr_lines[1].split_whitespace().last().unwrap().split_once(':').unwrap();
    assert!(m.parse::<u32>().is_ok() && s.len() == 2 && s.parse::<u32>().is_ok(), "{qr_lines:?}");

    // The customer scans the slip and approves.
    let (status, scanned) = h.customer_from_slip("approve").await;
    assert_eq!(status, 200);
    assert_eq!(scanned["scanned_url"], url.as_str());
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let done = wait_lines(&h, |l| l[1].contains("123,45")).await;
    assert_eq!(done[0].trim(), "Betalningen godkänd");

    // A card sale asks for the card on the display.
    let sale = h.create(json!({"amount": 990, "currency": "SEK", "method": "CARD"})).await;
    let cid = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&cid, "AWAITING_CARD").await;
    let card = wait_lines(&h, |l| l[0].contains("9,90")).await;
    assert_eq!(card[1].trim(), "Visa ditt kort");
    let (_, canceled) = h.post(&format!("/v1/sales/{cid}/cancel"), json!({})).await;
    assert_eq!(canceled["state"], "CANCELED");
    // The Klarna slip and the Klarna receipt came out; no slip for the card sale (the
    // next sale's slip, below, is the third thing printed).
    assert_eq!(h.sim.printer.wait_for(2, Duration::from_secs(5)).await.map(|r| r.len()), Some(2));

    // A restart with the QR code up: the slip is printed again (it may never have come
    // out before the restart), with the same payment request.
    let sale = h.create(json!({"amount": 5000, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let shown = h.wait_state(&id, "QR_SHOWN").await;
    let third = h.sim.printer.wait_for(3, Duration::from_secs(5)).await.unwrap();
    let url = shown["payment_request_url"].as_str().unwrap().to_string();
    assert_eq!(third[2].qr_payloads, vec![url], "the third print is this sale's slip: none came for the card sale");
    h.stop_daemon().await;
    h.start_daemon_on(profile, |_| {}).await;
    let again = h.sim.printer.wait_for(4, Duration::from_secs(5)).await.unwrap();
    assert_eq!(again[3].qr_payloads, vec![shown["payment_request_url"].as_str().unwrap().to_string()]);
    assert_eq!(h.customer_from_slip("approve").await.0, 200);
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_acquirer_is_asked_the_customer_sees_the_amount_not_the_last_sale() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    let profile = posagent::daemon::simulated_line_display_profile(&h.sim).unwrap();
    h.start_daemon_on(profile, |_| {}).await;
    // A first customer pays by card: the display says approved.
    let first = h.create(json!({"amount": 5000, "currency": "SEK", "method": "CARD"})).await;
    h.wait_state(first["id"].as_str().unwrap(), "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    h.wait_state(first["id"].as_str().unwrap(), "APPROVED").await;
    wait_lines(&h, |l| l[0].contains("godkänd")).await;
    // The next customer's Klarna sale waits on a slow acquirer: their amount and
    // "one moment" are on the display meanwhile, not the first customer's approval.
    let r = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&json!({"latency_ms": 1500})).send();
    assert!(r.await.unwrap().status().is_success());
    let next = h.create(json!({"amount": 12345, "currency": "SEK"})).await;
    let shown = wait_lines(&h, |l| l[1].contains("ögonblick")).await;
    assert!(shown[0].contains("123,45"), "{shown:?}");
    let (_, now) = h.get(&format!("/v1/sales/{}", next["id"].as_str().unwrap())).await;
    assert_eq!(now["state"], "CREATED", "still asking the acquirer: {now}");
}
