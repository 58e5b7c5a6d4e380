//! Framing of the card reader protocol (`docs/card-reader-protocol.md`):
//! `STX LEN_H LEN_L CMD DATA… ETX LRC`, LEN = 1 + |DATA|, LRC = XOR of LEN_H … ETX.

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame.
pub const ETX: u8 = 0x03;
/// Frame received intact.
pub const ACK: u8 = 0x06;
/// Frame received damaged: send it again.
pub const NAK: u8 = 0x15;
/// Largest CMD + DATA.
pub const MAX_LEN: usize = 1024;

/// Encodes one frame.
pub fn encode(cmd: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + 1) as u16;
    let mut out = Vec::with_capacity(data.len() + 6);
    out.push(STX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(cmd);
    out.extend_from_slice(data);
    out.push(ETX);
    let lrc = out[1..].iter().fold(0u8, |a, b| a ^ b);
    out.push(lrc);
    out
}

/// What the front of a receive buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Not enough bytes yet.
    Incomplete,
    /// A lone ACK byte.
    Ack,
    /// A lone NAK byte.
    Nak,
    /// A valid frame and the bytes it used.
    Frame {
        /// Command or event code.
        cmd: u8,
        /// Payload.
        data: Vec<u8>,
        /// Bytes consumed.
        used: usize,
    },
    /// Garbage or a damaged frame: drop `skip` bytes and answer NAK if it looked like a frame.
    Invalid {
        /// Bytes to drop.
        skip: usize,
        /// Whether a frame was damaged (answer NAK) rather than noise.
        damaged: bool,
    },
}

/// Decodes the front of `buf`.
pub fn decode(buf: &[u8]) -> Decoded {
    let Some(&first) = buf.first() else { return Decoded::Incomplete };
    match first {
        ACK => return Decoded::Ack,
        NAK => return Decoded::Nak,
        STX => {}
        _ => {
            let skip = buf.iter().position(|&b| b == STX || b == ACK || b == NAK).unwrap_or(buf.len());
            return Decoded::Invalid { skip, damaged: false };
        }
    }
    if buf.len() < 3 {
        return Decoded::Incomplete;
    }
    let len = usize::from(u16::from_be_bytes([buf[1], buf[2]]));
    if len == 0 || len > MAX_LEN {
        return Decoded::Invalid { skip: 1, damaged: true };
    }
    let total = 3 + len + 2;
    if buf.len() < total {
        return Decoded::Incomplete;
    }
    let lrc = buf[1..total - 1].iter().fold(0u8, |a, b| a ^ b);
    if buf[total - 2] != ETX || buf[total - 1] != lrc {
        return Decoded::Invalid { skip: total, damaged: true };
    }
    Decoded::Frame { cmd: buf[3], data: buf[4..3 + len].to_vec(), used: total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_enable_frame() {
        // ENABLE 12,50 EUR, 30 s: 00 00 04 E2 'E' 'U' 'R' 1E
        let f = encode(0x10, &[0x00, 0x00, 0x04, 0xE2, b'E', b'U', b'R', 0x1E]);
        let lrc =
            [0x00, 0x09, 0x10, 0x00, 0x00, 0x04, 0xE2, 0x45, 0x55, 0x52, 0x1E, 0x03].iter().fold(0u8, |a, b| a ^ b);
        assert_eq!(f, vec![0x02, 0x00, 0x09, 0x10, 0x00, 0x00, 0x04, 0xE2, 0x45, 0x55, 0x52, 0x1E, 0x03, lrc]);
        assert_eq!(decode(&f), Decoded::Frame { cmd: 0x10, data: f[4..12].to_vec(), used: f.len() });
    }

    #[test]
    fn damaged_partial_and_noise() {
        let mut f = encode(0x11, &[]);
        assert_eq!(decode(&f[..3]), Decoded::Incomplete);
        let last = f.len() - 1;
        f[last] ^= 0xFF;
        assert_eq!(decode(&f), Decoded::Invalid { skip: f.len(), damaged: true });
        assert_eq!(decode(&[0x41, 0x42, STX]), Decoded::Invalid { skip: 2, damaged: false });
        assert_eq!(decode(&[STX, 0xFF, 0xFF]), Decoded::Invalid { skip: 1, damaged: true });
        assert_eq!(decode(&[ACK, STX]), Decoded::Ack);
    }
}
