//! Field codecs shared by commands and PT messages: password, masked PAN, AID, card
//! name, the card type of BMP 8A / TLV 41, text BMPs.

use crate::bcd;
use crate::error::{DecodeError, EncodeError};
use crate::text;
use crate::tlv::{TlvContainer, TlvObject};

/// The TLV tag of the ZVT card-type ID when it exceeds 255 [P15 §9.4.5, §3.1.1 BMP 8A].
pub const TAG_CARD_TYPE: u32 = 0x41;

/// The 6-digit password, 3 bytes BCD [P15 §1.2].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Password(pub u32);

impl Password {
    /// Decodes the 3 bytes at the start of `data`.
    pub fn decode(data: &[u8], command: &'static str) -> Result<Password, DecodeError> {
        let bytes = data.get(..3).ok_or(DecodeError::Missing { command, what: "password (3 bytes BCD)" })?;
        bcd::decode_number(bytes, "password", 0).map(|v| Password(v as u32))
    }

    /// The 3 BCD bytes.
    pub fn encode(self) -> Result<Vec<u8>, EncodeError> {
        bcd::encode_number(u64::from(self.0), 3, "password")
    }
}

/// Decodes a PAN of BMP 22: BCD digits, `E` a masked digit (`*`), `D` a separator,
/// trailing `F` padding [P15 §3.1.1, §13].
pub fn decode_pan(bytes: &[u8], offset: usize) -> Result<String, DecodeError> {
    let mut pan = String::with_capacity(bytes.len() * 2);
    let nibbles = bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]);
    let mut padding = false;
    for nibble in nibbles {
        let c = match nibble {
            0..=9 if !padding => char::from(b'0' + nibble),
            0x0D if !padding => 'D',
            0x0E if !padding => '*',
            0x0F => {
                padding = true;
                continue;
            }
            _ => {
                return Err(DecodeError::Invalid {
                    what: "PAN (BMP 22)",
                    offset,
                    reason: "not a digit, E, D or trailing F",
                });
            }
        };
        pan.push(c);
    }
    Ok(pan)
}

/// Encodes a PAN (digits, `*` masked, `D` separator); an odd length is padded with `F`.
pub fn encode_pan(pan: &str) -> Result<Vec<u8>, EncodeError> {
    let mut nibbles = Vec::with_capacity(pan.len() + 1);
    for c in pan.chars() {
        nibbles.push(match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 0x0E,
            'D' => 0x0D,
            _ => return Err(EncodeError::Invalid { what: "PAN", reason: "only digits, '*' and 'D' allowed" }),
        });
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0x0F);
    }
    Ok(nibbles.chunks(2).map(|pair| (pair[0] << 4) | pair[1]).collect())
}

/// BMP 3B: 8 bytes ASCII, trailing zeros stripped.
pub fn decode_aid(bytes: &[u8]) -> String {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    text::decode_cp437(&bytes[..end])
}

/// BMP 3B: the text zero-padded to 8 bytes.
pub fn encode_aid(aid: &str) -> Result<[u8; 8], EncodeError> {
    let bytes = text::encode_cp437(aid);
    if bytes.len() > 8 {
        return Err(EncodeError::TooLong { what: "AID (BMP 3B)", len: bytes.len(), max: 8 });
    }
    let mut out = [0u8; 8];
    out[..bytes.len()].copy_from_slice(&bytes);
    Ok(out)
}

/// BMP 8B: null-terminated text (the terminator is optional on input).
pub fn decode_card_name(bytes: &[u8]) -> String {
    let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    text::decode_cp437(text)
}

/// BMP 8B's value: the name and its terminating zero byte.
pub fn encode_card_name(name: &str) -> Vec<u8> {
    let mut bytes = text::encode_cp437(name);
    bytes.push(0);
    bytes
}

/// The card type from BMP 8A and TLV 41: TLV 41 wins when 8A is `FF` or absent (and is
/// then removed from the container, so that encode and decode are inverses).
pub fn take_card_type(bmp_8a: Option<u8>, tlv: &mut Option<TlvContainer>) -> Option<u16> {
    if matches!(bmp_8a, None | Some(0xFF)) {
        if let Some(container) = tlv.as_mut() {
            let is_short = container.find_bytes(TAG_CARD_TYPE).is_some_and(|b| (1..=2).contains(&b.len()));
            if is_short {
                let object = container.take(TAG_CARD_TYPE);
                let bytes = object.as_ref().and_then(TlvObject::bytes).unwrap_or(&[]);
                let id = bytes.iter().fold(0u16, |acc, &b| (acc << 8) | u16::from(b));
                if container.is_empty() {
                    *tlv = None;
                }
                return Some(id);
            }
        }
    }
    bmp_8a.map(u16::from)
}

/// BMP 8A's byte for a card type, adding TLV 41 to `tlv` when it is above 255.
pub fn put_card_type(card_type: u16, tlv: &mut Option<TlvContainer>) -> u8 {
    if card_type <= 0xFF {
        return card_type as u8;
    }
    let container = tlv.get_or_insert_with(TlvContainer::default);
    container.0.insert(0, TlvObject::primitive(TAG_CARD_TYPE, card_type.to_be_bytes().to_vec()));
    0xFF
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masked_pan_of_a_real_terminal() {
        // Capture data081649050.hex (bezahl-online/zvt): 22 F0 F8 EE EE EE EE EE EE 57 26.
        let pan = decode_pan(&[0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0x57, 0x26], 0).unwrap();
        assert_eq!(pan, "************5726");
        assert_eq!(encode_pan("67*4281").unwrap(), [0x67, 0xE4, 0x28, 0x1F]);
        assert_eq!(decode_pan(&[0x67, 0xE4, 0x28, 0x1F], 0).unwrap(), "67*4281");
        assert!(decode_pan(&[0xF1], 0).is_err());
        assert!(decode_pan(&[0xAB], 0).is_err());
    }

    #[test]
    fn card_type_above_255_uses_tlv_41() {
        // [P15 §3.1.1 BMP 8A]: IDs above 255 as 8A FF plus tag 41.
        let mut tlv = None;
        assert_eq!(put_card_type(260, &mut tlv), 0xFF);
        assert_eq!(tlv.as_ref().unwrap().find_bytes(0x41), Some(&[0x01, 0x04][..]));
        assert_eq!(take_card_type(Some(0xFF), &mut tlv), Some(260));
        assert_eq!(tlv, None);
        assert_eq!(take_card_type(Some(46), &mut None), Some(46));
    }
}
