//! The parser against real PT traces: github.com/bezahl-online/zvt
//! `command/testdata/*.hex` (binary captures of a real terminal, despite the name), and
//! against the examples of the specification.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::hex;
use posagent_zvt_register::apdu::{Split, split_apdu};
use posagent_zvt_register::message::{Context, PtMessage, parse};
use posagent_zvt_register::violation::{Violation, ViolationKind};
use posagent_zvt_register::{Authorization, Registration, command, tlv::Tlv};

const PAYMENT: Context = Context { command: 0x0601, table_order: true };

fn parse_hex(text: &str, context: Context) -> (PtMessage, Vec<Violation>) {
    let bytes = hex(text);
    let Split::Complete(apdu, used) = split_apdu(&bytes) else { panic!("incomplete APDU") };
    assert_eq!(used, bytes.len());
    let mut violations = Vec::new();
    (parse(&apdu, context, &mut violations), violations)
}

fn spaced(compact: &str) -> String {
    compact.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
}

#[test]
fn a_real_maestro_payment_parses_but_breaks_the_table_order() {
    // testdata/1618593839564PT.hex
    let capture = "040fd42700040000000018800b0001530c1923360d0416170001197022f1f0eeeeeeeeeeeeeee4281f29290010062a3130303736343939322020202020203b39353835323000003cf0f1f447454e2e4e522e3a393538353230490978870153880001538a2e8bf0f84d41455354524f0006652410070e47454e2e4e522e3a3935383532304307a0000000043060461f41303030303030303034333036302043363134323339433930424533413534471f413030303030303030343330363020433631343233394339304245334135341f1001001f120102";
    let (message, violations) = parse_hex(&spaced(capture), PAYMENT);
    let PtMessage::Status(info) = message else { panic!("not a status information") };
    assert_eq!(info.result_code, Some(0));
    assert_eq!(info.amount, Some(1880));
    assert_eq!(info.trace, Some(153));
    assert_eq!(info.pan.as_deref(), Some("***************4281"));
    assert_eq!(info.terminal_id.as_deref(), Some("29001006"));
    assert_eq!(info.aid.as_deref(), Some("958520"));
    assert_eq!(info.receipt_no, Some(153));
    assert_eq!(info.card_type, Some(0x2E));
    assert_eq!(info.card_name.as_deref(), Some("MAESTRO"));
    assert_eq!(info.vu_number.as_deref(), Some("100764992      "));
    assert!(info.tlv.iter().any(|t| t.tag == 0x1F10));
    // The terminal sends 2A 3B 3C 49 87 88 8A 8B (numerical order), not the table's.
    let order: Vec<_> = violations.iter().map(|v| v.kind.clone()).collect();
    assert_eq!(
        order,
        vec![
            ViolationKind::OutOfTableOrder { bmp: 0x3B, after: 0x2A },
            ViolationKind::OutOfTableOrder { bmp: 0x49, after: 0x3C },
            ViolationKind::OutOfTableOrder { bmp: 0x87, after: 0x3C },
            ViolationKind::OutOfTableOrder { bmp: 0x8A, after: 0x88 },
        ]
    );
}

#[test]
fn a_real_decline_and_a_real_registration_completion() {
    // testdata/1618046758827PT.hex: 27 05, 3C "Karte abgelehnt", 8A 0D, TLV 24 text.
    let capture =
        "040f31270529290010063cf0f1f54b6172746520616267656c65686e748a0d06132411070f4b6172746520616267656c65686e74";
    let (message, violations) = parse_hex(&spaced(capture), PAYMENT);
    let PtMessage::Status(info) = message else { panic!("not a status information") };
    assert_eq!(info.result_code, Some(5));
    assert_eq!(info.additional_text.as_deref(), Some("Karte abgelehnt"));
    assert_eq!(violations.len(), 1, "3C before 8A: {violations:?}");
    // testdata/1620218414428PT.hex: 06 0F 19 00 29 <TID> 49 09 78.
    let (message, violations) =
        parse_hex("06 0f 0a 19 00 29 29 00 10 06 49 09 78", Context { command: 0x0600, table_order: true });
    let PtMessage::Completion(completion) = message else { panic!("not a completion") };
    assert_eq!(completion.status_byte, Some(0));
    assert_eq!(completion.terminal_id.as_deref(), Some("29001006"));
    assert_eq!(completion.currency, Some(978));
    assert!(violations.is_empty());
}

#[test]
fn a_real_intermediate_status_with_display_text() {
    // testdata/data050730027.hex
    let capture = "04ff2e0a01062a242807264b6172746520766f7268616c74656e0a65696e737465636b656e2f64757263687a696568656e";
    let (message, violations) = parse_hex(&spaced(capture), PAYMENT);
    let PtMessage::Intermediate(status) = message else { panic!("not 04 FF") };
    assert_eq!((status.status, status.timeout_minutes), (0x0A, Some(1)));
    assert_eq!(status.text, vec!["Karte vorhalten\neinstecken/durchziehen".to_owned()]);
    assert!(violations.is_empty());
}

#[test]
fn a_real_end_of_day_without_its_length_byte() {
    // testdata/1617181236803PT.hex lacks the length byte: as an APDU it is broken …
    let capture = "040f2700040000000026000c1059370d033160f0f5f30068007104000000002600000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    let bytes = hex(&spaced(capture));
    assert!(matches!(split_apdu(&bytes), Split::Complete(_, 42)));
    // … and its data block, framed properly, is a clean End-of-Day status information.
    let framed = posagent_zvt_register::apdu::Apdu::new(0x04, 0x0F, bytes[2..].to_vec());
    let mut violations = Vec::new();
    let PtMessage::Status(info) = parse(&framed, Context { command: 0x0650, table_order: true }, &mut violations)
    else {
        panic!("not a status information")
    };
    assert!(violations.is_empty(), "{violations:?}");
    let totals = info.single_totals.unwrap();
    assert_eq!((totals.receipt_from, totals.receipt_to), (68, 71));
    assert_eq!((totals.buckets[0].count, totals.buckets[0].total), (4, 2600));
    assert_eq!(info.amount, Some(2600));
}

#[test]
fn registration_example_of_p15_5_1_is_byte_exact() {
    // [P15 §5.1] (p. 141): 06 00 14 00 00 00 9E 09 78 06 0C 26 04 0A 02 06 D3 1F 73 03 00 00 00
    let registration = Registration {
        password: 0,
        config_byte: 0x9E,
        currency: Some(978),
        service_byte: None,
        printer_width: None,
        accepted_commands: vec![[0x06, 0xD3]],
        extra_tlv: vec![Tlv::primitive(0x1F73, [0, 0, 0])],
    };
    assert_eq!(
        registration.encode().encode(),
        hex("06 00 14 00 00 00 9E 09 78 06 0C 26 04 0A 02 06 D3 1F 73 03 00 00 00")
    );
    // And the PT's completion of that example parses without a violation.
    let (message, violations) = parse_hex(
        "06 0F 12 19 00 29 65 00 00 28 49 09 78 06 06 26 04 0A 02 06 D3",
        Context { command: 0x0600, table_order: true },
    );
    assert!(violations.is_empty(), "{violations:?}");
    let PtMessage::Completion(completion) = message else { panic!() };
    assert_eq!(completion.terminal_id.as_deref(), Some("65000028"));
}

#[test]
fn authorization_example_of_p15_5_1_has_the_right_length() {
    // [P15 §5.1]: 06 01 0C 04 00 00 00 00 01 00 49 09 78 19 44 06 06 1F 73 03 00 00 01 —
    // the spec's length 0C is wrong: the data block is 20 (0x14) bytes.
    let authorization = Authorization {
        payment_type: Some(0x44),
        tlv: vec![Tlv::primitive(0x1F73, [0, 0, 1])],
        ..Authorization::new(100)
    };
    assert_eq!(
        authorization.encode().encode(),
        hex("06 01 14 04 00 00 00 00 01 00 49 09 78 19 44 06 06 1F 73 03 00 00 01")
    );
    // 04 FF of the same example: TLV without <timeout>, which [P15 §3.7] forbids; read as
    // no timeout (06 + a length that fits the rest exactly) and flagged.
    let (message, violations) = parse_hex("04 FF 09 17 06 06 1F 73 03 00 00 02", PAYMENT);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(matches!(message, PtMessage::Intermediate(s) if s.status == 0x17 && s.timeout_minutes.is_none()));
    // The example's later 04 FF has the timeout: 04 FF 19 17 03 06 15 24 0D 07 0B "00 Approved" 1F73.
    let mut later = hex("04 FF 19 17 03 06 15 24 0D 07 0B");
    later.extend(b"00 Approved");
    later.extend(hex("1F 73 03 00 00 08"));
    let Split::Complete(apdu, _) = split_apdu(&later) else { panic!() };
    let mut violations = Vec::new();
    let PtMessage::Intermediate(status) = parse(&apdu, PAYMENT, &mut violations) else { panic!() };
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!((status.timeout_minutes, status.text.clone()), (Some(3), vec!["00 Approved".to_owned()]));
}

#[test]
fn the_other_commands_encode_as_the_spec_prints_them() {
    assert_eq!(command::end_of_day(0).encode(), hex("06 50 03 00 00 00"));
    assert_eq!(command::log_off().encode(), hex("06 02 00"));
    assert_eq!(command::abort().encode(), hex("06 B0 00"));
    assert_eq!(command::status_enquiry(123456).encode(), hex("05 01 03 12 34 56"));
    assert_eq!(command::repeat_receipt(0, Some(1)).encode(), hex("06 20 05 00 00 00 03 01"));
    let reversal = posagent_zvt_register::Reversal { receipt_no: 42, ..Default::default() };
    assert_eq!(reversal.encode().encode(), hex("06 30 06 00 00 00 87 00 42"));
    let refund =
        posagent_zvt_register::Refund { amount: Some(500), reference: Some("R0042".into()), ..Default::default() };
    assert_eq!(refund.encode().encode(), hex("06 31 13 00 00 00 04 00 00 00 00 05 00 3C F0 F0 F5 52 30 30 34 32"));
    let klarna = Authorization { card_type: Some(258), currency: None, ..Authorization::new(1) };
    assert_eq!(klarna.encode().encode(), hex("06 01 0F 04 00 00 00 00 00 01 8A FF 06 04 41 02 01 02"));
}
