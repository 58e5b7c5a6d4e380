//! Parsing of reader events (protocol v2 §4): every event's transaction id first, the
//! CARD_READ TLV with its mandatory tags, INFO and STATUS. Nothing here panics on any
//! input; a bad payload is an [`EventError`] naming the transaction when it could be read.

use super::{CardRead, Cvm, EntryMode, ErrorCode, Event, EventError, IdleReason, ReaderInfo, ReaderState, evt, tag};
use zeroize::Zeroizing;

fn txn_of(data: &[u8]) -> Option<u32> {
    data.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether a masked PAN follows §4.1: 12–19 characters, the first 6 digits (or 8 when
/// 16 or more), `*` for the rest but the last 4 digits, at least two `*`.
pub fn masked_pan_is_valid(pan: &str) -> bool {
    let b = pan.as_bytes();
    if !(12..=19).contains(&b.len()) {
        return false;
    }
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let lead_ok = lead == 6 || (lead == 8 && b.len() >= 16);
    let tail = &b[b.len() - 4..];
    let middle = &b[lead.min(b.len() - 4)..b.len() - 4];
    lead_ok && tail.iter().all(u8::is_ascii_digit) && middle.len() >= 2 && middle.iter().all(|&c| c == b'*')
}

/// Encodes the TLV of a card read, transaction id first (for tests and simulators).
pub fn card_read_tlv(txn: u32, r: &CardRead) -> Vec<u8> {
    let mut out = txn.to_be_bytes().to_vec();
    let mut put = |t: u8, v: &[u8]| {
        out.push(t);
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    };
    put(tag::MASKED_PAN, r.masked_pan.as_bytes());
    put(tag::KSN, &r.ksn);
    put(tag::PAYLOAD, &r.payload);
    put(tag::ENTRY_MODE, &[r.entry_mode.code()]);
    if let Some(p) = &r.pin_block {
        put(tag::PIN_BLOCK, p);
    }
    put(tag::CVM, &[r.cvm.code()]);
    if let Some(aid) = &r.aid {
        put(tag::AID, aid);
    }
    if let Some(label) = &r.application_label {
        put(tag::APPLICATION_LABEL, label.as_bytes());
    }
    out
}

#[derive(Default)]
struct Tlv<'a> {
    pan: Option<&'a [u8]>,
    ksn: Option<&'a [u8]>,
    payload: Option<&'a [u8]>,
    mode: Option<&'a [u8]>,
    pin: Option<&'a [u8]>,
    cvm: Option<&'a [u8]>,
    aid: Option<&'a [u8]>,
    label: Option<&'a [u8]>,
}

fn split_tlv(data: &[u8]) -> Result<Tlv<'_>, &'static str> {
    let mut t = Tlv::default();
    let mut i = 0;
    while i < data.len() {
        let head = data.get(i..i + 3).ok_or("truncated TLV header")?;
        let (code, len) = (head[0], usize::from(u16::from_be_bytes([head[1], head[2]])));
        let value = data.get(i + 3..i + 3 + len).ok_or("truncated TLV value")?;
        let slot = match code {
            tag::MASKED_PAN => &mut t.pan,
            tag::KSN => &mut t.ksn,
            tag::PAYLOAD => &mut t.payload,
            tag::ENTRY_MODE => &mut t.mode,
            tag::PIN_BLOCK => &mut t.pin,
            tag::CVM => &mut t.cvm,
            tag::AID => &mut t.aid,
            tag::APPLICATION_LABEL => &mut t.label,
            _ => {
                i += 3 + len; // unknown tags are skipped (newer reader firmware)
                continue;
            }
        };
        if slot.replace(value).is_some() {
            return Err("a TLV tag is given twice");
        }
        i += 3 + len;
    }
    Ok(t)
}

fn parse_card_read(data: &[u8]) -> Result<CardRead, &'static str> {
    let t = split_tlv(data)?;
    let pan = std::str::from_utf8(t.pan.ok_or("no masked PAN")?).map_err(|_| "the masked PAN is not ASCII")?;
    if !masked_pan_is_valid(pan) {
        return Err("the PAN is not masked as the protocol requires; the reader must send only a masked PAN");
    }
    let ksn = t.ksn.ok_or("no key serial number")?;
    if ksn.len() != 12 {
        return Err("the key serial number is not 12 bytes (AES DUKPT)");
    }
    let payload = t.payload.ok_or("no encrypted card data")?;
    if !(16..=512).contains(&payload.len()) || payload.len() % 16 != 0 {
        return Err("the encrypted card data is not 16-512 bytes in AES blocks");
    }
    let entry_mode = match t.mode {
        Some([m]) => EntryMode::from_code(*m).ok_or("unknown entry mode")?,
        _ => return Err("no entry mode"),
    };
    let cvm = match t.cvm {
        Some([c]) => Cvm::from_code(*c).ok_or("unknown cardholder verification")?,
        _ => return Err("no cardholder verification (tag 0x06)"),
    };
    let pin_block = match t.pin {
        Some(p) if p.len() == 16 => Some(Zeroizing::new(p.to_vec())),
        Some(_) => return Err("the PIN block is not 16 bytes (ISO 9564 format 4)"),
        None => None,
    };
    if pin_block.is_some() != (cvm == Cvm::OnlinePin) {
        return Err("a PIN block comes with online PIN verification and only then");
    }
    let (aid, application_label) = application(&t, entry_mode)?;
    Ok(CardRead {
        masked_pan: pan.to_string(),
        ksn: ksn.to_vec(),
        payload: Zeroizing::new(payload.to_vec()),
        entry_mode,
        pin_block,
        cvm,
        aid,
        application_label,
    })
}

/// Tags 0x07 and 0x08: the application read, chip and contactless only.
fn application(t: &Tlv<'_>, mode: EntryMode) -> Result<(Option<Vec<u8>>, Option<String>), &'static str> {
    if mode == EntryMode::Swipe && (t.aid.is_some() || t.label.is_some()) {
        return Err("a swipe has no EMV application: no AID or application label");
    }
    let aid = match t.aid {
        Some(a) if (5..=16).contains(&a.len()) => Some(a.to_vec()),
        Some(_) => return Err("the AID (tag 0x07) is not 5-16 bytes"),
        None => None,
    };
    let label = match t.label {
        Some(l) => Some(
            std::str::from_utf8(l)
                .ok()
                .filter(|s| (1..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic() || c == ' '))
                .ok_or("the application label (tag 0x08) is not 1-16 printable ASCII characters")?
                .to_string(),
        ),
        None => None,
    };
    Ok((aid, label))
}

fn printable(b: &[u8]) -> Option<String> {
    std::str::from_utf8(b)
        .ok()
        .filter(|t| t.chars().all(|c| c.is_ascii_graphic() || c == ' ') && t.len() <= 32)
        .map(str::to_string)
}

fn parse_info(data: &[u8]) -> Result<Event, &'static str> {
    let [major, minor, rest @ ..] = data else { return Err("shorter than its version bytes") };
    if *major != super::PROTOCOL_MAJOR {
        // Another major version may lay INFO out otherwise: only the version is read.
        let (firmware, model) = (String::new(), String::new());
        return Ok(Event::Info(ReaderInfo { major: *major, minor: *minor, capabilities: 0, firmware, model }));
    }
    let [capabilities, rest @ ..] = rest else { return Err("no capabilities byte") };
    let nul = rest.iter().position(|&b| b == 0).ok_or("no NUL after the firmware version")?;
    let firmware = printable(&rest[..nul]).filter(|f| !f.is_empty()).ok_or("firmware version is not 1-32 ASCII")?;
    let model = printable(&rest[nul + 1..]).ok_or("model is not up to 32 ASCII")?;
    Ok(Event::Info(ReaderInfo { major: *major, minor: *minor, capabilities: *capabilities, firmware, model }))
}

fn parse_status(data: &[u8]) -> Result<Event, &'static str> {
    // A later minor version may append fields: they are ignored (§7).
    let [state, a, b, c, d, fault, ..] = data else { return Err("STATUS is shorter than 6 bytes") };
    let state = match state {
        0 => ReaderState::Idle,
        1 => ReaderState::Waiting,
        2 => ReaderState::ReadDelivered,
        3 => ReaderState::PinEntry,
        0xFF => ReaderState::OutOfService,
        other => ReaderState::Other(*other),
    };
    Ok(Event::Status { state, txn: u32::from_be_bytes([*a, *b, *c, *d]), fault: *fault })
}

/// Parses an event frame's payload.
pub fn parse_event(code: u8, data: &[u8]) -> Result<Event, EventError> {
    let txn = if matches!(code, evt::INFO | evt::STATUS) { None } else { txn_of(data) };
    let bad = |why| EventError { code, txn: txn.unwrap_or(0), why };
    let rest = data.get(4..).unwrap_or(&[]);
    let needs_txn = || txn.ok_or(EventError { code, txn: 0, why: "shorter than its transaction id" });
    match code {
        evt::CARD_PRESENTED => {
            let txn = needs_txn()?;
            match rest {
                [m, ..] => EntryMode::from_code(*m).map(|mode| Event::CardPresented { txn, mode }),
                _ => None,
            }
            .ok_or(bad("not a transaction id and one known entry mode"))
        }
        evt::CARD_READ => {
            let txn = needs_txn()?;
            parse_card_read(rest).map(|read| Event::CardRead { txn, read }).map_err(bad)
        }
        evt::CARD_REMOVED => Ok(Event::CardRemoved { txn: needs_txn()? }),
        evt::ERROR => {
            let txn = needs_txn()?;
            let (&c, text) = rest.split_first().ok_or(bad("no error code"))?;
            let text = String::from_utf8_lossy(&text[..text.len().min(64)]).into_owned();
            Ok(Event::Error { txn, code: ErrorCode(c), text })
        }
        evt::IDLE => match rest {
            [r, ..] => Ok(Event::Idle { txn: needs_txn()?, reason: IdleReason::from_code(*r) }),
            _ => Err(bad("not a transaction id and a reason")),
        },
        evt::INFO => parse_info(data).map_err(bad),
        evt::STATUS => parse_status(data).map_err(bad),
        _ => Err(bad("unknown event")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::card_reader::{ErrorClass, cmd};

    type Change = Box<dyn Fn(&mut CardRead)>;

    fn read() -> CardRead {
        CardRead {
            masked_pan: "411111******1111".into(),
            ksn: vec![0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0, 0, 0, 1],
            payload: Zeroizing::new(vec![7; 32]),
            entry_mode: EntryMode::Contactless,
            pin_block: None,
            cvm: Cvm::None,
            aid: Some(vec![0xA0, 0, 0, 0, 0x03, 0x10, 0x10]),
            application_label: Some("VISA CREDIT".into()),
        }
    }

    #[test]
    fn card_read_round_trips_and_tlv_is_byte_exact() {
        let tlv = card_read_tlv(0x2A, &read());
        assert_eq!(&tlv[..7], &[0, 0, 0, 0x2A, 0x01, 0x00, 0x10]);
        let tail: &[u8] =
            &[0x06, 0x00, 0x01, 0x00, 0x07, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0x08, 0x00, 0x0B];
        assert_eq!(&tlv[tlv.len() - tail.len() - 11..tlv.len() - 11], tail);
        assert!(tlv.ends_with(b"VISA CREDIT"));
        assert_eq!(parse_event(evt::CARD_READ, &tlv), Ok(Event::CardRead { txn: 0x2A, read: read() }));
    }

    #[test]
    fn invalid_reads_are_refused_with_their_transaction() {
        let cases: Vec<Change> = vec![
            Box::new(|r| r.masked_pan = "4111111111111111".into()),
            Box::new(|r| r.masked_pan = "4111********1111".into()),
            Box::new(|r| r.ksn = vec![1; 10]),
            Box::new(|r| r.payload = Zeroizing::new(vec![1; 20])),
            Box::new(|r| r.pin_block = Some(Zeroizing::new(vec![1; 16]))), // PIN block without online PIN
            Box::new(|r| r.cvm = Cvm::OnlinePin),                          // online PIN without a block
            Box::new(|r| r.aid = Some(vec![0xA0; 4])),                     // AID shorter than 5 bytes
            Box::new(|r| r.application_label = Some("VISA\u{7}".into())),  // a control character
            Box::new(|r| r.application_label = Some("A".repeat(17))),      // longer than 16
            Box::new(|r| r.entry_mode = EntryMode::Swipe),                 // a swipe with an AID
        ];
        for change in cases {
            let mut r = read();
            change(&mut r);
            let e = parse_event(evt::CARD_READ, &card_read_tlv(9, &r)).unwrap_err();
            assert_eq!(e.txn, 9, "{e}");
        }
        let mut twice = card_read_tlv(9, &read());
        twice.extend_from_slice(&[0x04, 0, 1, 1]);
        assert!(parse_event(evt::CARD_READ, &twice).is_err(), "a tag given twice");
        // A reader that sends neither AID nor label (earlier firmware) is still taken.
        let older = CardRead { aid: None, application_label: None, ..read() };
        let parsed = parse_event(evt::CARD_READ, &card_read_tlv(9, &older));
        assert_eq!(
            parsed,
            Ok(Event::CardRead { txn: 9, read: CardRead { aid: None, application_label: None, ..read() } })
        );
        // Eight leading digits are allowed on a 16-digit PAN.
        assert!(masked_pan_is_valid("41111111****1111"));
        assert!(!masked_pan_is_valid("41111111***1111"), "8 leading digits need 16 or more");
    }

    #[test]
    fn truncated_and_unknown_events_are_errors_not_panics() {
        let tlv = card_read_tlv(1, &read());
        for cut in 0..tlv.len() {
            let _ = parse_event(evt::CARD_READ, &tlv[..cut]);
        }
        for code in 0..=255u8 {
            for len in 0..8 {
                let _ = parse_event(code, &vec![0xFF; len]);
            }
        }
        assert!(parse_event(0x99, &[0, 0, 0, 1]).is_err());
        assert!(parse_event(evt::CARD_PRESENTED, &[0, 0, 0, 1, 9]).is_err());
        assert!(!format!("{:?}", read()).contains("payload"), "Debug hides the encrypted data");
        assert_eq!(cmd::OUTCOME, 0x17);
    }

    #[test]
    fn events_carry_their_transaction() {
        assert_eq!(
            parse_event(evt::IDLE, &[0, 0, 0, 0x2A, 0]),
            Ok(Event::Idle { txn: 0x2A, reason: IdleReason::Canceled })
        );
        assert_eq!(
            parse_event(evt::CARD_PRESENTED, &[0, 0, 1, 0, 2]),
            Ok(Event::CardPresented { txn: 256, mode: EntryMode::Contactless })
        );
        let e = parse_event(evt::ERROR, &[0, 0, 0, 0, 0x32, b'l', b'i', b'd']).unwrap();
        assert_eq!(e, Event::Error { txn: 0, code: ErrorCode::TAMPER, text: "lid".into() });
        assert_eq!(ErrorCode(0x01).class(), ErrorClass::Retryable);
        assert_eq!(ErrorCode(0x11).class(), ErrorClass::EndsTransaction);
        assert_eq!(ErrorCode(0x20).class(), ErrorClass::CommandRefused);
        assert_eq!(ErrorCode(0x99).class(), ErrorClass::OutOfService);
        assert_eq!(
            parse_event(evt::STATUS, &[0xFF, 0, 0, 0, 0, 0x32]),
            Ok(Event::Status { state: ReaderState::OutOfService, txn: 0, fault: 0x32 })
        );
    }

    #[test]
    fn info_is_version_capabilities_firmware_nul_model() {
        let d = b"\x02\x00\x0F2.4.1\0SR-300";
        let Ok(Event::Info(i)) = parse_event(evt::INFO, d) else { panic!("INFO parses") };
        assert_eq!((i.major, i.minor, i.firmware.as_str(), i.model.as_str()), (2, 0, "2.4.1", "SR-300"));
        assert!(i.has_pin_pad());
        assert!(parse_event(evt::INFO, b"\x02\x00\x0F2.4.1").is_err(), "no NUL");
        assert!(parse_event(evt::INFO, b"\x02\x00\x0F\0SR").is_err(), "no version");
        assert!(parse_event(evt::INFO, b"\x02").is_err());
        // Another major version: only its version is read (then refused by the host).
        let Ok(Event::Info(v3)) = parse_event(evt::INFO, b"\x03\x01whatever") else { panic!("v3 INFO") };
        assert_eq!((v3.major, v3.minor), (3, 1));
        // A later minor version's extra bytes are ignored.
        assert_eq!(
            parse_event(evt::IDLE, &[0, 0, 0, 7, 3, 0xAA]),
            Ok(Event::Idle { txn: 7, reason: IdleReason::CardDeclined })
        );
    }
}
