//! BMPs (`<bmp-number><value>`) [P16 §5.2.7–§5.2.8]: the length table of [P15 §13], a
//! parser that refuses unknown, repeated and overrunning BMPs, and a writer.

use crate::bcd;
use crate::error::{DecodeError, EncodeError};
use crate::tlv::{self, TlvContainer};

/// How a BMP's value is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmpFormat {
    /// A fixed number of bytes.
    Fixed(usize),
    /// `Fx Fy` then 10x+y bytes.
    LlVar,
    /// `Fx Fy Fz` then 100x+10y+z bytes.
    LllVar,
    /// BMP 06: a TLV length (`<80`, `81 nn`, `82 hi lo`) then the container [P15 §9.2].
    Tlv,
}

/// The format of a BMP per the summary table [P15 §13] (and BMP 4C of [P15 §3.1.1]);
/// `None` for a BMP the specification does not define.
pub fn format_of(bmp: u8) -> Option<BmpFormat> {
    use BmpFormat::{Fixed, LlVar, LllVar, Tlv};
    Some(match bmp {
        0x01 | 0x02 | 0x03 | 0x05 | 0x19 | 0x27 | 0x8A | 0x8C | 0xA0 => Fixed(1),
        0x72..=0x75 | 0xD0 | 0xD2 | 0xD3 | 0xE0 | 0xE9 | 0xEA | 0xF0 | 0xF9..=0xFD => Fixed(1),
        0x04 => Fixed(6),
        0x06 => Tlv,
        0x0B | 0x0C | 0x37 | 0x3D | 0x88 | 0xAA => Fixed(3),
        0x0D | 0x0E | 0x17 | 0x3A | 0x49 | 0x87 => Fixed(2),
        0x29 | 0x70 | 0x71 => Fixed(4),
        0x2A => Fixed(15),
        0x3B | 0xEB => Fixed(8),
        0xBA => Fixed(5),
        0x22 | 0x23 | 0x2D | 0x4C | 0x8B | 0xA7 | 0xD1 | 0xE1..=0xE8 | 0xF1..=0xF8 => LlVar,
        0x24 | 0x2E | 0x3C | 0x60 | 0x9A | 0xAF => LllVar,
        _ => return None,
    })
}

/// One BMP found in a data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bmp<'a> {
    /// The BMP number.
    pub number: u8,
    /// Offset of the BMP number in the data block.
    pub offset: usize,
    /// Offset of `value` in the data block.
    pub value_offset: usize,
    /// The value without the BMP number and length prefix.
    pub value: &'a [u8],
}

/// The BMPs of a data block, in the order they came.
#[derive(Debug, Clone, Default)]
pub struct Bmps<'a>(pub Vec<Bmp<'a>>);

impl<'a> Bmps<'a> {
    /// Parses `data` (starting at `base` within the APDU's data block) as a sequence of BMPs.
    pub fn parse(data: &'a [u8], base: usize) -> Result<Bmps<'a>, DecodeError> {
        let mut found: Vec<Bmp<'a>> = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let number = data[at];
            let offset = base + at;
            if found.iter().any(|b| b.number == number) {
                return Err(DecodeError::DuplicateBmp { bmp: number, offset });
            }
            let format = format_of(number).ok_or(DecodeError::UnknownBmp { bmp: number, offset })?;
            let (prefix, len) = value_length(format, number, &data[at + 1..], offset)?;
            let start = at + 1 + prefix;
            let value = data.get(start..start + len).ok_or(DecodeError::Truncated {
                what: "BMP value",
                offset,
                needed: len,
                available: data.len() - start,
            })?;
            found.push(Bmp { number, offset, value_offset: base + start, value });
            at = start + len;
        }
        Ok(Bmps(found))
    }

    /// The BMP with this number.
    pub fn get(&self, number: u8) -> Option<&Bmp<'a>> {
        self.0.iter().find(|b| b.number == number)
    }

    /// A one-byte BMP's value.
    pub fn byte(&self, number: u8) -> Option<u8> {
        self.get(number).map(|b| b.value[0])
    }

    /// A BCD BMP's value as a number.
    pub fn number(&self, number: u8, what: &'static str) -> Result<Option<u64>, DecodeError> {
        self.get(number).map(|b| bcd::decode_number(b.value, what, b.value_offset)).transpose()
    }

    /// BMP 06's container.
    pub fn tlv(&self) -> Result<Option<TlvContainer>, DecodeError> {
        let Some(bmp) = self.get(0x06) else { return Ok(None) };
        TlvContainer::decode(bmp.value).map(Some).map_err(|e| shift_tlv_offset(e, bmp.value_offset))
    }
}

fn shift_tlv_offset(error: DecodeError, by: usize) -> DecodeError {
    match error {
        DecodeError::Tlv { offset, reason } => DecodeError::Tlv { offset: offset + by, reason },
        other => other,
    }
}

/// (prefix bytes, value length) of a BMP whose value (with prefix) starts at `rest`.
fn value_length(format: BmpFormat, bmp: u8, rest: &[u8], offset: usize) -> Result<(usize, usize), DecodeError> {
    match format {
        BmpFormat::Fixed(n) => Ok((0, n)),
        BmpFormat::LlVar => var_length(bmp, rest, 2, offset).map(|n| (2, n)),
        BmpFormat::LllVar => var_length(bmp, rest, 3, offset).map(|n| (3, n)),
        BmpFormat::Tlv => {
            let (len, used) = tlv::decode_length(rest, 0, offset + 1)?;
            Ok((used, len))
        }
    }
}

/// Decodes an LLVAR/LLLVAR length of `digits` bytes `Fx Fy [Fz]`.
pub(crate) fn var_length(bmp: u8, rest: &[u8], digits: usize, offset: usize) -> Result<usize, DecodeError> {
    let Some(bytes) = rest.get(..digits) else {
        return Err(DecodeError::Truncated { what: "variable length", offset, needed: digits, available: rest.len() });
    };
    let mut len = 0;
    for &byte in bytes {
        if byte & 0xF0 != 0xF0 || byte & 0x0F > 9 {
            return Err(DecodeError::BadVarLength { bmp, offset, bytes: bytes.to_vec() });
        }
        len = len * 10 + usize::from(byte & 0x0F);
    }
    Ok(len)
}

/// Builds a data block BMP by BMP.
#[derive(Debug, Clone, Default)]
pub struct BmpWriter {
    out: Vec<u8>,
}

impl BmpWriter {
    /// An empty data block.
    pub fn new() -> Self {
        BmpWriter::default()
    }

    /// Raw bytes (fixed fields without a BMP number, e.g. a password).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// A fixed-length BMP.
    pub fn fixed(&mut self, bmp: u8, value: &[u8]) -> &mut Self {
        self.out.push(bmp);
        self.out.extend_from_slice(value);
        self
    }

    /// A BCD BMP of `len` bytes.
    pub fn bcd(&mut self, bmp: u8, value: u64, len: usize, what: &'static str) -> Result<&mut Self, EncodeError> {
        let bytes = bcd::encode_number(value, len, what)?;
        Ok(self.fixed(bmp, &bytes))
    }

    /// An LLVAR BMP (at most 99 bytes).
    pub fn llvar(&mut self, bmp: u8, value: &[u8], what: &'static str) -> Result<&mut Self, EncodeError> {
        self.out.push(bmp);
        self.out.extend_from_slice(&var_prefix(value.len(), 2, what)?);
        self.out.extend_from_slice(value);
        Ok(self)
    }

    /// An LLLVAR BMP (at most 999 bytes).
    pub fn lllvar(&mut self, bmp: u8, value: &[u8], what: &'static str) -> Result<&mut Self, EncodeError> {
        self.out.push(bmp);
        self.out.extend_from_slice(&var_prefix(value.len(), 3, what)?);
        self.out.extend_from_slice(value);
        Ok(self)
    }

    /// BMP 06 with a TLV container.
    pub fn tlv(&mut self, container: &TlvContainer) -> Result<&mut Self, EncodeError> {
        let bytes = container.encode_bmp()?;
        self.out.extend_from_slice(&bytes);
        Ok(self)
    }

    /// The data block.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// The `Fx Fy [Fz]` prefix for a value of `len` bytes.
pub(crate) fn var_prefix(len: usize, digits: usize, what: &'static str) -> Result<Vec<u8>, EncodeError> {
    let max = 10usize.pow(digits as u32) - 1;
    if len > max {
        return Err(EncodeError::TooLong { what, len, max });
    }
    let mut prefix = vec![0xF0u8; digits];
    let mut rest = len;
    for byte in prefix.iter_mut().rev() {
        *byte |= (rest % 10) as u8;
        rest /= 10;
    }
    Ok(prefix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn llvar_of_p15_3_1_1() {
        // [P15 §3.1.1 BMP 22]: "F0 F3 01 23 45 (F0 F3 means 3 bytes follow)".
        let data = [0x22, 0xF0, 0xF3, 0x01, 0x23, 0x45];
        let bmps = Bmps::parse(&data, 0).unwrap();
        assert_eq!(bmps.get(0x22).unwrap().value, &[0x01, 0x23, 0x45]);
        let mut writer = BmpWriter::new();
        writer.llvar(0x22, &[0x01, 0x23, 0x45], "PAN").unwrap();
        assert_eq!(writer.finish(), data);
    }

    #[test]
    fn lllvar_of_p15_3_1_1_bmp_9a() {
        // [P15 §3.1.1]: BMP 9A's LLLVAR is "always: F1 F0 F0" (100 bytes).
        assert_eq!(var_prefix(100, 3, "9A").unwrap(), [0xF1, 0xF0, 0xF0]);
        assert!(var_prefix(1000, 3, "3C").is_err());
    }

    #[test]
    fn malformed_bmp_sequences_are_errors() {
        let unknown = Bmps::parse(&[0x04, 0, 0, 0, 0, 0x10, 0x00, 0x42, 0x01], 3).unwrap_err();
        assert_eq!(unknown, DecodeError::UnknownBmp { bmp: 0x42, offset: 10 });
        assert_eq!(unknown.nack_code(), 0x83);
        let twice = Bmps::parse(&[0x19, 0x40, 0x19, 0x40], 0).unwrap_err();
        assert_eq!(twice, DecodeError::DuplicateBmp { bmp: 0x19, offset: 2 });
        assert_eq!(twice.nack_code(), 0x9A);
        assert!(matches!(Bmps::parse(&[0x04, 0, 0], 0), Err(DecodeError::Truncated { .. })));
        assert!(matches!(Bmps::parse(&[0x3C, 0xF0, 0x0F, 0xF1], 0), Err(DecodeError::BadVarLength { .. })));
        assert!(matches!(Bmps::parse(&[0x8B, 0xF0], 0), Err(DecodeError::Truncated { .. })));
        assert!(matches!(Bmps::parse(&[0x8B, 0xF1, 0xF0, 1], 0), Err(DecodeError::Truncated { .. })));
        assert!(matches!(Bmps::parse(&[0x06, 0x05, 0x07], 0), Err(DecodeError::Truncated { .. })));
    }
}
