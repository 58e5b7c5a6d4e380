//! Serial framing [P16 §3]: `DLE STX <APDU, each 10 doubled> DLE ETX CRC-lo CRC-hi`,
//! the CRC over the unstuffed APDU and ETX [P16 §3.3]; the receiver's byte-by-byte
//! deframer. Pure: the line itself is in [`crate::link`].

/// Data link escape.
pub const DLE: u8 = 0x10;
/// Start of text.
pub const STX: u8 = 0x02;
/// End of text.
pub const ETX: u8 = 0x03;
/// Positive acknowledgement.
pub const ACK: u8 = 0x06;
/// Negative acknowledgement.
pub const NAK: u8 = 0x15;

/// The CRC variant of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrcVariant {
    /// CRC-16/KERMIT: polynomial 0x1021 reflected (0x8408), init 0, no final XOR. The
    /// spec's "x16+x15+x10+x3" is exactly 0x8408's bits (15, 10, 3) plus x16: the
    /// reflected form, so a reflected (LSB-first) CRC. posagent's choice (docs/zvt.md).
    #[default]
    Kermit,
    /// CRC-16/XMODEM: polynomial 0x1021, MSB first, init 0 — what the name in the text
    /// says, kept to test a PT against the other reading.
    XModem,
}

/// The CRC of `bytes`.
pub fn crc(variant: CrcVariant, bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        match variant {
            CrcVariant::Kermit => {
                crc ^= u16::from(byte);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
                }
            }
            CrcVariant::XModem => {
                crc ^= u16::from(byte) << 8;
                for _ in 0..8 {
                    crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
                }
            }
        }
    }
    crc
}

/// The CRC of a frame: over the APDU and ETX.
pub fn frame_crc(variant: CrcVariant, apdu: &[u8]) -> u16 {
    let mut covered = apdu.to_vec();
    covered.push(ETX);
    crc(variant, &covered)
}

/// A whole frame for `apdu`. The CRC bytes are not stuffed (the spec doubles DLEs of
/// the APDU only [P16 §3.1]).
pub fn frame(variant: CrcVariant, apdu: &[u8]) -> Vec<u8> {
    let mut out = vec![DLE, STX];
    for &byte in apdu {
        out.push(byte);
        if byte == DLE {
            out.push(DLE);
        }
    }
    out.extend([DLE, ETX]);
    out.extend(frame_crc(variant, apdu).to_le_bytes());
    out
}

/// What one received byte did to the deframer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing complete yet.
    More,
    /// A byte outside any frame (not `DLE STX`): an ACK/NAK or line noise.
    Outside(u8),
    /// A frame arrived; `crc_ok` says whether its CRC matched.
    Frame {
        /// The unstuffed APDU.
        apdu: Vec<u8>,
        /// Whether the CRC matched.
        crc_ok: bool,
    },
    /// A `DLE` followed by anything but `DLE` or `ETX` inside a frame.
    Broken,
}

/// The receiver's deframer, fed one byte at a time.
#[derive(Debug, Clone, Default)]
pub struct Deframer {
    state: State,
    apdu: Vec<u8>,
    crc_lo: u8,
    variant: CrcVariant,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    GotDle,
    InFrame,
    InFrameDle,
    CrcLo,
    CrcHi,
}

impl Deframer {
    /// A deframer checking `variant`.
    pub fn new(variant: CrcVariant) -> Self {
        Self { variant, ..Self::default() }
    }

    /// Whether a frame has started and not ended.
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Idle | State::GotDle)
    }

    /// Forgets a half-received frame (after a T1 timeout).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.apdu.clear();
    }

    /// Feeds one byte.
    pub fn push(&mut self, byte: u8) -> Step {
        match (self.state, byte) {
            (State::Idle, DLE) => self.state = State::GotDle,
            (State::Idle, other) => return Step::Outside(other),
            (State::GotDle, STX) => {
                self.apdu.clear();
                self.state = State::InFrame;
            }
            (State::GotDle, other) => {
                self.state = State::Idle;
                return Step::Outside(other);
            }
            (State::InFrame, DLE) => self.state = State::InFrameDle,
            (State::InFrame, other) => self.apdu.push(other),
            (State::InFrameDle, DLE) => {
                self.apdu.push(DLE);
                self.state = State::InFrame;
            }
            (State::InFrameDle, ETX) => self.state = State::CrcLo,
            (State::InFrameDle, _) => {
                self.reset();
                return Step::Broken;
            }
            (State::CrcLo, lo) => {
                self.crc_lo = lo;
                self.state = State::CrcHi;
            }
            (State::CrcHi, hi) => {
                let apdu = std::mem::take(&mut self.apdu);
                self.state = State::Idle;
                let crc_ok = u16::from_le_bytes([self.crc_lo, hi]) == frame_crc(self.variant, &apdu);
                return Step::Frame { apdu, crc_ok };
            }
        }
        Step::More
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn crc_variants_match_their_catalogue_check_values() {
        // The CRC catalogue's check value over "123456789".
        assert_eq!(crc(CrcVariant::Kermit, b"123456789"), 0x2189);
        assert_eq!(crc(CrcVariant::XModem, b"123456789"), 0x31C3);
    }

    #[test]
    fn frames_stuff_dle_and_deframe_back() {
        let apdu = [0x06, 0xD1, 0x02, 0x10, b'A'];
        let bytes = frame(CrcVariant::Kermit, &apdu);
        assert_eq!(&bytes[..9], &[DLE, STX, 0x06, 0xD1, 0x02, 0x10, 0x10, b'A', DLE]);
        assert_eq!(bytes[9], ETX);
        let mut deframer = Deframer::new(CrcVariant::Kermit);
        let steps: Vec<Step> = bytes.iter().map(|&b| deframer.push(b)).collect();
        assert_eq!(steps.last(), Some(&Step::Frame { apdu: apdu.to_vec(), crc_ok: true }));
    }

    #[test]
    fn a_wrong_crc_and_a_stray_dle_are_seen() {
        let mut bytes = frame(CrcVariant::Kermit, &[0x80, 0x00, 0x00]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        let mut deframer = Deframer::new(CrcVariant::Kermit);
        let step = bytes.iter().map(|&b| deframer.push(b)).last();
        assert_eq!(step, Some(Step::Frame { apdu: vec![0x80, 0, 0], crc_ok: false }));
        let mut deframer = Deframer::new(CrcVariant::Kermit);
        let steps: Vec<Step> = [DLE, STX, 0x80, DLE, 0x41].iter().map(|&b| deframer.push(b)).collect();
        assert_eq!(steps.last(), Some(&Step::Broken));
        assert_eq!(Deframer::new(CrcVariant::Kermit).push(ACK), Step::Outside(ACK));
    }
}
