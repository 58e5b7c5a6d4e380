//! The TLV container of BMP 06 [P15 §9]: BER-like tags (`1F xx …` multi-byte, bit 6 of
//! the first byte = constructed) and lengths `< 80`, `81 nn`, `82 nn nn` [P15 §9.3].

/// One data object; `children` is filled for constructed tags (bit 6 of the first byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// The tag as a number: `0x24`, `0x1F10`.
    pub tag: u32,
    /// The data element as sent (for constructed tags: the encoded children).
    pub value: Vec<u8>,
    /// The parsed sub-objects of a constructed tag, empty for primitive ones.
    pub children: Vec<Tlv>,
}

impl Tlv {
    /// A primitive data object.
    pub fn primitive(tag: u32, value: impl Into<Vec<u8>>) -> Self {
        Self { tag, value: value.into(), children: Vec::new() }
    }

    /// A constructed data object from its children.
    pub fn constructed(tag: u32, children: Vec<Tlv>) -> Self {
        let value = encode_list(&children);
        Self { tag, value, children }
    }

    /// Whether the tag says "constructed" (bit 6 of its first byte).
    pub fn is_constructed(&self) -> bool {
        tag_bytes(self.tag).first().is_some_and(|b| b & 0x20 != 0)
    }

    /// The first object with `tag` here or below, depth first.
    pub fn find(&self, tag: u32) -> Option<&Tlv> {
        find_in(&self.children, tag)
    }

    /// The encoded object: tag, length, value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = tag_bytes(self.tag);
        out.extend(encode_length(self.value.len()));
        out.extend_from_slice(&self.value);
        out
    }
}

/// The first object with `tag` in `list` or below, depth first.
pub fn find_in(list: &[Tlv], tag: u32) -> Option<&Tlv> {
    list.iter().find_map(|t| if t.tag == tag { Some(t) } else { t.find(tag) })
}

/// Every object with `tag` in `list` and below, in order.
pub fn find_all<'a>(list: &'a [Tlv], tag: u32, out: &mut Vec<&'a Tlv>) {
    for t in list {
        if t.tag == tag {
            out.push(t);
        }
        find_all(&t.children, tag, out);
    }
}

/// The bytes of a tag number (`0x1F10` → `1F 10`).
pub fn tag_bytes(tag: u32) -> Vec<u8> {
    let bytes = tag.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(3);
    bytes[first..].to_vec()
}

/// A TLV length field [P15 §9.3.2].
pub fn encode_length(len: usize) -> Vec<u8> {
    match len {
        0..=0x7F => vec![len as u8],
        0x80..=0xFF => vec![0x81, len as u8],
        _ => {
            let len = u16::try_from(len).unwrap_or(u16::MAX);
            let [hi, lo] = len.to_be_bytes();
            vec![0x82, hi, lo]
        }
    }
}

/// A list of objects, encoded one after the other.
pub fn encode_list(list: &[Tlv]) -> Vec<u8> {
    list.iter().flat_map(Tlv::encode).collect()
}

/// Why a TLV list did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The bytes ended inside a tag or a length field.
    #[error("TLV truncated at byte {0}: the tag or length field runs past the container")]
    Truncated(usize),
    /// A length field that [P15 §9.3.2] does not allow (`80`, `83` and above).
    #[error("TLV length byte {byte:#04x} at byte {at} is not allowed (only <80, 81 nn, 82 nn nn)")]
    BadLength {
        /// The offending first length byte.
        byte: u8,
        /// Its offset in the container.
        at: usize,
    },
    /// The value runs past the end of the container.
    #[error("TLV tag {tag:#x} says {len} bytes but only {left} remain in its container")]
    Overrun {
        /// The tag.
        tag: u32,
        /// Its length field.
        len: usize,
        /// The bytes left.
        left: usize,
    },
}

/// Decodes a list of data objects, constructed ones recursively.
pub fn decode_list(bytes: &[u8]) -> Result<Vec<Tlv>, TlvError> {
    let mut list = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (tag, after_tag) = decode_tag(bytes, at)?;
        let (len, after_len) = decode_length(bytes, after_tag)?;
        let left = bytes.len() - after_len;
        let value = bytes.get(after_len..after_len + len).ok_or(TlvError::Overrun { tag, len, left })?;
        let mut object = Tlv::primitive(tag, value);
        if object.is_constructed() {
            object.children = decode_list(value)?;
        }
        list.push(object);
        at = after_len + len;
    }
    Ok(list)
}

fn decode_tag(bytes: &[u8], at: usize) -> Result<(u32, usize), TlvError> {
    let first = *bytes.get(at).ok_or(TlvError::Truncated(at))?;
    let mut tag = u32::from(first);
    let mut next = at + 1;
    if first & 0x1F == 0x1F {
        loop {
            let byte = *bytes.get(next).ok_or(TlvError::Truncated(next))?;
            tag = (tag << 8) | u32::from(byte);
            next += 1;
            if byte & 0x80 == 0 || next - at >= 4 {
                break;
            }
        }
    }
    Ok((tag, next))
}

fn decode_length(bytes: &[u8], at: usize) -> Result<(usize, usize), TlvError> {
    let first = *bytes.get(at).ok_or(TlvError::Truncated(at))?;
    let byte = |i: usize| bytes.get(i).copied().map(usize::from).ok_or(TlvError::Truncated(i));
    match first {
        0..=0x7F => Ok((usize::from(first), at + 1)),
        0x81 => Ok((byte(at + 1)?, at + 2)),
        0x82 => Ok(((byte(at + 1)? << 8) | byte(at + 2)?, at + 3)),
        _ => Err(TlvError::BadLength { byte: first, at }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registration_tlv_of_p15_5_1_decodes() {
        // [P15 §5.1] 06 0C 26 04 0A 02 06 D3 1F 73 03 00 00 00 (the container's content).
        let list = decode_list(&[0x26, 0x04, 0x0A, 0x02, 0x06, 0xD3, 0x1F, 0x73, 0x03, 0, 0, 0]).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].tag, 0x26);
        assert_eq!(list[0].children, vec![Tlv::primitive(0x0A, [0x06, 0xD3])]);
        assert_eq!(list[1], Tlv::primitive(0x1F73, [0, 0, 0]));
        assert_eq!(encode_list(&list), [0x26, 0x04, 0x0A, 0x02, 0x06, 0xD3, 0x1F, 0x73, 0x03, 0, 0, 0]);
    }

    #[test]
    fn long_lengths_and_errors() {
        assert_eq!(encode_length(0x80), vec![0x81, 0x80]);
        assert_eq!(encode_length(0x0429), vec![0x82, 0x04, 0x29]);
        assert_eq!(decode_list(&[0x07, 0x05, b'a']), Err(TlvError::Overrun { tag: 7, len: 5, left: 1 }));
        assert_eq!(decode_list(&[0x07, 0x80]), Err(TlvError::BadLength { byte: 0x80, at: 1 }));
        assert_eq!(decode_list(&[0x1F]), Err(TlvError::Truncated(1)));
    }
}
