//! APDUs [P16 §5.2]: `CLASS INSTR LEN data`, LEN one byte (0–254) or `FF lo hi`
//! (little-endian, up to 65535) [P16 §5.2.4]; answers `80 00` / `84 xx` have the same shape.

/// One APDU: the two control bytes and the data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    /// CLASS (or CCRC of an answer: `80` / `84`).
    pub class: u8,
    /// INSTR (or APRC of an answer: the error id after `84`).
    pub instr: u8,
    /// The data block.
    pub data: Vec<u8>,
}

impl Apdu {
    /// An APDU from its control field and data.
    pub fn new(class: u8, instr: u8, data: Vec<u8>) -> Self {
        Self { class, instr, data }
    }

    /// The control field as one number, `0x060F` for `06 0F`.
    pub fn control(&self) -> u16 {
        u16::from_be_bytes([self.class, self.instr])
    }

    /// The bytes on the wire: control field, length (extended with `FF lo hi` above 254
    /// bytes), data. Data longer than 65535 bytes is cut to 65535 (a ZVT APDU cannot say more).
    pub fn encode(&self) -> Vec<u8> {
        let data = &self.data[..self.data.len().min(usize::from(u16::MAX))];
        let mut out = Vec::with_capacity(data.len() + 5);
        out.push(self.class);
        out.push(self.instr);
        match u8::try_from(data.len()) {
            Ok(len) if len < 0xFF => out.push(len),
            _ => {
                let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
                out.push(0xFF);
                out.extend_from_slice(&len.to_le_bytes());
            }
        }
        out.extend_from_slice(data);
        out
    }
}

/// The result of looking for one APDU at the start of a byte buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// Not enough bytes yet for a whole APDU.
    Incomplete,
    /// One APDU and how many bytes of the buffer it took.
    Complete(Apdu, usize),
}

/// Looks for one whole APDU at the start of `buf` (TCP: APDUs arrive split or several in
/// one segment [P16 §4]).
pub fn split_apdu(buf: &[u8]) -> Split {
    let (Some(&class), Some(&instr), Some(&len)) = (buf.first(), buf.get(1), buf.get(2)) else {
        return Split::Incomplete;
    };
    let (header, len) = if len == 0xFF {
        match (buf.get(3), buf.get(4)) {
            (Some(&lo), Some(&hi)) => (5, usize::from(u16::from_le_bytes([lo, hi]))),
            _ => return Split::Incomplete,
        }
    } else {
        (3, usize::from(len))
    };
    match buf.get(header..header + len) {
        Some(data) => Split::Complete(Apdu::new(class, instr, data.to_vec()), header + len),
        None => Split::Incomplete,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_lengths_round_trip() {
        let short = Apdu::new(0x06, 0xD1, vec![0x00, b'A']);
        assert_eq!(short.encode(), [0x06, 0xD1, 0x02, 0x00, b'A']);
        let long = Apdu::new(0x06, 0xD3, vec![0x55; 300]);
        let bytes = long.encode();
        assert_eq!(&bytes[..5], &[0x06, 0xD3, 0xFF, 0x2C, 0x01]);
        assert_eq!(split_apdu(&bytes), Split::Complete(long, 305));
        // 255 bytes must use the extended form: FF alone means "extended follows".
        assert_eq!(&Apdu::new(6, 0xD3, vec![0; 255]).encode()[..5], &[6, 0xD3, 0xFF, 0xFF, 0x00]);
    }

    #[test]
    fn a_split_apdu_waits_for_its_rest() {
        let bytes = [0x80, 0x00, 0x00, 0x04, 0xFF];
        assert_eq!(split_apdu(&bytes[..2]), Split::Incomplete);
        assert_eq!(split_apdu(&bytes), Split::Complete(Apdu::new(0x80, 0, vec![]), 3));
        assert_eq!(split_apdu(&bytes[3..]), Split::Incomplete);
    }
}
