//! Encode → decode is the identity for every PtMessage and Command shape (a hand-written
//! table), and for pseudo-random status information (fixed seed).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent_zvt::receipt::TextBlock;
use posagent_zvt::tlv::{TlvContainer, TlvObject};
use posagent_zvt::{
    Authorization, Command, Completion, ConfigByte, EcrAnswer, EcrMessage, EndOfDayTotals, Password, PtMessage, Refund,
    Registration, Reversal, StatusInformation, decode_ecr,
};

fn full_status() -> StatusInformation {
    StatusInformation {
        result: 0,
        amount: Some(1999),
        trace: Some(42),
        original_trace: Some(41),
        time: Some((23, 59, 1)),
        date: Some((12, 31)),
        expiry: Some((27, 8)),
        payment_type: Some(0x60),
        masked_pan: Some("492913******123".into()),
        terminal_id: Some(52_000_001),
        aid: Some("A1B2C3".into()),
        currency: Some(978),
        receipt_no: Some(9999),
        card_type: Some(300),
        card_name: Some("Klarna".into()),
        additional_text: Some("Klarna ref-Ü1".into()),
        turnover_no: Some(123_456),
        end_of_day: None,
        tlv: Some(TlvContainer::new(vec![
            TlvObject::constructed(
                0x2F,
                vec![TlvObject::primitive(0x1F10, vec![0]), TlvObject::primitive(0x1F11, vec![1])],
            ),
            TlvObject::primitive(0x1F1F, vec![0x99, 0x99]),
        ])),
    }
}

fn pt_messages() -> Vec<PtMessage> {
    let totals = EndOfDayTotals {
        receipt_from: 1,
        receipt_to: 42,
        buckets: [(1, 100), (0, 0), (2, 2000), (0, 0), (3, 30), (0, 0), (9, 999_999)],
    };
    vec![
        PtMessage::Ack,
        PtMessage::Nack(0x9A),
        PtMessage::Intermediate { status: 0x0A, timeout_minutes: None, text: None },
        PtMessage::Intermediate {
            status: 0xFF,
            timeout_minutes: Some(5),
            text: Some("Scan the QR code\nwith the Klarna app".into()),
        },
        PtMessage::StatusInformation(full_status()),
        PtMessage::StatusInformation(StatusInformation { card_type: Some(46), tlv: None, ..full_status() }),
        PtMessage::StatusInformation(StatusInformation {
            amount: Some(3129),
            trace: Some(7),
            time: Some((18, 0, 0)),
            date: Some((6, 1)),
            end_of_day: Some(totals),
            ..Default::default()
        }),
        PtMessage::Completion(Completion::plain()),
        PtMessage::Completion(Completion::registration(Some(0), Some(52_000_001), Some(978), None)),
        PtMessage::Completion(Completion::registration(
            None,
            Some(1),
            None,
            Some(TlvContainer::new(vec![TlvObject::primitive(0x12, vec![0x40])])),
        )),
        PtMessage::Completion(Completion::status_enquiry(Some("posagent 0.1.0".into()), 0, None)),
        PtMessage::Completion(Completion::status_enquiry(None, 0xDF, None)),
        PtMessage::Completion(Completion::status_enquiry(
            None,
            0xF0,
            Some(TlvContainer::new(vec![TlvObject::primitive(0x1F44, vec![1])])),
        )),
        PtMessage::Abort { result: 0x6C, extended_text: None },
        PtMessage::Abort { result: 0xFF, extended_text: Some("Journal nicht schreibbar".into()) },
        PtMessage::PrintLine { attribute: 0x00, text: "Zahlung  19,99 EUR".into() },
        PtMessage::PrintLine { attribute: 0x81, text: String::new() },
        PtMessage::TextBlock(TextBlock::closed(
            2,
            vec![(0x40, "Klarna".into()), (0x00, "Betrag".into()), (0x00, String::new()), (0x10, "OK".into())],
        )),
    ]
}

#[test]
fn every_pt_message_shape_round_trips() {
    for message in pt_messages() {
        let apdu = message.to_apdu().unwrap();
        let bytes = apdu.encode();
        let decoded = PtMessage::decode(&posagent_zvt::Apdu::decode(&bytes).unwrap()).unwrap();
        assert_eq!(decoded, message, "bytes {bytes:02X?}");
    }
}

fn commands() -> Vec<Command> {
    let tlv = TlvContainer::new(vec![
        TlvObject::primitive(0x12, vec![0x42]),
        TlvObject::constructed(0x26, vec![TlvObject::primitive(0x0A, vec![0x06, 0xD3])]),
    ]);
    vec![
        Command::Registration(Registration::new(Password(0), ConfigByte(0x86), None, None, None)),
        Command::Registration(Registration::new(Password(123_456), ConfigByte(0xBE), Some(978), Some(0x01), Some(tlv))),
        Command::LogOff,
        Command::StatusEnquiry,
        Command::Authorization(Authorization { amount: 1999, ..Default::default() }),
        Command::Authorization(Authorization {
            amount: 1,
            currency: Some(756),
            payment_type: Some(0x40),
            timeout_secs: Some(30),
            max_status_infos: Some(3),
            card_type: Some(254),
            tlv: Some(TlvContainer::new(vec![TlvObject::primitive(0x1F04, vec![0x01])])),
        }),
        Command::Authorization(Authorization { amount: 5, card_type: Some(261), ..Default::default() }),
        Command::Reversal(Reversal {
            password: Password(1),
            receipt_no: 42,
            amount: Some(1999),
            currency: Some(978),
            payment_type: None,
        }),
        Command::Refund(Refund {
            password: Password(0),
            amount: Some(500),
            additional_data: Some("R0042".into()),
            card_type: Some(300),
            ..Default::default()
        }),
        Command::EndOfDay(Password(0)),
        Command::RepeatReceipt(Password(999_999)),
        Command::Abort,
        Command::Unsupported { class: 0x06, instr: 0x70 },
    ]
}

#[test]
fn every_command_shape_round_trips() {
    for command in commands() {
        let apdu = command.to_apdu().unwrap();
        assert_eq!(decode_ecr(&apdu).unwrap(), EcrMessage::Command(command.clone()), "bytes {:02X?}", apdu.encode());
    }
    for answer in
        [EcrAnswer::Ack, EcrAnswer::PleaseWait, EcrAnswer::PartialIssue { amount: 250 }, EcrAnswer::Nack(0xCC)]
    {
        assert_eq!(decode_ecr(&answer.to_apdu().unwrap()).unwrap(), EcrMessage::Answer(answer));
    }
}

#[test]
fn random_status_information_round_trips() {
    let mut rng = fastrand::Rng::with_seed(978);
    for _ in 0..2000 {
        let mut s = StatusInformation { result: rng.u8(..), ..Default::default() };
        s.amount = rng.bool().then(|| rng.u64(..1_000_000_000_000));
        s.trace = rng.bool().then(|| rng.u32(..1_000_000));
        s.time = rng.bool().then(|| (rng.u8(..24), rng.u8(..60), rng.u8(..60)));
        s.terminal_id = rng.bool().then(|| rng.u32(..100_000_000));
        s.receipt_no = rng.bool().then(|| rng.u16(..10_000));
        s.card_type = rng.bool().then(|| rng.u16(..));
        s.masked_pan = rng.bool().then(|| {
            (0..rng.usize(1..20)).map(|_| if rng.bool() { '*' } else { char::from(b'0' + rng.u8(..10)) }).collect()
        });
        s.additional_text = rng.bool().then(|| (0..rng.usize(..100)).map(|_| char::from(rng.u8(0x20..0x7F))).collect());
        let message = PtMessage::StatusInformation(s);
        assert_eq!(PtMessage::decode(&message.to_apdu().unwrap()).unwrap(), message);
    }
}
