//! The APDU `CLASS INSTR LEN data` [P16 §5.2.1–§5.2.4] and an incremental reader for a
//! TCP byte stream [P16 §4].

use crate::error::{DecodeError, EncodeError};

/// The most data bytes an APDU can carry (extended length field `FF lo hi`) [P16 §5.2.4].
pub const MAX_DATA_LEN: usize = 65_535;

/// One APDU: a command (`CLASS INSTR`) or an answer (`CCRC APRC`) with its data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    /// CLASS, or CCRC for an answer (`80`/`84`).
    pub class: u8,
    /// INSTR, or APRC for an answer.
    pub instr: u8,
    /// The data block.
    pub data: Vec<u8>,
}

impl Apdu {
    /// An APDU from its parts.
    pub fn new(class: u8, instr: u8, data: Vec<u8>) -> Self {
        Apdu { class, instr, data }
    }

    /// The APDU's bytes: LEN is one byte for 0–254 data bytes, else `FF lo hi`.
    ///
    /// Data beyond [`MAX_DATA_LEN`] cannot be expressed; it is cut off there (use
    /// [`Apdu::try_encode`] to have that refused instead).
    pub fn encode(&self) -> Vec<u8> {
        let data = &self.data[..self.data.len().min(MAX_DATA_LEN)];
        let mut out = Vec::with_capacity(data.len() + 5);
        out.push(self.class);
        out.push(self.instr);
        if data.len() <= 254 {
            out.push(data.len() as u8);
        } else {
            out.push(0xFF);
            out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    /// As [`Apdu::encode`], refusing data longer than [`MAX_DATA_LEN`].
    pub fn try_encode(&self) -> Result<Vec<u8>, EncodeError> {
        if self.data.len() > MAX_DATA_LEN {
            return Err(EncodeError::TooLong { what: "APDU data", len: self.data.len(), max: MAX_DATA_LEN });
        }
        Ok(self.encode())
    }

    /// Decodes exactly one APDU: the length field must match the bytes given.
    pub fn decode(bytes: &[u8]) -> Result<Apdu, DecodeError> {
        let (header, declared) = header_of(bytes)?.ok_or(DecodeError::TruncatedHeader {
            len: bytes.len(),
            needed: if bytes.get(2) == Some(&0xFF) { 5 } else { 3 },
        })?;
        let actual = bytes.len() - header;
        if actual != declared {
            return Err(DecodeError::LengthMismatch { declared, actual });
        }
        Ok(Apdu { class: bytes[0], instr: bytes[1], data: bytes[header..].to_vec() })
    }
}

/// The header length and declared data length, or `None` while the header is incomplete.
fn header_of(bytes: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    match bytes.get(2) {
        None => Ok(None),
        Some(0xFF) => match (bytes.get(3), bytes.get(4)) {
            (Some(&lo), Some(&hi)) => Ok(Some((5, usize::from(u16::from_le_bytes([lo, hi]))))),
            _ => Ok(None),
        },
        Some(&len) => Ok(Some((3, usize::from(len)))),
    }
}

/// Splits a TCP byte stream into APDUs: an APDU split across reads waits for its rest,
/// several in one read come out one by one [P16 §4].
#[derive(Debug, Default)]
pub struct ApduReader {
    buffer: Vec<u8>,
}

impl ApduReader {
    /// An empty reader.
    pub fn new() -> Self {
        ApduReader::default()
    }

    /// Appends bytes as they arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete APDU, or `None` until more bytes arrive.
    ///
    /// Every length 0–65535 is valid, so the stream itself cannot be malformed; the
    /// `Result` is for the day a limit is set. The contents are decoded by
    /// [`crate::decode_ecr`] / [`crate::PtMessage::decode`].
    pub fn next_apdu(&mut self) -> Result<Option<Apdu>, DecodeError> {
        let Some((header, len)) = header_of(&self.buffer)? else { return Ok(None) };
        if self.buffer.len() < header + len {
            return Ok(None);
        }
        let rest = self.buffer.split_off(header + len);
        let bytes = std::mem::replace(&mut self.buffer, rest);
        Ok(Some(Apdu { class: bytes[0], instr: bytes[1], data: bytes[header..].to_vec() }))
    }

    /// Bytes received but not yet returned as an APDU (a partial APDU).
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_length() {
        // [P16 §5.2.4]: 0–254 bytes in one length byte; more as FF lo hi.
        let short = Apdu::new(0x06, 0x0F, vec![]);
        assert_eq!(short.encode(), [0x06, 0x0F, 0x00]);
        let long = Apdu::new(0x06, 0xD3, vec![0xAA; 300]);
        let bytes = long.encode();
        assert_eq!(&bytes[..5], &[0x06, 0xD3, 0xFF, 0x2C, 0x01]);
        assert_eq!(Apdu::decode(&bytes).unwrap(), long);
        let edge = Apdu::new(0x06, 0xD3, vec![0; 254]);
        assert_eq!(edge.encode()[2], 254);
        let edge = Apdu::new(0x06, 0xD3, vec![0; 255]);
        assert_eq!(&edge.encode()[2..5], &[0xFF, 0xFF, 0x00]);
    }

    #[test]
    fn length_mismatch_and_truncation_are_errors() {
        assert_eq!(Apdu::decode(&[0x06, 0x00]), Err(DecodeError::TruncatedHeader { len: 2, needed: 3 }));
        assert_eq!(Apdu::decode(&[0x06, 0x00, 0xFF, 0x01]), Err(DecodeError::TruncatedHeader { len: 4, needed: 5 }));
        assert_eq!(
            Apdu::decode(&[0x06, 0x00, 0x02, 0x01]),
            Err(DecodeError::LengthMismatch { declared: 2, actual: 1 })
        );
        assert_eq!(
            Apdu::decode(&[0x80, 0x00, 0x00, 0x00]),
            Err(DecodeError::LengthMismatch { declared: 0, actual: 1 })
        );
        assert!(Apdu::new(0x06, 0xD3, vec![0; 65_536]).try_encode().is_err());
    }

    #[test]
    fn reader_joins_split_apdus_and_splits_joined_ones() {
        let mut reader = ApduReader::new();
        // [P15 §2.1] registration `06 00 06 12 34 56 BA 09 78`, in three pieces, then an ack.
        reader.push(&[0x06]);
        assert_eq!(reader.next_apdu().unwrap(), None);
        reader.push(&[0x00, 0x06, 0x12, 0x34]);
        assert_eq!(reader.next_apdu().unwrap(), None);
        reader.push(&[0x56, 0xBA, 0x09, 0x78, 0x80, 0x00, 0x00, 0x06]);
        let first = reader.next_apdu().unwrap().unwrap();
        assert_eq!((first.class, first.instr, first.data.len()), (0x06, 0x00, 6));
        assert_eq!(reader.next_apdu().unwrap(), Some(Apdu::new(0x80, 0x00, vec![])));
        assert_eq!(reader.next_apdu().unwrap(), None);
        assert_eq!(reader.pending(), 1);
    }
}
