//! Byte-exact examples: the byte strings printed in the specification (PA00P015 rev 13.08,
//! PA00P016 rev 04), real terminal captures of bezahl-online/zvt (`command/testdata/*.hex`)
//! and the frames of wirelane/ecrterm's tests (`ecrterm/tests/test_parsing.py`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent_zvt::{
    Apdu, Command, Completion, ConfigByte, EcrAnswer, EcrMessage, Password, PtMessage, StatusInformation, decode_ecr,
    hex_bytes,
};

fn apdu(hex: &str) -> Apdu {
    Apdu::decode(&hex_bytes(hex).unwrap()).unwrap()
}

fn pt(hex: &str) -> PtMessage {
    PtMessage::decode(&apdu(hex)).unwrap()
}

fn encoded(message: &PtMessage) -> Vec<u8> {
    message.to_apdu().unwrap().encode()
}

#[test]
fn answers_printed_in_p15() {
    // [P15 §2.1, §2.2.1 …]: the PT answers "80 00 00"; [P15 §3.1.1]: ECR answers 84 9C 00, 84 00 00.
    assert_eq!(encoded(&PtMessage::Ack), hex_bytes("80 00 00").unwrap());
    assert_eq!(encoded(&PtMessage::Nack(0x83)), hex_bytes("84 83 00").unwrap());
    assert_eq!(decode_ecr(&apdu("84 9C 00")).unwrap(), EcrMessage::Answer(EcrAnswer::PleaseWait));
    assert_eq!(decode_ecr(&apdu("84 00 00")).unwrap(), EcrMessage::Answer(EcrAnswer::Ack));
    assert_eq!(decode_ecr(&apdu("84 CC 00")).unwrap(), EcrMessage::Answer(EcrAnswer::Nack(0xCC)));
    // [P15 §2.2.6 d)]: "84 9D 7 04<amount>".
    let partial = decode_ecr(&apdu("84 9D 07 04 00 00 00 00 05 00")).unwrap();
    assert_eq!(partial, EcrMessage::Answer(EcrAnswer::PartialIssue { amount: 500 }));
}

#[test]
fn completion_and_abort_printed_in_p15() {
    // [P15 §2.2.9]: "06 0F 00"; [P15 §2.2.6 c)]: "04-0F-02-27-6C"; [P15 §2.16.6]: "06 1E 01 <error-code>".
    assert_eq!(encoded(&PtMessage::Completion(Completion::plain())), hex_bytes("06 0F 00").unwrap());
    let timeout = PtMessage::StatusInformation(StatusInformation { result: 0x6C, ..Default::default() });
    assert_eq!(encoded(&timeout), hex_bytes("04 0F 02 27 6C").unwrap());
    let abort = PtMessage::Abort { result: 0x6C, extended_text: None };
    assert_eq!(encoded(&abort), hex_bytes("06 1E 01 6C").unwrap());
}

#[test]
fn commands_printed_in_p15() {
    // [P15 §2.24] "06 02 00"; [P15 §2.16.1] "06 50 03 <password>"; [P15 §2.20.1] "06 20 03 <password>";
    // [P15 §1.2] password 123456 = 12 34 56; [P15 §2.64] "06 C5 00" is not one posagent implements.
    assert_eq!(decode_ecr(&apdu("06 02 00")).unwrap(), EcrMessage::Command(Command::LogOff));
    assert_eq!(
        decode_ecr(&apdu("06 50 03 12 34 56")).unwrap(),
        EcrMessage::Command(Command::EndOfDay(Password(123_456)))
    );
    assert_eq!(
        decode_ecr(&apdu("06 20 03 00 00 00")).unwrap(),
        EcrMessage::Command(Command::RepeatReceipt(Password(0)))
    );
    assert_eq!(
        decode_ecr(&apdu("06 C5 00")).unwrap(),
        EcrMessage::Command(Command::Unsupported { class: 0x06, instr: 0xC5 })
    );
    // [P15 §2.1]: 84 1E xx 6F [<CC>].
    assert_eq!(PtMessage::wrong_currency_answer(Some(978)).unwrap().encode(), hex_bytes("84 1E 03 6F 09 78").unwrap());
}

#[test]
fn registration_of_ecrterm() {
    // ecrterm test_data_encoding.py: `06 00 06 12 34 56 BA 09 78` (config BA, EUR).
    let EcrMessage::Command(Command::Registration(r)) = decode_ecr(&apdu("06 00 06 12 34 56 BA 09 78")).unwrap() else {
        panic!()
    };
    assert_eq!((r.password, r.config, r.currency), (Password(123_456), ConfigByte(0xBA), Some(978)));
    assert!(
        r.config.ecr_prints_payment_receipts() && r.config.intermediate_status() && r.config.receipts_as_print_lines()
    );
    assert!(!r.config.ecr_prints_admin_receipts());
    // ecrterm test_parsing.py: a registration with TLV 12 (width 40), 26 (06 D3 listed), 27, 28, 40, 1F04, 1F05.
    let long = "06 00 63 00 00 00 FE 09 78 03 00 06 59 10 02 16 02 12 01 40 1A 02 10 00 26 28 0A 02 04 0F 0A 02 06 0F \
                0A 02 06 1E 0A 02 04 FF 0A 02 06 D8 0A 02 06 DB 0A 02 06 D9 0A 02 06 DA 0A 02 06 DD 0A 02 06 D3 27 03 14 01 \
                FF 28 10 15 02 44 45 15 02 45 4E 15 02 46 52 15 02 49 54 40 02 C0 00 1F 04 02 F1 00 1F 05 01 00";
    let EcrMessage::Command(Command::Registration(r)) = decode_ecr(&apdu(long)).unwrap() else { panic!() };
    assert_eq!(
        (r.config, r.service_byte, r.printer_width, r.accepts_text_blocks),
        (ConfigByte(0xFE), Some(0), Some(40), true)
    );
    assert_eq!(Command::Registration(r).to_apdu().unwrap(), apdu(long));
}

#[test]
fn authorization_of_ecrterm() {
    // ecrterm test_parsing.py `06 01 0E 02 01 04 00 00 00 00 10 00 19 44 49 09 78`, and the
    // framed `06 01 0A 04 00 00 00 01 10 00 49 09 78` of test_data_encoding.py.
    let EcrMessage::Command(Command::Authorization(a)) =
        decode_ecr(&apdu("06 01 0E 02 01 04 00 00 00 00 10 00 19 44 49 09 78")).unwrap()
    else {
        panic!()
    };
    assert_eq!((a.amount, a.max_status_infos, a.payment_type, a.currency), (1000, Some(1), Some(0x44), Some(978)));
    let EcrMessage::Command(Command::Authorization(a)) =
        decode_ecr(&apdu("06 01 0A 04 00 00 00 01 10 00 49 09 78")).unwrap()
    else {
        panic!()
    };
    assert_eq!(a.amount, 11_000);
}

#[test]
fn completions_of_real_terminals() {
    // bezahl-online 1619070661833PT.hex: status-enquiry completion, terminal status DC (card inserted).
    assert_eq!(pt("06 0F 01 DC"), PtMessage::Completion(Completion::status_enquiry(None, 0xDC, None)));
    // ecrterm test_parsing.py: `06 0F 0B F0 F0 F7 "2.14.15" 00`.
    let version = PtMessage::Completion(Completion::status_enquiry(Some("2.14.15".into()), 0x00, None));
    assert_eq!(pt("06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00"), version);
    assert_eq!(encoded(&version), hex_bytes("06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00").unwrap());
    // bezahl-online 1620218414428PT.hex: registration completion 19 00 29 29001006 49 0978.
    let registration = PtMessage::Completion(Completion::registration(Some(0), Some(29_001_006), Some(978), None));
    assert_eq!(pt("06 0F 0A 19 00 29 29 00 10 06 49 09 78"), registration);
    assert_eq!(encoded(&registration), hex_bytes("06 0F 0A 19 00 29 29 00 10 06 49 09 78").unwrap());
    // ecrterm test_parsing.py: with a TLV echo of tag 27 {14 FF}.
    let PtMessage::Completion(c) = pt("06 0F 11 19 00 29 52 00 12 33 49 09 78 06 05 27 03 14 01 FF") else { panic!() };
    assert_eq!((c.terminal_id, c.tlv.unwrap().find(0x27).unwrap().children().len()), (Some(52_001_233), 1));
}

#[test]
fn aborts_and_short_status_of_real_terminals() {
    // bezahl-online 1620217578711PT.hex / 1620217579741PT.hex: 04 0F 27 6C 29 <TID>, then 06 1E 6C.
    let status = StatusInformation { result: 0x6C, terminal_id: Some(29_001_006), ..Default::default() };
    assert_eq!(pt("04 0F 07 27 6C 29 29 00 10 06"), PtMessage::StatusInformation(status.clone()));
    assert_eq!(encoded(&PtMessage::StatusInformation(status)), hex_bytes("04 0F 07 27 6C 29 29 00 10 06").unwrap());
    assert_eq!(pt("06 1E 01 6C"), PtMessage::Abort { result: 0x6C, extended_text: None });
}

#[test]
fn intermediate_status_of_real_terminals() {
    // bezahl-online data081621025.hex `04 FF 01 0E`, data050730027.hex: 0A, timeout 01,
    // 06 2A 24 28 07 26 "Karte vorhalten\neinstecken/durchziehen" (one 07 with a line feed).
    assert_eq!(pt("04 FF 01 0E"), PtMessage::Intermediate { status: 0x0E, timeout_minutes: None, text: None });
    let capture = "04ff2e0a01062a242807264b6172746520766f7268616c74656e0a65696e737465636b656e2f64757263687a696568656e";
    let PtMessage::Intermediate { status, timeout_minutes, text } = pt(capture) else { panic!() };
    assert_eq!(
        (status, timeout_minutes, text.as_deref()),
        (0x0A, Some(1), Some("Karte vorhalten\neinstecken/durchziehen"))
    );
    // ecrterm test_parsing.py: 04 FF 0A 01 06 1A 24 18 07 16 "Bitte Karte einstecken".
    let ecrterm = "04 FF 1E 0A 01 06 1A 24 18 07 16 42 69 74 74 65 20 4B 61 72 74 65 20 65 69 6E 73 74 65 63 6B 65 6E";
    let message =
        PtMessage::Intermediate { status: 0x0A, timeout_minutes: Some(1), text: Some("Bitte Karte einstecken".into()) };
    assert_eq!(pt(ecrterm), message);
    assert_eq!(encoded(&message), hex_bytes(ecrterm).unwrap());
}

#[test]
fn status_information_of_a_real_maestro_payment() {
    // bezahl-online 1618593839564PT.hex: a contactless Maestro payment of 18.80 EUR.
    let capture = "040fd42700040000000018800b0001530c1923360d0416170001197022f1f0eeeeeeeeeeeeeee4281f29290010062a31\
                   30303736343939322020202020203b39353835323000003cf0f1f447454e2e4e522e3a39353835323049097887015388\
                   0001538a2e8bf0f84d41455354524f0006652410070e47454e2e4e522e3a3935383532304307a0000000043060461f41\
                   303030303030303034333036302043363134323339433930424533413534471f41303030303030303034333036302043\
                   3631343233394339304245334135341f1001001f120102";
    let PtMessage::StatusInformation(s) = pt(capture) else { panic!() };
    assert_eq!(
        (s.result, s.amount, s.trace, s.time, s.date),
        (0, Some(1880), Some(153), Some((19, 23, 36)), Some((4, 16)))
    );
    assert_eq!((s.payment_type, s.masked_pan.as_deref()), (Some(0x70), Some("***************4281")));
    assert_eq!(
        (s.terminal_id, s.aid.as_deref(), s.currency, s.receipt_no),
        (Some(29_001_006), Some("958520"), Some(978), Some(153))
    );
    assert_eq!((s.turnover_no, s.card_type, s.card_name.as_deref()), (Some(153), Some(46), Some("MAESTRO")));
    assert_eq!(s.additional_text.as_deref(), Some("GEN.NR.:958520"));
    assert!(s.tlv.unwrap().find(0x46).is_some());
}

#[test]
fn declined_status_of_a_real_terminal() {
    // bezahl-online 1618046758827PT.hex: 27 05, 29, 3C "Karte abgelehnt", 8A 0D, 06 {24 {07 "Karte abgelehnt"}}.
    let capture =
        "040f31270529290010063cf0f1f54b6172746520616267656c65686e748a0d06132411070f4b6172746520616267656c65686e74";
    let PtMessage::StatusInformation(s) = pt(capture) else { panic!() };
    assert_eq!((s.result, s.card_type, s.additional_text.as_deref()), (5, Some(13), Some("Karte abgelehnt")));
}

#[test]
fn status_information_of_ecrterm() {
    // ecrterm test_parsing.py: PAN with separator D, BMP 17, 8C, 2A, 3C with CRs, TLV 41/49/15/60/2F.
    let capture = "040FCE2700040000000010004909780C1230050D062922F0F8474843EEEEEE77438700023B38383931353000000B0007331960294200\
                   30360E18018A0A8C038BF0F556495341002A3435353630303030303539392020203CF0F7F341532D544944203D2031334630303031\
                   330D41532D50726F632D436F6465203D203230203930332030300D436170742E2D5265662E3D20303030300D41494435393A2038\
                   3039323538062B4102000A4902000315024445600F4204564953414307A00000000310102F0C1F1001001F1101011F120102";
    let PtMessage::StatusInformation(s) = pt(capture) else { panic!() };
    assert_eq!(
        (s.amount, s.masked_pan.as_deref(), s.expiry, s.card_name.as_deref()),
        (Some(1000), Some("474843******7743"), Some((18, 1)), Some("VISA"))
    );
    // 8A 0A with TLV 41 = 000A: 8A is not FF, so BMP 8A stands and TLV 41 stays in the container.
    assert_eq!(s.card_type, Some(10));
    assert!(s.tlv.unwrap().find(0x41).is_some());
}

#[test]
fn text_block_of_a_real_terminal() {
    // bezahl-online data051327012.hex: a merchant receipt (1F07 01) as 06 D3, ending 09 81.
    let capture = "06d3ff0e020682020a1f0701012582020209014007122a2a2048c44e444c455242454c4547202a2a0717544553542042\
                   455a41484c2e4f4e4c494e4520452e552e07064e522031323207133636343520564f52444552484f524e424143480700\
                   070009010007012009014007075645524b415546090100071830352e30332e3230323120202020202031333a32363a35\
                   3207185465726d696e616c2d49443a202020203239303031303036071856552d4e723a20202020202020202031303037\
                   3634393932071842656c65672d4e723a202020202020202030302f30303139071854726163652d4e723a202020202020\
                   202020303030323635090140070a4b4f4e54414b544c4f53070e4d61657374726f2f444d432041540901000714202020\
                   204465626974204d61737465726361726407134149443a204130303030303030303431303130071843727970746f3a20\
                   4343304344374342443945303241324107184e723a20202a2a2a2a202a2a2a2a202a2a2a2a203537323607185345513a\
                   2020202020202020202020202020202020303031070c452e4d6f6465284729202020090140070742455a41484c540901\
                   00070e47454e2e4e522e3a37393034393807184245545241473a20204555522020202020202020302c30310718202020\
                   2020202020203d3d3d3d3d3d3d3d3d3d3d3d3d3d3d070120090140070007000700090100070120070120070120070120\
                   090181";
    let PtMessage::TextBlock(block) = pt(capture) else { panic!() };
    assert_eq!(block.receipt_type, 1);
    assert_eq!(block.lines[1], (0x40, "TEST BEZAHL.ONLINE E.U.".to_string()));
    assert_eq!(block.lines.last(), Some(&(0x81, String::new())));
    assert!(block.lines.iter().any(|(_, l)| l == "Terminal-ID:    29001006"));
    // Re-encoded, the block is the same bytes: an attribute where it changes, 09 81 bare at the end.
    let again = PtMessage::TextBlock(block);
    assert_eq!(PtMessage::decode(&again.to_apdu().unwrap()).unwrap(), again);
}

#[test]
fn print_line_of_ecrterm() {
    // ecrterm test_parsing.py: 06 D1 17 00 "         Kassenschnitt".
    let line = pt("06 D1 17 00 20 20 20 20 20 20 20 20 20 4B 61 73 73 65 6E 73 63 68 6E 69 74 74");
    assert_eq!(line, PtMessage::PrintLine { attribute: 0, text: "         Kassenschnitt".into() });
    // ecrterm test_data_encoding.py: 06 D1 19 00 "Gesamt      0       0,00".
    let gesamt = PtMessage::PrintLine { attribute: 0, text: "Gesamt      0       0,00".into() };
    assert_eq!(
        encoded(&gesamt),
        hex_bytes("06 D1 19 00 47 65 73 61 6D 74 20 20 20 20 20 20 30 20 20 20 20 20 20 20 30 2C 30 30").unwrap()
    );
}
