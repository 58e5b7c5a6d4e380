//! Bitmap fields `<bmp><value>` [P16 §5.2.7]: their formats from the summary table
//! [P15 §13] and a strict reader that records every deviation as a [`Violation`].

use crate::bcd;
use crate::tlv::{self, Tlv};
use crate::violation::{Violation, ViolationKind};

/// How a BMP's value is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A fixed number of bytes.
    Fixed(usize),
    /// `Fx Fy` + that many bytes.
    LlVar,
    /// `Fx Fy Fz` + that many bytes.
    LllVar,
    /// BMP 06: a TLV length field + the container.
    Tlv,
}

/// The format of a BMP [P15 §13] (4C from [P15 §3.1.1]), `None` when the spec defines none.
pub fn format_of(bmp: u8) -> Option<Format> {
    use Format::{Fixed, LlVar, LllVar};
    Some(match bmp {
        0x01 | 0x02 | 0x03 | 0x05 | 0x19 | 0x27 | 0x72..=0x75 | 0x8A | 0x8C | 0xA0 | 0xD0 | 0xD2 | 0xD3 => Fixed(1),
        0xE0 | 0xE9 | 0xEA | 0xF0 | 0xF9..=0xFD => Fixed(1),
        0x04 => Fixed(6),
        0x06 => Format::Tlv,
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

/// BMPs whose value is packed BCD (digits only) [P15 §13].
pub fn is_bcd(bmp: u8) -> bool {
    matches!(bmp, 0x04 | 0x0B | 0x0C | 0x0D | 0x0E | 0x17 | 0x29 | 0x37 | 0x3D | 0x49 | 0x87 | 0x88 | 0xAA)
}

/// One field as read: the BMP and its value without the length prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The BMP number.
    pub bmp: u8,
    /// The value (for LLVAR/LLLVAR and 06 without the length prefix).
    pub value: Vec<u8>,
}

/// The fields of a data block and the TLV objects of its BMP 06.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// The fields in the order sent.
    pub list: Vec<Field>,
    /// The decoded TLV container, empty when none or when it did not decode.
    pub tlv: Vec<Tlv>,
    /// Whether a BMP 06 was present (even empty).
    pub has_tlv: bool,
}

impl Fields {
    /// The value of the first field `bmp`.
    pub fn get(&self, bmp: u8) -> Option<&[u8]> {
        self.list.iter().find(|f| f.bmp == bmp).map(|f| f.value.as_slice())
    }

    /// The BMPs in the order sent.
    pub fn order(&self) -> Vec<u8> {
        self.list.iter().map(|f| f.bmp).collect()
    }
}

/// Reads `data` as a list of BMP fields. Unknown BMPs stop the reading (their length is
/// unknown); every deviation lands in `violations` tagged with `control`.
pub fn read_fields(control: u16, data: &[u8], violations: &mut Vec<Violation>) -> Fields {
    let mut fields = Fields::default();
    let mut at = 0;
    let mut flag = |kind| violations.push(Violation { control, kind });
    while let Some(&bmp) = data.get(at) {
        let Some(format) = format_of(bmp) else {
            flag(ViolationKind::UnknownBmp(bmp));
            break;
        };
        let (prefix, len) = match value_length(format, &data[at + 1..]) {
            Ok(found) => found,
            Err(kind) => {
                flag(kind(bmp));
                break;
            }
        };
        let start = at + 1 + prefix;
        let Some(value) = data.get(start..start + len) else {
            flag(ViolationKind::Truncated(bmp));
            break;
        };
        if fields.list.iter().any(|f| f.bmp == bmp) {
            flag(ViolationKind::DuplicateBmp(bmp));
        }
        if is_bcd(bmp) && bcd::decode_digits(value).is_none() {
            flag(ViolationKind::BadBcd(bmp));
        }
        if format == Format::Tlv {
            fields.has_tlv = true;
            match tlv::decode_list(value) {
                Ok(list) => fields.tlv.extend(list),
                Err(e) => flag(ViolationKind::BadTlv(e.to_string())),
            }
        }
        fields.list.push(Field { bmp, value: value.to_vec() });
        at = start + len;
    }
    fields
}

type KindOf = fn(u8) -> ViolationKind;

/// The length prefix size and the value length of a field of `format` at `rest`.
fn value_length(format: Format, rest: &[u8]) -> Result<(usize, usize), KindOf> {
    let var = |digits: usize| -> Result<(usize, usize), KindOf> {
        let prefix = rest.get(..digits).ok_or(ViolationKind::Truncated as KindOf)?;
        let len = bcd::decode_var_length(prefix).ok_or(ViolationKind::BadVarLength as KindOf)?;
        Ok((digits, len))
    };
    match format {
        Format::Fixed(n) => Ok((0, n)),
        Format::LlVar => var(2),
        Format::LllVar => var(3),
        Format::Tlv => match rest.first() {
            None => Err(ViolationKind::Truncated),
            Some(&len @ 0..=0x7F) => Ok((1, usize::from(len))),
            Some(0x81) => rest.get(1).map(|&l| (2, usize::from(l))).ok_or(ViolationKind::Truncated),
            Some(0x82) => match rest.get(1..3) {
                Some(&[hi, lo]) => Ok((3, usize::from(u16::from_be_bytes([hi, lo])))),
                _ => Err(ViolationKind::Truncated),
            },
            Some(_) => Err(|_| ViolationKind::BadTlv("BMP 06 length byte not <80, 81 or 82".into())),
        },
    }
}

/// Checks that every field is in `allowed` (in that order when `ordered`), recording
/// [`ViolationKind::BmpNotAllowed`] / [`ViolationKind::OutOfTableOrder`].
pub fn check_table(control: u16, fields: &Fields, allowed: &[u8], ordered: bool, violations: &mut Vec<Violation>) {
    let mut highest: Option<(usize, u8)> = None;
    for bmp in fields.order() {
        let Some(rank) = allowed.iter().position(|&b| b == bmp) else {
            violations.push(Violation { control, kind: ViolationKind::BmpNotAllowed(bmp) });
            continue;
        };
        match highest {
            Some((top, after)) if ordered && rank < top => {
                violations.push(Violation { control, kind: ViolationKind::OutOfTableOrder { bmp, after } });
            }
            Some((top, _)) if rank < top => {}
            _ => highest = Some((rank, bmp)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixed_var_and_tlv_fields() {
        let data = [0x27, 0x00, 0x22, 0xF0, 0xF2, 0x12, 0xEF, 0x06, 0x04, 0x1F, 0x10, 0x01, 0x00];
        let mut violations = Vec::new();
        let fields = read_fields(0x040F, &data, &mut violations);
        assert_eq!(violations, vec![]);
        assert_eq!(fields.order(), vec![0x27, 0x22, 0x06]);
        assert_eq!(fields.get(0x22), Some(&[0x12, 0xEF][..]));
        assert_eq!(fields.tlv, vec![Tlv::primitive(0x1F10, [0])]);
    }

    #[test]
    fn unknown_bmp_bad_bcd_and_truncation_are_violations() {
        let mut violations = Vec::new();
        read_fields(0x040F, &[0x0B, 0x00, 0x1A, 0x00, 0x5E, 0x01], &mut violations);
        let kinds: Vec<_> = violations.iter().map(|v| v.kind.clone()).collect();
        assert_eq!(kinds, vec![ViolationKind::BadBcd(0x0B), ViolationKind::UnknownBmp(0x5E)]);
        violations.clear();
        read_fields(0x040F, &[0x8B, 0xF0, 0xF9, b'a'], &mut violations);
        assert_eq!(violations[0].kind, ViolationKind::Truncated(0x8B));
        violations.clear();
        read_fields(0x040F, &[0x8B, 0x01, 0x02, b'a'], &mut violations);
        assert_eq!(violations[0].kind, ViolationKind::BadVarLength(0x8B));
    }

    #[test]
    fn table_order_is_checked() {
        let mut violations = Vec::new();
        let fields = read_fields(0x040F, &[0x87, 0x00, 0x01, 0x29, 0x12, 0x34, 0x56, 0x78], &mut violations);
        check_table(0x040F, &fields, &[0x29, 0x87], true, &mut violations);
        assert_eq!(violations[0].kind, ViolationKind::OutOfTableOrder { bmp: 0x29, after: 0x87 });
    }
}
