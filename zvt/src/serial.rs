//! The RS-232 link layer [P16 §3]: `DLE STX <APDU, every DLE doubled> DLE ETX CRC-lo
//! CRC-hi`, answered by one byte ACK `06` or NAK `15`.
//!
//! The CRC: the specification names "CRC-XModem with polynomial x16+x15+x10+x3" [P16
//! §3.3]; what terminals and the open implementations (Portalum.Zvt `ChecksumHelper`,
//! wirelane/ecrterm `crc.py`) compute is CRC-16/KERMIT: polynomial 0x1021 reflected
//! (0x8408), initial value 0, no final XOR, over the unstuffed APDU and ETX, low byte
//! sent first. The tests below reproduce ecrterm's frames.

/// DLE, the escape byte.
pub const DLE: u8 = 0x10;
/// STX, after DLE: a block starts.
pub const STX: u8 = 0x02;
/// ETX, after DLE: a block ends.
pub const ETX: u8 = 0x03;
/// Positive acknowledgement of a block [P16 §3.2.1].
pub const ACK: u8 = 0x06;
/// Negative acknowledgement of a block [P16 §3.2.2].
pub const NAK: u8 = 0x15;

/// The largest block accepted (an APDU with the extended length field, stuffed bytes not counted).
const MAX_BLOCK: usize = 5 + crate::apdu::MAX_DATA_LEN;

const KERMIT: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_KERMIT);

/// The block CRC over `apdu_and_etx` (the unstuffed APDU followed by `03`).
pub fn crc(apdu_and_etx: &[u8]) -> u16 {
    KERMIT.checksum(apdu_and_etx)
}

/// The block for an APDU's bytes.
pub fn frame(apdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(apdu.len() + 8);
    out.extend_from_slice(&[DLE, STX]);
    for &byte in apdu {
        out.push(byte);
        if byte == DLE {
            out.push(DLE);
        }
    }
    out.extend_from_slice(&[DLE, ETX]);
    let mut digest = KERMIT.digest();
    digest.update(apdu);
    digest.update(&[ETX]);
    out.extend_from_slice(&digest.finalize().to_le_bytes());
    out
}

/// What the link delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// A block with a good CRC: the unstuffed APDU (answer it with [`ACK`]).
    Frame(Vec<u8>),
    /// An ACK byte between blocks.
    Ack,
    /// A NAK byte between blocks.
    Nak,
    /// A complete block whose CRC did not match (answer it with [`NAK`]).
    BadCrc,
    /// Bytes skipped: outside a block, or a block broken off by a stray escape.
    Garbage(Vec<u8>),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between blocks.
    #[default]
    Idle,
    /// Between blocks, after a DLE.
    IdleDle,
    /// Inside a block.
    Block,
    /// Inside a block, after a DLE.
    BlockDle,
    /// After DLE ETX: this many CRC bytes read.
    Crc(u8),
}

/// Turns received bytes into [`FrameEvent`]s; resynchronises on the next `DLE STX`.
#[derive(Debug, Default)]
pub struct FrameReader {
    state: State,
    block: Vec<u8>,
    crc_low: u8,
    garbage: Vec<u8>,
}

impl FrameReader {
    /// A reader between blocks.
    pub fn new() -> Self {
        FrameReader::default()
    }

    /// Feeds received bytes; returns what they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<FrameEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            self.step(byte, &mut events);
        }
        if self.state == State::Idle {
            self.flush_garbage(&mut events);
        }
        events
    }

    /// Whether a block is partly received (for the T1 inter-byte timeout [P16 §3.4.1]).
    pub fn in_block(&self) -> bool {
        !matches!(self.state, State::Idle | State::IdleDle)
    }

    /// Drops a partial block (after T1 expired); returns its bytes as garbage, if any.
    pub fn reset(&mut self) -> Option<FrameEvent> {
        let mut events = Vec::new();
        if self.in_block() {
            self.abandon_block();
        }
        self.state = State::Idle;
        self.flush_garbage(&mut events);
        events.pop()
    }

    fn step(&mut self, byte: u8, events: &mut Vec<FrameEvent>) {
        self.state = match (self.state, byte) {
            (State::Idle, DLE) => State::IdleDle,
            (State::Idle, ACK) => self.between_blocks(FrameEvent::Ack, events),
            (State::Idle, NAK) => self.between_blocks(FrameEvent::Nak, events),
            (State::Idle, other) => {
                self.garbage.push(other);
                State::Idle
            }
            (State::IdleDle, STX) => self.start_block(events),
            (State::IdleDle, DLE) => {
                self.garbage.push(DLE);
                State::IdleDle
            }
            (State::IdleDle, other) => {
                self.garbage.extend_from_slice(&[DLE, other]);
                State::Idle
            }
            (State::Block, DLE) => State::BlockDle,
            (State::Block, other) => self.block_byte(other),
            (State::BlockDle, DLE) => self.block_byte(DLE),
            (State::BlockDle, ETX) => State::Crc(0),
            (State::BlockDle, STX) => {
                self.abandon_block();
                self.start_block(events)
            }
            (State::BlockDle, other) => {
                self.abandon_block();
                self.garbage.extend_from_slice(&[DLE, other]);
                State::Idle
            }
            (State::Crc(0), low) => {
                self.crc_low = low;
                State::Crc(1)
            }
            (State::Crc(_), high) => self.finish_block(high, events),
        };
    }

    fn between_blocks(&mut self, event: FrameEvent, events: &mut Vec<FrameEvent>) -> State {
        self.flush_garbage(events);
        events.push(event);
        State::Idle
    }

    fn start_block(&mut self, events: &mut Vec<FrameEvent>) -> State {
        self.flush_garbage(events);
        self.block.clear();
        State::Block
    }

    fn block_byte(&mut self, byte: u8) -> State {
        if self.block.len() >= MAX_BLOCK {
            self.abandon_block();
            self.garbage.push(byte);
            return State::Idle;
        }
        self.block.push(byte);
        State::Block
    }

    /// The partial block becomes garbage (as it was received, DLE STX included).
    fn abandon_block(&mut self) {
        self.garbage.extend_from_slice(&[DLE, STX]);
        self.garbage.append(&mut self.block);
    }

    fn finish_block(&mut self, crc_high: u8, events: &mut Vec<FrameEvent>) -> State {
        let received = u16::from_le_bytes([self.crc_low, crc_high]);
        let mut digest = KERMIT.digest();
        digest.update(&self.block);
        digest.update(&[ETX]);
        if digest.finalize() == received {
            events.push(FrameEvent::Frame(std::mem::take(&mut self.block)));
        } else {
            self.block.clear();
            events.push(FrameEvent::BadCrc);
        }
        State::Idle
    }

    fn flush_garbage(&mut self, events: &mut Vec<FrameEvent>) {
        if !self.garbage.is_empty() {
            events.push(FrameEvent::Garbage(std::mem::take(&mut self.garbage)));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
    }

    /// Frames from wirelane/ecrterm `ecrterm/tests/test_data_encoding.py` and
    /// `test_parsing.py` (the P16 text prints no CRC example): APDU, frame.
    const ECRTERM_FRAMES: &[(&str, &str)] = &[
        ("80 00 00", "10 02 80 00 00 10 03 F5 1F"),
        ("84 9C 00", "10 02 84 9C 00 10 03 C3 41"),
        ("06 00 06 12 34 56 BA 09 78", "10 02 06 00 06 12 34 56 BA 09 78 10 03 24 C3"),
        ("06 93 03 12 34 56", "10 02 06 93 03 12 34 56 10 03 CA A4"),
        ("06 01 0A 04 00 00 00 01 10 00 49 09 78", "10 02 06 01 0A 04 00 00 00 01 10 10 00 49 09 78 10 03 F2 FF"),
        ("06 70 00", "10 02 06 70 00 10 03 D9 F9"),
        ("06 18 00", "10 02 06 18 00 10 03 56 3A"),
        ("05 01 03 12 34 56", "10 02 05 01 03 12 34 56 10 03 E0 43"),
        ("05 01 05 12 34 56 03 04", "10 02 05 01 05 12 34 56 03 04 10 03 30 94"),
        ("06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00", "10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11"),
    ];

    #[test]
    fn crc_is_kermit_on_every_known_frame() {
        for (apdu, expected) in ECRTERM_FRAMES {
            assert_eq!(frame(&hex(apdu)), hex(expected), "frame of {apdu}");
            let mut reader = FrameReader::new();
            assert_eq!(reader.push(&hex(expected)), vec![FrameEvent::Frame(hex(apdu))]);
        }
        // The catalogue check value of CRC-16/KERMIT.
        assert_eq!(crc(b"123456789"), 0x2189);
        assert_eq!(crc(&hex("80 00 00 03")), 0x1FF5);
    }

    #[test]
    fn reader_reports_acks_bad_crc_garbage_and_resyncs() {
        let mut reader = FrameReader::new();
        let good = frame(&[0x80, 0x00, 0x00]);
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0xFF;
        let mut stream = vec![ACK, 0x41, 0x42, NAK];
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(&[DLE, STX, 0x06]);
        stream.extend_from_slice(&good);
        let events = reader.push(&stream);
        assert_eq!(
            events,
            vec![
                FrameEvent::Ack,
                FrameEvent::Garbage(vec![0x41, 0x42]),
                FrameEvent::Nak,
                FrameEvent::BadCrc,
                FrameEvent::Garbage(vec![DLE, STX, 0x06]),
                FrameEvent::Frame(vec![0x80, 0x00, 0x00]),
            ]
        );
    }

    #[test]
    fn frames_split_byte_by_byte_and_a_reset_after_t1() {
        let apdu = [0x06, 0x01, 0x02, 0x10, 0x10];
        let mut reader = FrameReader::new();
        let mut events = Vec::new();
        for byte in frame(&apdu) {
            events.extend(reader.push(&[byte]));
        }
        assert_eq!(events, vec![FrameEvent::Frame(apdu.to_vec())]);
        reader.push(&[DLE, STX, 0x06]);
        assert!(reader.in_block());
        assert_eq!(reader.reset(), Some(FrameEvent::Garbage(vec![DLE, STX, 0x06])));
        assert!(!reader.in_block());
    }
}
