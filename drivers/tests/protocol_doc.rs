//! docs/card-reader-protocol.md and the codec agree: every example frame in §9 is
//! what the host's encoder produces, and its CRC is the one the document prints.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent_drivers::card_reader::{Enable, Event, IdleReason, Received, Receiver, ack, cmd, encode, info_request};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/card-reader-protocol.md")).unwrap()
}

/// The hex lines of the fenced blocks of §9, in order.
fn examples() -> Vec<Vec<u8>> {
    let doc = doc();
    let section = &doc[doc.find("## 9. Examples").expect("§9 exists")..];
    let mut out = vec![];
    let mut in_block = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            out.push(line.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect());
        }
    }
    out
}

#[test]
fn the_documents_example_frames_are_the_codecs() {
    let ex = examples();
    assert_eq!(ex.len(), 4, "four examples in §9");
    assert_eq!(ex[0], encode(1, cmd::INFO, &info_request()));
    let enable =
        Enable { txn: 0x2A, amount: 1250, currency: *b"EUR", exponent: 2, timeout_secs: 30, flags: 0 }.payload();
    assert_eq!(ex[1], encode(1, cmd::ENABLE, &enable));
    assert_eq!(ex[2], encode(2, cmd::CANCEL, &0x2Au32.to_be_bytes()));
    // The reader's IDLE parses as the document says.
    let mut rx = Receiver::new();
    rx.push(&ex[3], std::time::Instant::now());
    let Some(Received::Frame(f)) = rx.next(std::time::Instant::now()) else { panic!("IDLE decodes") };
    assert_eq!(
        posagent_drivers::card_reader::parse_event(f.cmd, &f.data),
        Ok(Event::Idle { txn: 0x2A, reason: IdleReason::Canceled })
    );
    // The acknowledgements quoted in the text.
    let doc = doc();
    for seq in [1u8, 2] {
        let a = ack(seq).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
        assert!(doc.contains(&format!("`{a}`")), "the document quotes ACK {a}");
    }
}
