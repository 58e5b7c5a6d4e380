//! posagent as a ZVT payment terminal, driven by `posagent-zvt-register`: a register
//! written from the ZVT specification and docs/zvt.md alone (not from posagent's codec),
//! over TCP against the daemon on the simulator. What the register printed is compared
//! with the journal and the acquirer's side of the sale.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use posagent_zvt_register::{Authorization, Behaviour, End, Register, Registration, Reversal, StatusAnswer};

/// SEK, the simulated store's currency (ISO 4217 752).
const SEK: u16 = 752;
const KLARNA: u16 = 254;

pub(crate) async fn registered(h: &Harness) -> Register {
    let addr = h.daemon.as_ref().unwrap().zvt_addrs[0];
    let mut register = Register::connect_tcp(addr).await.unwrap();
    let registration = Registration { currency: Some(SEK), ..Registration::new(0) };
    let out = register.register(&registration).await;
    assert_eq!(out.end, End::Completed, "{:?}", out.transcript);
    assert!(out.transcript.violations().is_empty(), "{:?}", out.transcript.violations());
    register
}

fn klarna(amount: u64) -> Authorization {
    Authorization { card_type: Some(KLARNA), currency: Some(SEK), ..Authorization::new(amount) }
}

fn zvt_rows(h: &Harness) -> Vec<(i64, String, String)> {
    let db = rusqlite::Connection::open(h.data_dir().join("posagent.db")).unwrap();
    let mut st = db.prepare("SELECT receipt_no, kind, state FROM zvt_transactions ORDER BY id").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect()
}

/// What the acquirer booked for sale `id` (kind and amount), in order.
async fn ledger(h: &Harness, id: &str) -> Vec<(String, i64)> {
    let reference = h.get(&format!("/v1/sales/{id}")).await.1["reference"].as_str().unwrap().to_string();
    let ledger = h.backend_get("/v1/ledger").await;
    let entries = ledger.as_array().unwrap().iter().filter(|e| e["reference"] == reference.as_str());
    entries.map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount"].as_i64().unwrap_or(0))).collect()
}

/// Waits for the intermediate status of the QR code (04 FF FF with its text).
async fn qr_status(payment: &mut posagent_zvt_register::Exchange<'_>) {
    loop {
        let status = payment.next_intermediate().await.expect("an intermediate status while the QR code is up");
        if status.status == 0xFF {
            return;
        }
    }
}

/// The latest sale's id, from the journal.
fn latest_sale(h: &Harness) -> String {
    let db = rusqlite::Connection::open(h.data_dir().join("posagent.db")).unwrap();
    db.query_row("SELECT id FROM sales ORDER BY created_at DESC LIMIT 1", [], |r| r.get(0)).unwrap()
}

/// Waits until the terminal asks for the card (04 FF 0A): a register reads the line
/// while it waits, and on RS-232 nothing goes on until it acknowledges.
async fn insert_card_status(payment: &mut posagent_zvt_register::Exchange<'_>) {
    loop {
        let status = payment.next_intermediate().await.expect("an intermediate status while the reader waits");
        if status.status == 0x0A {
            return;
        }
    }
}

/// A Klarna payment the register pays through: the QR code up, the simulated customer
/// approves, the register gets the result and its receipts; the sale is captured.
pub(crate) async fn pay_with_klarna(
    h: &Harness,
    register: &mut Register,
    amount: u64,
) -> posagent_zvt_register::Outcome {
    let mut payment = register.start_payment(&klarna(amount)).await;
    qr_status(&mut payment).await;
    h.read_display_qr().await;
    let (status, body) = h.customer("approve").await;
    assert_eq!(status, 200, "{body}");
    payment.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_klarna_payment_over_zvt_is_the_sale_the_register_printed() {
    let h = Harness::start().await;
    let mut register = registered(&h).await;
    let out = pay_with_klarna(&h, &mut register, 1234).await;
    assert_eq!(out.end, End::Completed, "{:?}", out.transcript);
    assert!(out.transcript.violations().is_empty(), "{:?}", out.transcript.violations());
    let status = out.last_status().unwrap();
    assert_eq!((status.result_code, status.amount, status.receipt_no), (Some(0), Some(1234), Some(1)));
    assert_eq!(status.zvt_card_type(), Some(u32::from(KLARNA)));
    assert_eq!(status.card_name.as_deref(), Some("Klarna"));
    let text = status.additional_text.clone().unwrap();
    assert!(text.starts_with("Klarna "), "{text}");
    // Two receipts (the store's and the customer's), with the Klarna reference on them.
    assert_eq!(out.receipts.len(), 2, "{:?}", out.receipts);
    let reference = text.trim_start_matches("Klarna ").to_string();
    assert!(out.receipts.iter().all(|r| r.complete && r.lines.iter().any(|l| l.contains(&reference))));
    // The journal: committed, and the sale captured in full at the acquirer.
    assert_eq!(zvt_rows(&h), vec![(1, "PAYMENT".into(), "COMMITTED".into())]);
    let id = latest_sale(&h);
    let sale = h.wait_for(&id, |s| s["captured_amount"] == 1234).await;
    assert_eq!(sale["klarna_reference"].as_str(), Some(reference.as_str()));
    assert_eq!(ledger(&h, &id).await, vec![("AUTHORIZATION".into(), 1234), ("CAPTURE".into(), 1234)]);
    // The terminal printed nothing: the register prints.
    assert_eq!(h.sim.printer.receipts().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_that_never_takes_the_result_has_the_payment_reversed_once() {
    let h = Harness::start().await;
    let mut register = registered(&h).await;
    register.behaviour = Behaviour { status_answer: StatusAnswer::Silent, ..Behaviour::default() };
    let mut payment = register.start_payment(&Authorization { timeout_secs: Some(1), ..klarna(500) }).await;
    qr_status(&mut payment).await;
    h.read_display_qr().await;
    h.customer("approve").await;
    let out = payment.finish().await;
    assert_eq!(out.result_code, Some(0x6C), "{:?}", out.transcript);
    // The result, then the same payment reported reversed (27 6C) [P15 §2.2.6].
    let results: Vec<_> = out.status.iter().map(|s| (s.result_code, s.receipt_no)).collect();
    assert_eq!(results, [(Some(0), Some(1)), (Some(0x6C), Some(1))]);
    assert_eq!(zvt_rows(&h), vec![(1, "PAYMENT".into(), "REVERSED".into())]);
    let id = latest_sale(&h);
    let sale = h.wait_for(&id, |s| s["voided"] == true).await;
    assert_eq!(sale["captured_amount"], 0);
    assert_eq!(ledger(&h, &id).await.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["AUTHORIZATION", "VOID"]);
    // A reversal by its receipt number now finds it reversed already.
    register.behaviour = Behaviour::default();
    let again = register.reverse(Reversal { receipt_no: 1, ..Reversal::default() }).await;
    assert_eq!(again.end, End::Aborted(0xB4), "{:?}", again.transcript);
    // A register resynchronising with a repeat receipt hears it reversed, not approved.
    let repeat = register.repeat_receipt().await;
    assert_eq!(repeat.last_status().unwrap().result_code, Some(0x6C), "{:?}", repeat.transcript);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_during_the_qr_code_cancels_the_sale() {
    let h = Harness::start().await;
    let mut register = registered(&h).await;
    let mut payment = register.start_payment(&klarna(700)).await;
    qr_status(&mut payment).await;
    payment.abort().await.unwrap();
    let out = payment.finish().await;
    eprintln!("DUMP\n{}", out.transcript.dump());
    assert_eq!(out.end, End::Aborted(0x6C), "{:?}", out.transcript);
    assert_eq!(h.get(&format!("/v1/sales/{}", latest_sale(&h))).await.1["state"], "CANCELED");
    assert_eq!(zvt_rows(&h), vec![(1, "PAYMENT".into(), "FAILED".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_of_a_register_day_over_tcp() {
    let h = Harness::start().await;
    let mut register = registered(&h).await;
    every_flow(&h, &mut register).await;
}

/// A register's day, each result checked against the journal and the acquirer's ledger:
/// Klarna and card payments, a declined card, an abort during the QR code, a reversal by
/// receipt number, a refund by reference, a refund refused for lack of one, a repeat
/// receipt and the end of day (run over TCP here and over RS-232 by zvt_serial.rs).
pub(crate) async fn every_flow(h: &Harness, register: &mut Register) {
    // R0001: Klarna 10,00.
    assert_eq!(pay_with_klarna(h, register, 1000).await.end, End::Completed);
    let klarna_first = latest_sale(h);
    // R0002: Visa 42,00.
    let card = Authorization { card_type: Some(10), currency: Some(SEK), ..Authorization::new(4200) };
    let mut payment = register.start_payment(&card).await;
    insert_card_status(&mut payment).await;
    h.present_card_when_waiting("approve", "tap").await;
    let paid = payment.finish().await;
    assert_eq!(paid.end, End::Completed, "{}", paid.transcript.dump());
    assert_eq!(paid.last_status().unwrap().receipt_no, Some(2));
    // R0003: a declined card.
    let mut payment = register.start_payment(&card).await;
    insert_card_status(&mut payment).await;
    h.present_card_when_waiting("decline", "insert").await;
    assert_eq!(payment.finish().await.end, End::Aborted(0x05));
    // R0004: aborted by the cashier while the QR code is up.
    let mut payment = register.start_payment(&klarna(700)).await;
    qr_status(&mut payment).await;
    payment.abort().await.unwrap();
    assert_eq!(payment.finish().await.end, End::Aborted(0x6C));
    // R0005: Klarna 25,00.
    assert_eq!(pay_with_klarna(h, register, 2500).await.end, End::Completed);
    let klarna_second = latest_sale(h);
    // R0006: reversal of R0001 — captured, so refunded in full.
    let reversed = register.reverse(Reversal { receipt_no: 1, amount: Some(1000), ..Reversal::default() }).await;
    assert_eq!(reversed.end, End::Completed, "{}", reversed.transcript.dump());
    assert_eq!(reversed.last_status().unwrap().original_trace, Some(1));
    // R0007: a refund of 5,00 of R0005, named by its receipt number in BMP 3C.
    let refund = posagent_zvt_register::Refund {
        amount: Some(500),
        currency: Some(SEK),
        reference: Some("R0005".into()),
        ..Default::default()
    };
    let refunded = register.refund(refund).await;
    assert_eq!(refunded.end, End::Completed, "{}", refunded.transcript.dump());
    // Without a reference posagent refunds nothing.
    let blind = register.refund(posagent_zvt_register::Refund { amount: Some(500), ..Default::default() }).await;
    assert_eq!(blind.end, End::Aborted(0x83));
    let repeat = register.repeat_receipt().await;
    assert_eq!(repeat.end, End::Completed);
    assert_eq!(repeat.last_status().unwrap().receipt_no, Some(7));
    // The acquirer booked what the register printed.
    let kinds = |entries: Vec<(String, i64)>| entries.into_iter().collect::<Vec<_>>();
    assert_eq!(
        kinds(ledger(h, &klarna_first).await),
        [("AUTHORIZATION".into(), 1000), ("CAPTURE".into(), 1000), ("REFUND".into(), 1000)]
    );
    assert_eq!(
        kinds(ledger(h, &klarna_second).await),
        [("AUTHORIZATION".into(), 2500), ("CAPTURE".into(), 2500), ("REFUND".into(), 500)]
    );
    let eod = register.end_of_day().await;
    assert_eq!(eod.end, End::Completed, "{}", eod.transcript.dump());
    // Visa 42,00; Klarna under "others": both payments of the day (as the acquirer booked
    // them), less the reversal of the first and the refund of the second: 20,00.
    assert_eq!(eod.last_status().unwrap().amount, Some(6200));
    let admin = &eod.receipts[..];
    let line = |r: &posagent_zvt_register::Receipt, start: &str, end: &str| {
        r.lines.iter().any(|l| l.starts_with(start) && l.ends_with(end))
    };
    assert!(
        matches!(admin, [r] if r.receipt_type == Some(3) && line(r, "Klarna/others (2)", "20,00 kr") && line(r, "VISA (1)", "42,00 kr")),
        "{admin:?}"
    );
    // The next day starts from nothing.
    let next = register.end_of_day().await;
    assert_eq!(next.last_status().unwrap().amount, Some(0));
    let states: Vec<String> = zvt_rows(h).into_iter().map(|r| r.2).collect();
    assert_eq!(states, ["REVERSED", "COMMITTED", "FAILED", "FAILED", "COMMITTED", "COMMITTED", "COMMITTED"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_and_a_declined_card_over_zvt() {
    let h = Harness::start().await;
    let mut register = registered(&h).await;
    // Visa preselected (card type 10): the card reader takes it.
    let card = Authorization { card_type: Some(10), currency: Some(SEK), ..Authorization::new(4200) };
    let payment = register.start_payment(&card).await;
    h.present_card_when_waiting("approve", "tap").await;
    let out = payment.finish().await;
    assert_eq!(out.end, End::Completed, "{:?}", out.transcript);
    assert!(out.transcript.violations().is_empty(), "{:?}", out.transcript.violations());
    let status = out.last_status().unwrap();
    assert_eq!((status.result_code, status.amount), (Some(0), Some(4200)));
    // The masked PAN: first 6 and last 4 digits, the rest masked (nibble E).
    let pan = status.pan.clone().expect("a masked PAN");
    assert_eq!(pan, "411111******1111");
    assert_eq!(status.zvt_card_type(), Some(10), "Visa, by its AID");
    assert_eq!(status.card_name.as_deref(), Some("VISA CREDIT"));
    let sale = h.wait_for(&latest_sale(&h), |s| s["captured_amount"] == 4200).await;
    assert_eq!(sale["method"], "CARD");
    assert_eq!(status.aid.as_deref(), sale["authorization_code"].as_str(), "the issuer's approval code in 3B");
    // A declined card: the result code, a receipt saying so, then 06 1E.
    let payment = register.start_payment(&card).await;
    h.present_card_when_waiting("decline", "insert").await;
    let out = payment.finish().await;
    assert_eq!(out.end, End::Aborted(0x05), "{:?}", out.transcript);
    assert_eq!(out.last_status().unwrap().result_code, Some(0x05));
    assert_eq!(out.receipts.len(), 1, "the decline receipt");
    let rows = zvt_rows(&h);
    assert_eq!(rows, vec![(1, "PAYMENT".into(), "COMMITTED".into()), (2, "PAYMENT".into(), "FAILED".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_left_untaken_by_a_stop_is_reversed_once_at_the_next_start() {
    let mut h = Harness::start().await;
    let mut register = registered(&h).await;
    register.behaviour = Behaviour { status_answer: StatusAnswer::Silent, ..Behaviour::default() };
    let mut payment = register.start_payment(&klarna(800)).await;
    qr_status(&mut payment).await;
    h.read_display_qr().await;
    h.customer("approve").await;
    // The result is out (journaled first), the register silent: the daemon stops.
    loop {
        match payment.next_event().await {
            Some(posagent_zvt_register::Event::Message(posagent_zvt_register::message::PtMessage::Status(_))) => break,
            Some(posagent_zvt_register::Event::End(end)) => panic!("ended before the result: {end:?}"),
            Some(_) => {}
            None => panic!("no result"),
        }
    }
    let id = latest_sale(&h);
    assert_eq!(zvt_rows(&h), vec![(1, "PAYMENT".into(), "PENDING".into())]);
    h.stop_daemon().await;
    drop(payment);
    h.start_daemon().await;
    let sale = h.wait_for(&id, |s| s["voided"] == true).await;
    assert_eq!(sale["captured_amount"], 0);
    common::eventually::eventually("the reversal journaled", std::time::Duration::from_secs(5), || async {
        (zvt_rows(&h) == vec![(1, "PAYMENT".to_string(), "REVERSED".to_string())]).then_some(())
    })
    .await;
    // Once: a third start voids nothing more.
    h.stop_daemon().await;
    h.start_daemon().await;
    let kinds: Vec<String> = ledger(&h, &id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(kinds, ["AUTHORIZATION", "VOID"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_go_as_print_lines_or_stay_on_the_terminal_as_the_registration_says() {
    let h = Harness::start().await;
    let addr = h.daemon.as_ref().unwrap().zvt_addrs[0];
    let mut register = Register::connect_tcp(addr).await.unwrap();
    // A register that takes Print Line (06 D1) only.
    let lines_only =
        Registration { currency: Some(SEK), accepted_commands: vec![[0x06, 0xD1]], ..Registration::new(0) };
    assert_eq!(register.register(&lines_only).await.end, End::Completed);
    let out = pay_with_klarna(&h, &mut register, 300).await;
    assert_eq!(out.end, End::Completed, "{:?}", out.transcript);
    assert_eq!(out.receipts.len(), 2);
    assert!(out.receipts.iter().all(|r| r.receipt_type.is_none() && r.complete), "06 D1 lines: {:?}", out.receipts);
    // A register that prints nothing (config byte 08: intermediate status only): the
    // terminal prints the receipt.
    let prints_nothing = Registration { currency: Some(SEK), config_byte: 0x08, ..Registration::new(0) };
    assert_eq!(register.register(&prints_nothing).await.end, End::Completed);
    let out = pay_with_klarna(&h, &mut register, 400).await;
    assert_eq!(out.end, End::Completed, "{:?}", out.transcript);
    assert!(out.receipts.is_empty());
    let printed = h.sim.printer.wait_for(1, std::time::Duration::from_secs(5)).await.expect("the terminal's receipt");
    assert_eq!(printed.len(), 1, "only the second sale's receipt is printed on the terminal");
    assert!(!printed[0].text.contains("Reserverat"), "a paid receipt, not an authorization: {}", printed[0].text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_mirroring_the_receipt_before_the_last_has_the_last_payment_reversed() {
    let h = Harness::start().await;
    let mut register = registered(&h).await;
    assert_eq!(pay_with_klarna(&h, &mut register, 1100).await.end, End::Completed);
    let first = latest_sale(&h);
    assert_eq!(pay_with_klarna(&h, &mut register, 2200).await.end, End::Completed);
    let second = latest_sale(&h);
    h.wait_for(&second, |s| s["captured_amount"] == 2200).await;
    // The register lost the second result: it mirrors receipt 0001 (TLV 1F1F, binary)
    // with its next payment [P15 §4.2]. The second payment is given back; the first stays.
    let mirrored = posagent_zvt_register::tlv::Tlv::primitive(0x1F1F, vec![0x00, 0x01]);
    let mut payment = register.start_payment(&Authorization { tlv: vec![mirrored], ..klarna(3300) }).await;
    qr_status(&mut payment).await;
    h.read_display_qr().await;
    h.customer("approve").await;
    assert_eq!(payment.finish().await.end, End::Completed);
    let kinds = |entries: Vec<(String, i64)>| entries.into_iter().map(|e| e.0).collect::<Vec<_>>();
    common::eventually::eventually("the second payment refunded", std::time::Duration::from_secs(5), || async {
        (kinds(ledger(&h, &second).await) == ["AUTHORIZATION", "CAPTURE", "REFUND"]).then_some(())
    })
    .await;
    assert_eq!(kinds(ledger(&h, &first).await), ["AUTHORIZATION", "CAPTURE"]);
    let states: Vec<String> = zvt_rows(&h).into_iter().map(|r| r.2).collect();
    assert_eq!(states, ["COMMITTED", "REVERSED", "COMMITTED"]);
}
