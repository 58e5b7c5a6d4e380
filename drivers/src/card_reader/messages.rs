//! Commands to and events from the card reader, and their payloads.

use super::frame::encode;

/// Command codes (host → reader).
pub mod cmd {
    /// Wait for a card for an amount.
    pub const ENABLE: u8 = 0x10;
    /// Stop waiting; drop any card read.
    pub const CANCEL: u8 = 0x11;
    /// Beep `n` times.
    pub const BEEP: u8 = 0x12;
    /// Set the LED.
    pub const LED: u8 = 0x13;
    /// Ask for the firmware version and model.
    pub const INFO: u8 = 0x14;
}

/// Event codes (reader → host).
pub mod evt {
    /// A card was presented (entry mode follows).
    pub const CARD_PRESENTED: u8 = 0x81;
    /// The encrypted card read (TLV).
    pub const CARD_READ: u8 = 0x82;
    /// The card was removed.
    pub const CARD_REMOVED: u8 = 0x83;
    /// The reader failed (code, text).
    pub const ERROR: u8 = 0x84;
    /// The reader stopped waiting (after CANCEL or its own timeout).
    pub const IDLE: u8 = 0x86;
    /// Answer to INFO: firmware version, NUL, model.
    pub const INFO: u8 = 0x87;
}

/// TLV tags of a card read.
pub mod tag {
    /// Masked PAN, ASCII (`411111******1111`).
    pub const MASKED_PAN: u8 = 0x01;
    /// Key serial number (raw bytes).
    pub const KSN: u8 = 0x02;
    /// Encrypted track/EMV payload (raw bytes).
    pub const PAYLOAD: u8 = 0x03;
    /// Entry mode, one byte.
    pub const ENTRY_MODE: u8 = 0x04;
    /// Encrypted PIN block (raw bytes).
    pub const PIN_BLOCK: u8 = 0x05;
}

/// How the card was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryMode {
    /// Chip inserted.
    Chip,
    /// Tapped.
    Contactless,
    /// Swiped.
    Swipe,
}

impl EntryMode {
    /// Wire byte.
    pub fn code(self) -> u8 {
        match self {
            EntryMode::Chip => 1,
            EntryMode::Contactless => 2,
            EntryMode::Swipe => 3,
        }
    }

    /// From the wire byte.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(EntryMode::Chip),
            2 => Some(EntryMode::Contactless),
            3 => Some(EntryMode::Swipe),
            _ => None,
        }
    }

    /// Name used by the acquirer API.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryMode::Chip => "CHIP",
            EntryMode::Contactless => "CONTACTLESS",
            EntryMode::Swipe => "SWIPE",
        }
    }
}

/// An encrypted card read. Holds no clear card number.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    /// Masked PAN.
    pub masked_pan: String,
    /// Key serial number.
    pub ksn: Vec<u8>,
    /// Encrypted payload.
    pub payload: Vec<u8>,
    /// How it was read.
    pub entry_mode: EntryMode,
    /// Encrypted PIN block, if a PIN was entered.
    pub pin_block: Option<Vec<u8>>,
}

impl std::fmt::Debug for CardRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardRead")
            .field("masked_pan", &self.masked_pan)
            .field("entry_mode", &self.entry_mode)
            .finish_non_exhaustive()
    }
}

/// An event from the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Card presented.
    CardPresented(EntryMode),
    /// Card read.
    CardRead(CardRead),
    /// Card removed.
    CardRemoved,
    /// Reader error.
    Error {
        /// Reader's code.
        code: u8,
        /// Reader's text.
        text: String,
    },
    /// Not waiting for a card any more.
    Idle,
    /// The reader's firmware version and model (answer to INFO).
    Info {
        /// Firmware version, e.g. `2.4.1`.
        firmware: String,
        /// Model name.
        model: String,
    },
}

/// A payload that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed card reader event {code:#04x}: {why}")]
pub struct EventError {
    /// Event code.
    pub code: u8,
    /// What is wrong.
    pub why: &'static str,
}

/// ENABLE flag: the customer must insert the card (chip) and enter the PIN.
pub const ENABLE_PIN: u8 = 0x01;

/// The ENABLE frame for `amount` minor units of `currency`, waiting `timeout_secs`.
pub fn enable(amount: u32, currency: &str, timeout_secs: u8) -> Vec<u8> {
    enable_with(amount, currency, timeout_secs, 0)
}

/// ENABLE with `flags` ([`ENABLE_PIN`]); without flags the frame is the 8-byte form.
pub fn enable_with(amount: u32, currency: &str, timeout_secs: u8, flags: u8) -> Vec<u8> {
    let mut d = amount.to_be_bytes().to_vec();
    let c = currency.as_bytes();
    d.extend_from_slice(&[
        c.first().copied().unwrap_or(b'?'),
        c.get(1).copied().unwrap_or(b'?'),
        c.get(2).copied().unwrap_or(b'?'),
    ]);
    d.push(timeout_secs);
    if flags != 0 {
        d.push(flags);
    }
    encode(cmd::ENABLE, &d)
}

/// The INFO answer's payload: `firmware` NUL `model` (for readers and simulators).
pub fn info_payload(firmware: &str, model: &str) -> Vec<u8> {
    let mut d = firmware.as_bytes().to_vec();
    d.push(0);
    d.extend_from_slice(model.as_bytes());
    d
}

fn parse_info(data: &[u8]) -> Result<Event, EventError> {
    let bad = |why| EventError { code: evt::INFO, why };
    let nul = data.iter().position(|&b| b == 0).ok_or(bad("no NUL after the firmware version"))?;
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .ok()
            .filter(|t| t.chars().all(|c| c.is_ascii_graphic() || c == ' ') && t.len() <= 32)
            .map(str::to_string)
    };
    let firmware = text(&data[..nul]).filter(|f| !f.is_empty()).ok_or(bad("firmware version is not 1-32 ASCII"))?;
    let model = text(&data[nul + 1..]).ok_or(bad("model is not up to 32 ASCII"))?;
    Ok(Event::Info { firmware, model })
}

/// Encodes the TLV of a card read (for readers and simulators).
pub fn card_read_tlv(r: &CardRead) -> Vec<u8> {
    let mut out = vec![];
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
    out
}

fn parse_card_read(data: &[u8]) -> Result<CardRead, EventError> {
    let bad = |why| EventError { code: evt::CARD_READ, why };
    let (mut pan, mut ksn, mut payload, mut mode, mut pin) = (None, None, None, None, None);
    let mut i = 0;
    while i < data.len() {
        if i + 3 > data.len() {
            return Err(bad("truncated TLV header"));
        }
        let (t, l) = (data[i], usize::from(u16::from_be_bytes([data[i + 1], data[i + 2]])));
        let v = data.get(i + 3..i + 3 + l).ok_or(bad("truncated TLV value"))?;
        match t {
            tag::MASKED_PAN => pan = Some(String::from_utf8(v.to_vec()).map_err(|_| bad("masked PAN is not ASCII"))?),
            tag::KSN => ksn = Some(v.to_vec()),
            tag::PAYLOAD => payload = Some(v.to_vec()),
            tag::ENTRY_MODE => mode = v.first().copied().and_then(EntryMode::from_code),
            tag::PIN_BLOCK => pin = Some(v.to_vec()),
            _ => {} // unknown tags are skipped (newer reader firmware)
        }
        i += 3 + l;
    }
    let masked_pan = pan.ok_or(bad("no masked PAN"))?;
    // A reader must never send a clear PAN: 6 digits, at least 3 masked, 4 digits.
    let b = masked_pan.as_bytes();
    let masked = (13..=19).contains(&b.len())
        && b[..6].iter().all(u8::is_ascii_digit)
        && b[b.len() - 4..].iter().all(u8::is_ascii_digit)
        && b[6..b.len() - 4].iter().all(|&c| c == b'*');
    if !masked {
        return Err(bad("the PAN is not masked; the reader must send only a masked PAN"));
    }
    Ok(CardRead {
        masked_pan,
        ksn: ksn.ok_or(bad("no key serial number"))?,
        payload: payload.filter(|p| !p.is_empty()).ok_or(bad("no encrypted payload"))?,
        entry_mode: mode.ok_or(bad("no or unknown entry mode"))?,
        pin_block: pin,
    })
}

/// Parses an event frame.
pub fn parse_event(code: u8, data: &[u8]) -> Result<Event, EventError> {
    match code {
        evt::CARD_PRESENTED => data
            .first()
            .copied()
            .and_then(EntryMode::from_code)
            .map(Event::CardPresented)
            .ok_or(EventError { code, why: "unknown entry mode" }),
        evt::CARD_READ => parse_card_read(data).map(Event::CardRead),
        evt::CARD_REMOVED => Ok(Event::CardRemoved),
        evt::ERROR => Ok(Event::Error {
            code: data.first().copied().unwrap_or(0),
            text: String::from_utf8_lossy(data.get(1..).unwrap_or(&[])).into_owned(),
        }),
        evt::IDLE => Ok(Event::Idle),
        evt::INFO => parse_info(data),
        _ => Err(EventError { code, why: "unknown event" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read() -> CardRead {
        CardRead {
            masked_pan: "411111******1111".into(),
            ksn: vec![0xFF, 0xFF, 0x98, 0x76],
            payload: vec![1, 2, 3, 4],
            entry_mode: EntryMode::Contactless,
            pin_block: None,
        }
    }

    #[test]
    fn card_read_round_trips_and_tlv_is_byte_exact() {
        let tlv = card_read_tlv(&read());
        assert_eq!(&tlv[..3], &[0x01, 0x00, 0x10]);
        assert_eq!(&tlv[tlv.len() - 4..], &[0x04, 0x00, 0x01, 0x02]);
        assert_eq!(parse_event(evt::CARD_READ, &tlv), Ok(Event::CardRead(read())));
    }

    #[test]
    fn a_clear_pan_is_refused() {
        let mut r = read();
        r.masked_pan = "4111111111111111".into();
        assert!(parse_event(evt::CARD_READ, &card_read_tlv(&r)).is_err());
    }

    #[test]
    fn truncated_and_unknown_events_are_errors_not_panics() {
        let tlv = card_read_tlv(&read());
        for cut in 0..tlv.len() {
            let _ = parse_event(evt::CARD_READ, &tlv[..cut]);
        }
        assert!(parse_event(0x99, &[]).is_err());
        assert!(parse_event(evt::CARD_PRESENTED, &[9]).is_err());
        assert!(!format!("{:?}", read()).contains("payload"), "Debug hides the encrypted data");
    }

    #[test]
    fn info_is_firmware_nul_model() {
        let d = info_payload("2.4.1", "SR-300");
        assert_eq!(d, b"2.4.1\0SR-300");
        assert_eq!(parse_event(evt::INFO, &d), Ok(Event::Info { firmware: "2.4.1".into(), model: "SR-300".into() }));
        assert!(parse_event(evt::INFO, b"2.4.1").is_err(), "no NUL");
        assert!(parse_event(evt::INFO, b"\0SR-300").is_err(), "no version");
        assert!(parse_event(evt::INFO, b"2.4\x1b\0m").is_err(), "control bytes");
    }

    #[test]
    fn enable_payload() {
        let f = enable(1250, "EUR", 30);
        assert_eq!(&f[3..12], &[cmd::ENABLE, 0, 0, 0x04, 0xE2, b'E', b'U', b'R', 30]);
        let f = enable_with(1250, "EUR", 30, ENABLE_PIN);
        assert_eq!(&f[1..13], &[0, 10, cmd::ENABLE, 0, 0, 0x04, 0xE2, b'E', b'U', b'R', 30, 0x01]);
    }
}
