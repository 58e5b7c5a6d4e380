//! Whole exchanges over TCP against a scripted PT, with the register's faults.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Step, apdu, expect, hex, scripted_pt, send};
use posagent_zvt_register::message::PtMessage;
use posagent_zvt_register::{Authorization, Behaviour, End, ReceiptAnswer, Register, StatusAnswer, Timer};

/// A Klarna-like 04 0F in the table order of P15 §3.1.1 (docs/zvt.md's fields).
fn klarna_status(rc: u8) -> Vec<u8> {
    let mut data = vec![0x27, rc, 0x04, 0, 0, 0, 0, 0x12, 0x34, 0x0B, 0x00, 0x00, 0x42, 0x0C, 0x12, 0x30, 0x05];
    data.extend([0x0D, 0x07, 0x14, 0x19, 0x60, 0x29, 0x12, 0x34, 0x56, 0x78, 0x49, 0x09, 0x78, 0x87, 0x00, 0x42]);
    data.extend([0x8A, 0xFE, 0x3C, 0xF0, 0xF1, 0xF0]);
    data.extend(b"Klarna K42");
    data.extend([0x8B, 0xF0, 0xF7]);
    data.extend(b"Klarna\0");
    data.extend([0x06, 0x04, 0x1F, 0x1F, 0x01, 0x42]);
    apdu(0x04, 0x0F, &data)
}

fn payment() -> Authorization {
    Authorization { card_type: Some(254), ..Authorization::new(1234) }
}

fn payment_bytes() -> Vec<u8> {
    payment().encode().encode()
}

const ACK: &str = "80 00 00";

#[tokio::test]
async fn a_klarna_payment_runs_to_its_completion_with_receipts() {
    let status = klarna_status(0x00);
    let mut text = vec![0x24, 0x0C, 0x07, 0x0A];
    text.extend(b"Scan the Q");
    let mut intermediate = vec![0xFF, 0x03, 0x06, text.len() as u8];
    intermediate.extend(&text);
    let script = vec![
        Step::Expect(payment_bytes()),
        send(ACK),
        Step::Send(apdu(0x04, 0xFF, &intermediate)),
        expect(ACK),
        Step::SendSplit(status.clone(), 7),
        expect(ACK),
        Step::Send(apdu(0x06, 0xD1, b"\x00Klarna")),
        expect(ACK),
        Step::Send(apdu(0x06, 0xD1, b"\x81EUR 12,34")),
        expect(ACK),
        send("06 0F 00"),
        expect(ACK),
    ];
    let (addr, pt) = scripted_pt(script).await;
    let mut register = Register::connect_tcp(addr).await.unwrap();
    let mut handle = register.start_payment(&payment()).await;
    let first = handle.next_intermediate().await.unwrap();
    assert_eq!(first.status, 0xFF);
    assert_eq!(first.timeout_minutes, Some(3));
    assert_eq!(first.text, vec!["Scan the Q".to_owned()]);
    let outcome = handle.finish().await;
    pt.await.unwrap().unwrap();
    assert_eq!(outcome.end, End::Completed, "{}", outcome.transcript.dump());
    assert!(outcome.transcript.violations().is_empty(), "{}", outcome.transcript.dump());
    let info = outcome.last_status().unwrap();
    assert_eq!((info.amount, info.trace, info.receipt_no), (Some(1234), Some(42), Some(42)));
    assert_eq!(info.card_name.as_deref(), Some("Klarna"));
    assert_eq!(info.zvt_card_type(), Some(254));
    assert_eq!(info.additional_text.as_deref(), Some("Klarna K42"));
    assert_eq!(outcome.receipts.len(), 1);
    assert_eq!(outcome.receipts[0].lines, vec!["Klarna", "EUR 12,34"]);
    assert!(outcome.receipts[0].complete);
    assert_eq!(outcome.result_code, Some(0));
}

#[tokio::test]
async fn abort_during_the_payment_sends_06_b0_on_the_same_connection() {
    let script = vec![
        Step::Expect(payment_bytes()),
        send(ACK),
        send("04 FF 02 0A 01"),
        expect(ACK),
        expect("06 B0 00"),
        send(ACK),
        Step::Send(apdu(0x04, 0x0F, &[0x27, 0x6C])),
        expect(ACK),
        send("06 1E 01 6C"),
        expect(ACK),
    ];
    let (addr, pt) = scripted_pt(script).await;
    let mut register = Register::connect_tcp(addr).await.unwrap();
    let mut handle = register.start_payment(&payment()).await;
    assert_eq!(handle.next_intermediate().await.unwrap().status, 0x0A);
    handle.abort().await.unwrap();
    let outcome = handle.finish().await;
    pt.await.unwrap().unwrap();
    assert_eq!(outcome.end, End::Aborted(0x6C), "{}", outcome.transcript.dump());
    assert_eq!(outcome.abort_answer, Some(PtMessage::Positive(vec![])));
    assert_eq!(outcome.result_code, Some(0x6C));
}

#[tokio::test]
async fn please_wait_twice_then_ack_and_printer_not_ready() {
    let status = klarna_status(0x00);
    let script = vec![
        Step::Expect(payment_bytes()),
        send(ACK),
        Step::Send(status.clone()),
        expect("84 9C 00"),
        Step::Send(status.clone()),
        expect("84 9C 00"),
        Step::Send(status),
        expect(ACK),
        Step::Send(apdu(0x06, 0xD1, b"\x80x")),
        expect("84 CC 00"),
        send("06 1E 01 CC"),
        expect(ACK),
    ];
    let (addr, pt) = scripted_pt(script).await;
    let mut register = Register::connect_tcp(addr).await.unwrap();
    register.behaviour = Behaviour {
        status_answer: StatusAnswer::PleaseWait(2),
        receipt_answer: ReceiptAnswer::PrinterNotReady,
        ..Behaviour::default()
    };
    let outcome = register.authorize(&payment()).await;
    pt.await.unwrap().unwrap();
    assert_eq!(outcome.end, End::Aborted(0xCC), "{}", outcome.transcript.dump());
    assert_eq!(outcome.status.len(), 3);
    // The 80 00 (80 is an attribute ≠ "last line") leaves the receipt incomplete.
    assert!(!outcome.receipts[0].complete);
}

#[tokio::test]
async fn closing_instead_of_answering_the_status_information() {
    let script = vec![Step::Expect(payment_bytes()), send(ACK), Step::Send(klarna_status(0)), Step::ExpectClose];
    let (addr, pt) = scripted_pt(script).await;
    let mut register = Register::connect_tcp(addr).await.unwrap();
    register.behaviour = Behaviour { status_answer: StatusAnswer::Close, ..Behaviour::default() };
    let outcome = register.authorize(&payment()).await;
    pt.await.unwrap().unwrap();
    assert_eq!(outcome.end, End::ClosedByRegister);
}

#[tokio::test]
async fn split_and_garbage_prefixed_commands_arrive_whole() {
    let mut expected = vec![0xDE, 0xAD];
    expected.extend(payment_bytes());
    let script = vec![Step::Expect(expected), send("84 83 00")];
    let (addr, pt) = scripted_pt(script).await;
    let mut register = Register::connect_tcp(addr).await.unwrap();
    register.behaviour =
        Behaviour { split_command: true, garbage_before_command: vec![0xDE, 0xAD], ..Behaviour::default() };
    let outcome = register.authorize(&payment()).await;
    pt.await.unwrap().unwrap();
    assert_eq!(outcome.end, End::Refused(0x83));
}

#[tokio::test]
async fn no_answer_within_t3_and_a_closed_connection() {
    let (addr, pt) = scripted_pt(vec![Step::Expect(payment_bytes()), expect("06 B0 00")]).await;
    let mut register = Register::connect_tcp(addr).await.unwrap();
    register.behaviour = Behaviour { t3: Duration::from_millis(50), ..Behaviour::default() };
    let outcome = register.authorize(&payment()).await;
    assert_eq!(outcome.end, End::TimedOut(Timer::T3));
    // The PT then sees the next command, and closes: the register reports it.
    let outcome = register.abort().await;
    pt.await.unwrap().unwrap();
    assert_eq!(outcome.end, End::ConnectionClosed);
    assert_eq!(hex("06 B0 00"), outcome.transcript.entries[0].bytes);
}
