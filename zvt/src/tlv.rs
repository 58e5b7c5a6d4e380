//! The TLV container of BMP 06 [P15 §9.3]: BER-like tags (bit 6 of the first byte marks
//! a constructed object, `xx1F` continues the tag in further bytes, bit 8 of those says
//! another follows), lengths `00`–`7F`, `81 nn`, `82 hi lo`.

use crate::error::{DecodeError, EncodeError};

/// How deep constructed objects may nest before the input is refused (no stack exhaustion
/// on hostile input).
const MAX_DEPTH: usize = 16;

/// The objects of one TLV container, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlvContainer(pub Vec<TlvObject>);

/// One data object: its tag (the tag bytes read big-endian, `1F07` = 0x1F07) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlvObject {
    /// The tag.
    pub tag: u32,
    /// The value: bytes, or sub-objects when the tag is constructed.
    pub value: TlvValue,
}

/// A primitive value or the sub-objects of a constructed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlvValue {
    /// A primitive object's bytes.
    Primitive(Vec<u8>),
    /// A constructed object's sub-objects.
    Constructed(Vec<TlvObject>),
}

impl TlvObject {
    /// A primitive object.
    pub fn primitive(tag: u32, value: impl Into<Vec<u8>>) -> Self {
        TlvObject { tag, value: TlvValue::Primitive(value.into()) }
    }

    /// A constructed object.
    pub fn constructed(tag: u32, children: Vec<TlvObject>) -> Self {
        TlvObject { tag, value: TlvValue::Constructed(children) }
    }

    /// Whether a tag is constructed: bit 6 of its first byte [P15 §9.3.1].
    pub fn is_constructed_tag(tag: u32) -> bool {
        tag_bytes(tag)[0] & 0x20 != 0
    }

    /// A primitive object's bytes (`None` for a constructed one).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.value {
            TlvValue::Primitive(bytes) => Some(bytes),
            TlvValue::Constructed(_) => None,
        }
    }

    /// A constructed object's sub-objects (empty for a primitive one).
    pub fn children(&self) -> &[TlvObject] {
        match &self.value {
            TlvValue::Constructed(children) => children,
            TlvValue::Primitive(_) => &[],
        }
    }

    /// The first sub-object with `tag`.
    pub fn find(&self, tag: u32) -> Option<&TlvObject> {
        self.children().iter().find(|o| o.tag == tag)
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&tag_bytes(self.tag));
        let value = match &self.value {
            TlvValue::Primitive(bytes) => bytes.clone(),
            TlvValue::Constructed(children) => encode_objects(children)?,
        };
        encode_length(value.len(), out)?;
        out.extend_from_slice(&value);
        Ok(())
    }
}

impl TlvContainer {
    /// A container of these objects.
    pub fn new(objects: Vec<TlvObject>) -> Self {
        TlvContainer(objects)
    }

    /// The first top-level object with `tag`.
    pub fn find(&self, tag: u32) -> Option<&TlvObject> {
        self.0.iter().find(|o| o.tag == tag)
    }

    /// The bytes of the first top-level primitive object with `tag`.
    pub fn find_bytes(&self, tag: u32) -> Option<&[u8]> {
        self.find(tag).and_then(TlvObject::bytes)
    }

    /// Appends an object (builder style).
    pub fn with(mut self, object: TlvObject) -> Self {
        self.0.push(object);
        self
    }

    /// Removes and returns the first top-level object with `tag`.
    pub fn take(&mut self, tag: u32) -> Option<TlvObject> {
        let index = self.0.iter().position(|o| o.tag == tag)?;
        Some(self.0.remove(index))
    }

    /// Whether the container holds no objects.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The objects' bytes (without the `06 <length>` of BMP 06).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        encode_objects(&self.0)
    }

    /// BMP 06 with this container: `06 <length> <objects>`.
    pub fn encode_bmp(&self) -> Result<Vec<u8>, EncodeError> {
        let objects = self.encode()?;
        let mut out = vec![0x06];
        encode_length(objects.len(), &mut out)?;
        out.extend_from_slice(&objects);
        Ok(out)
    }

    /// Decodes the objects of a container (the bytes after `06 <length>`).
    pub fn decode(bytes: &[u8]) -> Result<TlvContainer, DecodeError> {
        decode_objects(bytes, 0, 0).map(TlvContainer)
    }
}

fn encode_objects(objects: &[TlvObject]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    for object in objects {
        object.encode_into(&mut out)?;
    }
    Ok(out)
}

/// The tag's bytes: the u32 without its leading zero bytes (at least one byte).
fn tag_bytes(tag: u32) -> Vec<u8> {
    let bytes = tag.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(3);
    bytes[first..].to_vec()
}

/// Appends a TLV length: one byte below 80, else `81 nn` or `82 hi lo` [P15 §9.3.2].
pub(crate) fn encode_length(len: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => return Err(EncodeError::TooLong { what: "TLV value", len, max: 0xFFFF }),
    }
    Ok(())
}

/// Reads a TLV length at `at`: (length, bytes it took).
pub(crate) fn decode_length(bytes: &[u8], at: usize, base: usize) -> Result<(usize, usize), DecodeError> {
    let err = |reason| DecodeError::Tlv { offset: base + at, reason };
    match bytes.get(at) {
        None => Err(err("length missing")),
        Some(&len) if len < 0x80 => Ok((usize::from(len), 1)),
        Some(0x81) => bytes.get(at + 1).map(|&n| (usize::from(n), 2)).ok_or(err("length 81 without its byte")),
        Some(0x82) => match (bytes.get(at + 1), bytes.get(at + 2)) {
            (Some(&hi), Some(&lo)) => Ok((usize::from(u16::from_be_bytes([hi, lo])), 3)),
            _ => Err(err("length 82 without its two bytes")),
        },
        Some(_) => Err(err("length byte 80 or 83–FF (invalid or RFU)")),
    }
}

/// Reads a tag at `at`: (tag, bytes it took). At most 4 tag bytes.
fn decode_tag(bytes: &[u8], at: usize, base: usize) -> Result<(u32, usize), DecodeError> {
    let err = |reason| DecodeError::Tlv { offset: base + at, reason };
    let first = *bytes.get(at).ok_or(err("tag missing"))?;
    let mut tag = u32::from(first);
    let mut used = 1;
    if first & 0x1F == 0x1F {
        loop {
            let next = *bytes.get(at + used).ok_or(err("multi-byte tag cut off"))?;
            used += 1;
            if used > 4 {
                return Err(err("tag longer than 4 bytes"));
            }
            tag = (tag << 8) | u32::from(next);
            if next & 0x80 == 0 {
                break;
            }
        }
    }
    Ok((tag, used))
}

fn decode_objects(bytes: &[u8], base: usize, depth: usize) -> Result<Vec<TlvObject>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::Tlv { offset: base, reason: "constructed objects nested too deep" });
    }
    let mut objects = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (tag, tag_len) = decode_tag(bytes, at, base)?;
        let (len, len_len) = decode_length(bytes, at + tag_len, base)?;
        let start = at + tag_len + len_len;
        let Some(value) = bytes.get(start..start + len) else {
            return Err(DecodeError::Tlv { offset: base + at, reason: "value runs past its container" });
        };
        let value = if TlvObject::is_constructed_tag(tag) {
            TlvValue::Constructed(decode_objects(value, base + start, depth + 1)?)
        } else {
            TlvValue::Primitive(value.to_vec())
        };
        objects.push(TlvObject { tag, value });
        at = start + len;
    }
    Ok(objects)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_block_container_of_a_real_terminal() {
        // Start of the 06 D3 capture 1617777384987PT.hex (bezahl-online/zvt command/testdata):
        // 06 82 04 29 { 1F07 01 03, 25 82 04 21 { 09 01 40, 07 13 "** KASSENSCHNITT **" ...
        let objects = [0x1F, 0x07, 0x01, 0x03, 0x25, 0x0A, 0x09, 0x01, 0x40, 0x07, 0x03, b'a', b'b', b'c', 0x07, 0x00];
        let tlv = TlvContainer::decode(&objects).unwrap();
        assert_eq!(tlv.find_bytes(0x1F07), Some(&[0x03][..]));
        let block = tlv.find(0x25).unwrap();
        assert_eq!(block.children().len(), 3);
        assert_eq!(block.children()[1], TlvObject::primitive(0x07, b"abc".to_vec()));
        assert_eq!(tlv.encode().unwrap(), objects);
    }

    #[test]
    fn lengths_of_p15_9_3_2() {
        let mut out = Vec::new();
        encode_length(0x7F, &mut out).unwrap();
        encode_length(0x80, &mut out).unwrap();
        encode_length(0x429, &mut out).unwrap();
        assert_eq!(out, [0x7F, 0x81, 0x80, 0x82, 0x04, 0x29]);
        assert!(decode_length(&[0x80], 0, 0).is_err());
        assert!(decode_length(&[0x83, 0, 0, 0], 0, 0).is_err());
    }

    #[test]
    fn multi_byte_tags_and_bad_input() {
        let object = TlvObject::primitive(0x1F8105, vec![1]);
        let bytes = TlvContainer::new(vec![object.clone()]).encode().unwrap();
        assert_eq!(bytes, [0x1F, 0x81, 0x05, 0x01, 0x01]);
        assert_eq!(TlvContainer::decode(&bytes).unwrap().0, vec![object]);
        assert!(TlvContainer::decode(&[0x1F, 0x81, 0x81, 0x81, 0x01, 0x00]).is_err());
        assert!(TlvContainer::decode(&[0x07, 0x05, 0x01]).is_err());
        assert!(TlvContainer::decode(&[0x25, 0x02, 0x07, 0x05]).is_err());
        let deep = [0x25u8, 0x02].repeat(40);
        assert!(TlvContainer::decode(&deep).is_err());
    }
}
