//! Card payments against the simulated reader written from docs/card-reader-protocol.md
//! alone, playing the protocol's faults: a stray read before any sale, a CARD_READ resent
//! after a lost ACK, a read crossing the cashier's cancel, a cancel followed by a second
//! sale, damaged frames before a good tap, retryable and ending ERRORs, an unplug and
//! replug mid-sale, a reader out of service while idle, a PIN sale. In every one the
//! acquirer's ledger holds an authorization only for the sale whose card was presented,
//! exactly once, and the sale ends as a cashier expects; no PIN block is ever on disk.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use common::eventually::{Seen, WITHIN, eventually, eventually_seen};
use serde_json::{Value, json};
use std::time::Duration;

async fn fault(h: &Harness, body: Value) {
    let r = h.http.post(format!("{}/sim/card-reader/fault", h.sim.backend_url)).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204, "fault {body}: {}", r.text().await.unwrap_or_default());
}

async fn plug(h: &Harness, plugged: bool) {
    let r = h
        .http
        .post(format!("{}/sim/devices/card_reader", h.sim.backend_url))
        .json(&json!({ "plugged": plugged }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
}

/// The value of an unlabelled series in /metrics (0 when absent).
async fn metric(h: &Harness, name: &str) -> f64 {
    let text = metrics_text(h).await;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim_start_matches("{}").trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn metrics_text(h: &Harness) -> String {
    h.metrics().await
}

async fn wait_metric(h: &Harness, name: &str, at_least: f64) {
    eventually_seen(&format!("{name} to reach {at_least}"), WITHIN, || async {
        let v = metric(h, name).await;
        if v >= at_least { Seen::Done(()) } else { Seen::Not(v) }
    })
    .await;
}

async fn card_reader_health(h: &Harness) -> Value {
    let (_, health) = h.get("/health").await;
    health["devices"].as_array().unwrap().iter().find(|d| d["device"] == "card_reader").cloned().unwrap()
}

async fn wait_health(h: &Harness, ok: impl Fn(&Value) -> bool) -> Value {
    eventually_seen("the card reader's health to be as expected", WITHIN, || async {
        let r = card_reader_health(h).await;
        if ok(&r) { Seen::Done(r) } else { Seen::Not(r) }
    })
    .await
}

fn reader_waiting(h: &Harness) -> bool {
    h.sim.card_reader.as_ref().unwrap().state().waiting_for.is_some()
}

async fn wait_reader_waiting(h: &Harness) {
    eventually("the reader to wait for a card", WITHIN, || async { reader_waiting(h).then_some(()) }).await;
}

/// A card sale of `amount` SEK, created and waiting at the reader.
async fn card_sale(h: &Harness, amount: i64) -> (String, String) {
    let s = h.create(json!({"amount": amount, "currency": "SEK", "method": "CARD"})).await;
    let id = s["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    wait_reader_waiting(h).await;
    (id, s["reference"].as_str().unwrap().to_string())
}

/// The references the acquirer booked an authorization for, in order.
async fn authorized(h: &Harness) -> Vec<String> {
    let ledger = h.backend_get("/v1/ledger").await;
    ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "AUTHORIZATION")
        .map(|e| e["reference"].as_str().unwrap().to_string())
        .collect()
}

async fn state_of(h: &Harness, id: &str) -> String {
    h.get(&format!("/v1/sales/{id}")).await.1["state"].as_str().unwrap().to_string()
}

const DISCARDED: &str = "posagent_card_reader_discarded_events_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_reads_and_resent_reads_pay_nothing() {
    let h = Harness::start().await;
    wait_health(&h, |r| r["connected"] == true).await;

    // A read while no sale is open: acknowledged and discarded.
    fault(&h, json!({"kind": "stray_read", "card": "approve"})).await;
    wait_metric(&h, DISCARDED, 1.0).await;
    let (id, reference) = card_sale(&h, 1000).await;
    // A read of another transaction while this sale waits: discarded too.
    fault(&h, json!({"kind": "stray_read", "card": "approve"})).await;
    wait_metric(&h, DISCARDED, 2.0).await;
    assert_eq!(state_of(&h, &id).await, "AWAITING_CARD", "no card was presented for this sale");
    assert!(authorized(&h).await.is_empty());

    // The customer taps; the reader's CARD_READ is resent (its ACK "was lost").
    fault(&h, json!({"kind": "resend_next_read"})).await;
    h.present_card("approve", "tap").await;
    h.wait_state(&id, "APPROVED").await;
    wait_metric(&h, "posagent_card_reader_duplicate_frames_total", 1.0).await;
    // The next sale is not paid by the duplicate: it waits for its own card.
    let (next, next_ref) = card_sale(&h, 2000).await;
    assert_eq!(state_of(&h, &next).await, "AWAITING_CARD");
    h.present_card("decline", "insert").await;
    let d = h.wait_state(&next, "DECLINED").await;
    assert_eq!(d["reason"], "DO_NOT_HONOR", "the second customer's own card decided: {d}");
    assert_eq!(authorized(&h).await, vec![reference], "one authorization, for the sale that was paid");
    let _ = next_ref;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_crossing_the_cancel_and_a_cancel_before_the_next_sale() {
    let h = Harness::start().await;
    wait_health(&h, |r| r["connected"] == true).await;

    // The reader sends its read just as the cashier's cancel arrives.
    let (id, _) = card_sale(&h, 1000).await;
    fault(&h, json!({"kind": "read_then_ignore_cancel"})).await;
    assert_eq!(h.present_card("approve", "tap").await, 204);
    let (status, c) = h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
    assert_eq!((status, c["state"].as_str()), (200, Some("CANCELED")), "{c}");
    wait_metric(&h, DISCARDED, 1.0).await;

    // A plain cancel, then the next card sale: the reader's IDLE for the canceled one
    // does not end it, and it is paid by its own card.
    let (second, _) = card_sale(&h, 1500).await;
    let (status, _) = h.post(&format!("/v1/sales/{second}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    let (third, third_ref) = card_sale(&h, 2500).await;
    assert_eq!(state_of(&h, &third).await, "AWAITING_CARD");
    h.present_card("approve", "tap").await;
    let paid = h.wait_state(&third, "APPROVED").await;
    assert_eq!(paid["amount"], 2500);
    assert_eq!(authorized(&h).await, vec![third_ref], "only the third sale's card was authorized");
    let first = h.get(&format!("/v1/sales/{id}")).await.1;
    assert_eq!(first["reason"], "CASHIER_CANCELED", "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_frames_and_a_retryable_error_then_a_good_tap() {
    let h = Harness::start().await;
    wait_health(&h, |r| r["connected"] == true).await;
    let (id, reference) = card_sale(&h, 1000).await;
    for how in ["bad_len", "truncated", "stray_stx", "bad_crc"] {
        fault(&h, json!({"kind": "damaged_frame", "how": how})).await;
    }
    fault(&h, json!({"kind": "garbage", "bytes": [2, 0, 64]})).await;
    // The card cannot be read: the customer is asked to try again, the sale waits.
    fault(&h, json!({"kind": "error", "code": "CARD_UNREADABLE"})).await;
    wait_metric(&h, "posagent_card_reader_read_retries_total", 1.0).await;
    assert_eq!(state_of(&h, &id).await, "AWAITING_CARD");
    h.present_card("approve", "tap").await;
    h.wait_state(&id, "APPROVED").await;
    assert!(metric(&h, "posagent_card_reader_damaged_frames_total").await >= 1.0);
    assert_eq!(authorized(&h).await, vec![reference]);

    // The customer cancels the PIN entry: the sale ends canceled by the customer.
    let (pin_sale, _) = card_sale(&h, 1200).await;
    fault(&h, json!({"kind": "error", "code": "PIN_CANCELED"})).await;
    let c = h.wait_state(&pin_sale, "CANCELED").await;
    assert_eq!(c["reason"], "CUSTOMER_CANCELED", "{c}");
    assert_eq!(authorized(&h).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_reader_is_waited_for_and_a_faulty_one_shows_in_health() {
    let h = Harness::start().await;
    wait_health(&h, |r| r["connected"] == true).await;
    let (id, reference) = card_sale(&h, 1000).await;
    plug(&h, false).await;
    wait_health(&h, |r| r["connected"] == false).await;
    assert_eq!(state_of(&h, &id).await, "AWAITING_CARD", "the sale waits for the reader");
    plug(&h, true).await;
    wait_health(&h, |r| r["connected"] == true).await;
    wait_reader_waiting(&h).await;
    h.present_card("approve", "insert").await;
    h.wait_state(&id, "APPROVED").await;
    assert_eq!(authorized(&h).await, vec![reference.clone()]);

    // The reader restarts mid-sale (a power glitch; the port stays open): it announces
    // itself with INFO, the payment gets a new transaction, the tap is approved.
    let (rebooted, rebooted_ref) = card_sale(&h, 1300).await;
    fault(&h, json!({"kind": "reboot"})).await;
    wait_reader_waiting(&h).await;
    h.present_card("approve", "tap").await;
    h.wait_state(&rebooted, "APPROVED").await;
    assert_eq!(authorized(&h).await, vec![reference.clone(), rebooted_ref]);

    // Tamper while no sale is open: /health and /metrics say so; repaired, they clear.
    fault(&h, json!({"kind": "error", "code": "TAMPER"})).await;
    let r = wait_health(&h, |r| r["fault"].is_string()).await;
    assert!(r["fault"].as_str().unwrap().contains("TAMPER"), "{r}");
    const OUT_OF_SERVICE: &str = "posagent_device_condition{device=\"card_reader\",condition=\"out_of_service\"}";
    assert_eq!(metric(&h, OUT_OF_SERVICE).await, 1.0);
    assert_eq!(r["conditions"], json!(["out_of_service"]), "{r}");
    fault(&h, json!({"kind": "repair"})).await;
    wait_health(&h, |r| r["fault"].is_null()).await;
    assert!(metrics_text(&h).await.contains(&format!("{OUT_OF_SERVICE} 0\n")), "repaired: the condition clears");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_block_never_reaches_the_journal_or_its_wal() {
    let h = Harness::start().await;
    wait_health(&h, |r| r["connected"] == true).await;
    let (id, reference) = card_sale(&h, 30000).await;
    h.present_card("pin_required", "tap").await;
    h.wait_for(&id, |v| v["state"] == "AWAITING_CARD" && v["pin_required"] == true).await;
    wait_reader_waiting(&h).await;
    assert!(h.sim.card_reader.as_ref().unwrap().state().pin, "the reader was asked for the PIN");
    // Watch the journal and its WAL for the PIN block and the card data from the moment
    // the reader sends them until the sale is over.
    let reader = h.sim.card_reader.clone().unwrap();
    let (db, wal) = (h.data_dir().join("posagent.db"), h.data_dir().join("posagent.db-wal"));
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let still = watching.clone();
    let watcher = std::thread::spawn(move || {
        let mut scans = 0;
        while still.load(std::sync::atomic::Ordering::SeqCst) {
            let s = reader.stats();
            if let (Some(pin), Some(data)) = (s.last_pin_block, s.last_card_data) {
                for file in [&db, &wal] {
                    let bytes = std::fs::read(file).unwrap_or_default();
                    for n in [&pin[..], &data[..16]] {
                        assert!(!bytes.windows(n.len()).any(|w| w == n), "card secret in {}", file.display());
                    }
                }
                scans += 1;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        scans
    });
    h.present_card("pin_required", "insert").await;
    let paid = h.wait_state(&id, "APPROVED").await;
    watching.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(watcher.join().unwrap() > 0, "the files were scanned while the read was in flight");
    assert_eq!(paid["entry_mode"], "CHIP");
    assert_eq!(authorized(&h).await, vec![reference]);
    let stats = h.sim.card_reader.as_ref().unwrap().stats();
    let pin_block = stats.last_pin_block.expect("the reader sent a PIN block");
    let card_data = stats.last_card_data.expect("the reader sent card data");
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let needles: Vec<Vec<u8>> = vec![
        pin_block.to_vec(),
        b64(&pin_block).into_bytes(),
        hex(&pin_block).into_bytes(),
        card_data[..16].to_vec(),
        b64(&card_data).into_bytes(),
    ];
    for file in ["posagent.db", "posagent.db-wal"] {
        let bytes = std::fs::read(h.data_dir().join(file)).unwrap_or_default();
        for n in &needles {
            assert!(!bytes.windows(n.len()).any(|w| w == n.as_slice()), "card secret in {file}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chip_declining_after_the_approval_declines_the_sale_and_reverses_it() {
    let h = Harness::start().await;
    wait_health(&h, |r| r["connected"] == true).await;
    let (id, reference) = card_sale(&h, 4200).await;
    fault(&h, json!({"kind": "chip_declines"})).await;
    h.present_card("approve", "insert").await;
    let d = h.wait_state(&id, "DECLINED").await;
    assert_eq!(d["reason"], "CARD_DECLINED_AFTER_APPROVAL", "{d}");
    assert!(!h.journal_states(&id).contains(&"APPROVED".to_string()), "never APPROVED: the chip decided first");
    let done = h.wait_for(&id, |s| s["reversal"] == "REVERSED").await;
    assert!(done["receipt_printed"] == true || done["receipt_error"].is_null(), "{done}");
    // The authorization went through, and the reversal undid it.
    assert_eq!(authorized(&h).await, vec![reference.clone()]);
    let ledger = h.backend_get("/v1/ledger").await;
    let undone = ledger
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["reference"] == reference.as_str() && (e["kind"] == "VOID" || e["kind"] == "REFUND"));
    assert!(undone, "the authorization was voided or refunded: {ledger}");
}
