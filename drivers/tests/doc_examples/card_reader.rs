//! docs/card-reader-protocol.md's examples through the host's card reader codec: each
//! frame encoded from its meaning and compared byte for byte, and decoded (framing, CRC,
//! event parser) and compared with its meaning; its code tables against the codec's.

use super::blocks::{Example, screaming, show, table};
use posagent_drivers::card_reader::{
    CardRead, Cvm, EntryMode, ErrorClass, ErrorCode, Event, IdleReason, Outcome, ReaderInfo, ReaderState, Received,
    Receiver, ack, card_read_tlv, cmd, crc16, encode, evt, info_request, outcome_payload, tag,
};
use std::time::Instant;
use zeroize::Zeroizing;

/// Names of the commands and events, as the §3 and §4 tables give them.
const CODES: [(&str, u8); 14] = [
    ("ENABLE", cmd::ENABLE),
    ("CANCEL", cmd::CANCEL),
    ("BEEP", cmd::BEEP),
    ("LED", cmd::LED),
    ("INFO", cmd::INFO),
    ("PING", cmd::PING),
    ("OUTCOME", cmd::OUTCOME),
    ("CARD_PRESENTED", evt::CARD_PRESENTED),
    ("CARD_READ", evt::CARD_READ),
    ("CARD_REMOVED", evt::CARD_REMOVED),
    ("ERROR", evt::ERROR),
    ("IDLE", evt::IDLE),
    ("INFO", evt::INFO),
    ("STATUS", evt::STATUS),
];

/// Everything a receiver makes of `bytes`, all of them consumed.
fn receive(bytes: &[u8]) -> Vec<Received> {
    let mut rx = Receiver::new();
    let now = Instant::now();
    rx.push(bytes, now);
    let got = std::iter::from_fn(|| rx.next(now)).collect();
    assert!(!rx.in_progress(), "bytes left over after {}", show(bytes));
    got
}

fn txn(ex: &Example) -> u32 {
    u32::try_from(ex.num("txn")).unwrap_or_else(|_| panic!("{}: txn over 32 bits", ex.at))
}

fn name_of(ex: &Example, key: &str, codec_name: impl Fn(u8) -> String) -> u8 {
    let (code, name) = ex.code(key);
    assert_eq!(codec_name(code), name, "{}: `{key}` {code:#04x} has another name in the codec", ex.at);
    code
}

fn entry_mode(ex: &Example) -> EntryMode {
    let code = name_of(ex, "entry mode", |c| EntryMode::from_code(c).map_or("?".into(), |m| m.as_str().into()));
    EntryMode::from_code(code).unwrap_or(EntryMode::Chip)
}

fn cvm(ex: &Example) -> Cvm {
    let code = name_of(ex, "cvm", |c| Cvm::from_code(c).map_or("?".into(), |m| m.as_str().into()));
    Cvm::from_code(code).unwrap_or(Cvm::None)
}

/// The DATA of a host command, built by the host's encoders from the example's meaning.
fn command_data(ex: &Example, code: u8) -> Vec<u8> {
    match code {
        cmd::INFO => {
            assert_eq!(ex.req("version"), "2.0", "{}", ex.at);
            info_request()
        }
        cmd::ENABLE => {
            let currency: [u8; 3] = ex.req("currency").as_bytes().try_into().unwrap_or_else(|_| panic!("{}", ex.at));
            posagent_drivers::card_reader::Enable {
                txn: txn(ex),
                amount: u32::try_from(ex.num("amount")).unwrap(),
                currency,
                exponent: u8::try_from(ex.num("exponent")).unwrap(),
                timeout_secs: u8::try_from(ex.num("timeout")).unwrap(),
                flags: u8::try_from(ex.num("flags")).unwrap(),
            }
            .payload()
        }
        cmd::CANCEL => txn(ex).to_be_bytes().to_vec(),
        cmd::PING => vec![],
        // §3: count u8, 0–5; colour u8, 0 off, 1 green, 2 red, 3 amber.
        cmd::BEEP => {
            let count = u8::try_from(ex.num("count")).unwrap();
            assert!(count <= 5, "{}: BEEP over 5", ex.at);
            vec![count]
        }
        cmd::LED => {
            let colours = ["OFF", "GREEN", "RED", "AMBER"];
            let c = name_of(ex, "colour", |c| colours.get(usize::from(c)).map_or("?", |n| n).to_string());
            vec![c]
        }
        cmd::OUTCOME => {
            let outcomes = [Outcome::Approved, Outcome::Declined, Outcome::NotCompleted];
            let r = name_of(ex, "result", |c| {
                outcomes.get(usize::from(c)).map_or("?".into(), |o| screaming(&format!("{o:?}")))
            });
            let issuer = ex.hex("issuer data");
            let data = outcome_payload(txn(ex), outcomes[usize::from(r)], &issuer);
            assert_eq!(data[4], r, "{}: the result byte", ex.at);
            data
        }
        other => panic!("{}: no check for command {other:#04x}", ex.at),
    }
}

/// The event the example means, and its DATA laid out as §4 gives it.
fn event_of(ex: &Example, code: u8) -> (Event, Vec<u8>) {
    match code {
        evt::INFO => {
            let (major, minor) = ex.req("version").split_once('.').unwrap_or_else(|| panic!("{}", ex.at));
            let (major, minor) = (major.parse().unwrap(), minor.parse().unwrap());
            let capabilities = u8::try_from(ex.num("capabilities")).unwrap();
            let (firmware, model) = (ex.req("firmware").to_string(), ex.req("model").to_string());
            let data = [&[major, minor, capabilities][..], firmware.as_bytes(), &[0], model.as_bytes()].concat();
            (Event::Info(ReaderInfo { major, minor, capabilities, firmware, model }), data)
        }
        evt::IDLE => {
            let reason = name_of(ex, "reason", |c| screaming(&format!("{:?}", IdleReason::from_code(c))));
            let t = txn(ex);
            (Event::Idle { txn: t, reason: IdleReason::from_code(reason) }, [&t.to_be_bytes()[..], &[reason]].concat())
        }
        evt::STATUS => {
            let states = [(0, ReaderState::Idle), (1, ReaderState::Waiting), (2, ReaderState::ReadDelivered)]
                .into_iter()
                .chain([(3, ReaderState::PinEntry), (0xFF, ReaderState::OutOfService)]);
            let states: Vec<(u8, ReaderState)> = states.collect();
            let state_of = |c: u8| states.iter().find(|(n, _)| *n == c).map(|(_, s)| *s);
            let s = name_of(ex, "state", |c| state_of(c).map_or("?".into(), |s| screaming(&format!("{s:?}"))));
            let (t, fault) = (txn(ex), u8::try_from(ex.num("fault")).unwrap());
            let data = [&[s][..], &t.to_be_bytes(), &[fault]].concat();
            (Event::Status { state: state_of(s).unwrap_or(ReaderState::Other(s)), txn: t, fault }, data)
        }
        evt::ERROR => {
            let c = name_of(ex, "code", |c| ErrorCode(c).name().to_string());
            let (t, text) = (txn(ex), ex.req("text").to_string());
            let data = [&t.to_be_bytes()[..], &[c], text.as_bytes()].concat();
            (Event::Error { txn: t, code: ErrorCode(c), text }, data)
        }
        evt::CARD_PRESENTED => {
            let (t, mode) = (txn(ex), entry_mode(ex));
            (Event::CardPresented { txn: t, mode }, [&t.to_be_bytes()[..], &[mode.code()]].concat())
        }
        evt::CARD_REMOVED => {
            let t = txn(ex);
            (Event::CardRemoved { txn: t }, t.to_be_bytes().to_vec())
        }
        evt::CARD_READ => {
            let label = ex.get("label").map(str::to_string);
            let read = CardRead {
                masked_pan: ex.req("masked pan").to_string(),
                ksn: ex.hex("ksn"),
                payload: Zeroizing::new(ex.hex("card data")),
                entry_mode: entry_mode(ex),
                pin_block: ex.get("pin block").map(|_| Zeroizing::new(ex.hex("pin block"))),
                cvm: cvm(ex),
                aid: ex.get("aid").map(|_| ex.hex("aid")),
                application_label: label,
            };
            let t = txn(ex);
            let data = card_read_tlv(t, &read);
            // The TLV's tags, in order, are the ones the example lists.
            let mut tags = vec![];
            let mut i = 4;
            while i < data.len() {
                tags.push(data[i]);
                i += 3 + usize::from(u16::from_be_bytes([data[i + 1], data[i + 2]]));
            }
            assert_eq!(show(&tags), ex.req("tags"), "{}: the TLV's tags", ex.at);
            (Event::CardRead { txn: t, read }, data)
        }
        other => panic!("{}: no check for event {other:#04x}", ex.at),
    }
}

fn frame(ex: &Example) {
    let (dir, bytes) = ex.bytes();
    let (code, name) = ex.code("cmd");
    let host = match dir.as_str() {
        "host→reader" => true,
        "reader→host" => false,
        other => panic!("{}: direction {other}", ex.at),
    };
    assert!(CODES.contains(&(name.as_str(), code)), "{}: {code:#04x} {name} is not in the codec", ex.at);
    assert_eq!(code & 0x80 == 0, host, "{}: {name} goes the other way", ex.at);
    let seq = u8::try_from(ex.num("seq")).unwrap();
    let (data, event) = if host {
        (command_data(ex, code), None)
    } else {
        let (e, d) = event_of(ex, code);
        (d, Some(e))
    };
    // Encoded from the meaning, byte for byte.
    let encoded = encode(seq, code, &data);
    assert_eq!(show(&bytes), show(&encoded), "{}: the document's bytes, then the codec's", ex.at);
    // Decoded: framing, LEN, CRC, SEQ, CMD, and for an event its meaning.
    let [Received::Frame(f)] = &receive(&bytes)[..] else { panic!("{}: not one intact frame", ex.at) };
    assert_eq!((f.seq, f.cmd), (seq, code), "{}", ex.at);
    assert_eq!(u64::from(u16::from_be_bytes([bytes[1], bytes[2]])), ex.num("len"), "{}: LEN", ex.at);
    assert_eq!(ex.num("len"), 2 + f.data.len() as u64, "{}: LEN = 2 + DATA", ex.at);
    assert_eq!(u64::from(f.crc), ex.num("crc"), "{}: CRC", ex.at);
    assert_eq!(f.crc, crc16(&bytes[1..bytes.len() - 2]), "{}: CRC over LEN_H … ETX", ex.at);
    if let Some(e) = event {
        assert_eq!(posagent_drivers::card_reader::parse_event(f.cmd, &f.data), Ok(e), "{}: decoded", ex.at);
    }
}

/// Runs one card reader example.
pub fn run(ex: &Example) {
    match ex.kind.as_str() {
        "card-reader-frame" => frame(ex),
        "card-reader-ack" => {
            let (_, bytes) = ex.bytes();
            if let Some(seq) = ex.get("ack") {
                let seq = u8::try_from(super::blocks::number(seq).unwrap()).unwrap();
                assert_eq!(show(&bytes), show(&ack(seq)), "{}", ex.at);
                assert_eq!(receive(&bytes), [Received::Ack(seq)], "{}", ex.at);
            } else {
                assert_eq!(ex.req("nak"), "yes", "{}", ex.at);
                assert_eq!(receive(&bytes), [Received::Nak], "{}", ex.at);
            }
        }
        "crc16" => {
            let crc = crc16(ex.req("ascii").as_bytes());
            assert_eq!(u64::from(crc), ex.num("crc"), "{}", ex.at);
        }
        other => panic!("{}: unknown kind {other}", ex.at),
    }
    ex.finish();
}

/// The examples cover the protocol: every command and event of the §3 and §4 tables has
/// a frame example in its direction, and there are an ACK, a NAK and the CRC check value.
pub fn coverage(examples: &[Example]) {
    let mut missing: Vec<String> = vec![];
    let frames: Vec<(u8, String)> = examples
        .iter()
        .filter(|ex| ex.kind == "card-reader-frame")
        .map(|ex| (ex.code("cmd").0, ex.bytes().0))
        .collect();
    for (name, code) in CODES {
        let dir = if code & 0x80 == 0 { "host→reader" } else { "reader→host" };
        if !frames.iter().any(|(c, d)| *c == code && d == dir) {
            missing.push(format!("{name} ({code:#04x}, {dir})"));
        }
    }
    for (kind, key) in [("card-reader-ack", "ack"), ("card-reader-ack", "nak"), ("crc16", "crc")] {
        if !examples.iter().any(|ex| ex.kind == kind && ex.get(key).is_some()) {
            missing.push(format!("{kind} with `{key}`"));
        }
    }
    assert!(missing.is_empty(), "docs/card-reader-protocol.md has no example of: {}", missing.join(", "));
}

/// The code tables: §3 and §4 names, §4.1 tags, §5 ERROR codes and kinds, IDLE reasons.
pub fn tables(doc: &str) -> usize {
    let mut rows = 0;
    for (section, first) in [("## 3. Host", "CMD"), ("## 4. Reader", "CMD")] {
        for row in table(doc, section, first) {
            let code = super::blocks::number(&row[0]).unwrap() as u8;
            assert!(CODES.contains(&(row[1].as_str(), code)), "{section}: {} {} is not the codec's", row[0], row[1]);
            rows += 1;
        }
    }
    let tags: Vec<u8> =
        table(doc, "### 4.1", "Tag").iter().map(|r| super::blocks::number(&r[0]).unwrap() as u8).collect();
    let known = [tag::MASKED_PAN, tag::KSN, tag::PAYLOAD, tag::ENTRY_MODE, tag::PIN_BLOCK, tag::CVM, tag::AID];
    assert_eq!(tags, [&known[..], &[tag::APPLICATION_LABEL]].concat(), "§4.1: the tags the codec reads");
    rows += tags.len();
    for row in table(doc, "## 5. ERROR", "Code") {
        let code = ErrorCode(super::blocks::number(&row[0]).unwrap() as u8);
        assert_eq!(code.name(), row[1], "§5: {}", row[0]);
        let class = match row[2].as_str() {
            "retryable" => ErrorClass::Retryable,
            "ends txn" => ErrorClass::EndsTransaction,
            "command refused" => ErrorClass::CommandRefused,
            "out of service" => ErrorClass::OutOfService,
            other => panic!("§5: kind {other}"),
        };
        assert_eq!(code.class(), class, "§5: {}", row[0]);
        rows += 1;
    }
    let reasons = doc.split("IDLE reasons: ").nth(1).and_then(|r| r.split("\n\n").next()).unwrap().replace('\n', " ");
    for pair in reasons.trim_end_matches('.').split(", ") {
        let (n, name) = pair.split_once(' ').unwrap();
        let c = super::blocks::number(n).unwrap() as u8;
        assert_eq!(screaming(&format!("{:?}", IdleReason::from_code(c))), name.trim_matches('`'), "IDLE {n}");
        rows += 1;
    }
    assert_eq!(rows, 14 + 8 + 15 + 9, "every row of the code tables read");
    rows
}
