//! Packed BCD [P15 §1.2, §13]: amounts (6 bytes), numbers of n digits, currency codes.

use crate::error::{DecodeError, EncodeError};

/// Decodes `bytes` as packed BCD, two digits a byte, high nibble first.
///
/// `what` and `offset` name the field in the error.
pub fn decode_number(bytes: &[u8], what: &'static str, offset: usize) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    for &byte in bytes {
        let (high, low) = (byte >> 4, byte & 0x0F);
        if high > 9 || low > 9 {
            return Err(DecodeError::NotBcd { what, offset, byte });
        }
        value = value.saturating_mul(100).saturating_add(u64::from(high * 10 + low));
    }
    Ok(value)
}

/// Encodes `value` as `len` bytes of packed BCD (2 × `len` digits, leading zeros).
pub fn encode_number(value: u64, len: usize, what: &'static str) -> Result<Vec<u8>, EncodeError> {
    let digits = len * 2;
    let too_large = EncodeError::NumberTooLarge { what, value, digits };
    if digits < 20 && value >= 10u64.pow(digits as u32) {
        return Err(too_large);
    }
    let mut out = vec![0u8; len];
    let mut rest = value;
    for byte in out.iter_mut().rev() {
        let low = (rest % 10) as u8;
        rest /= 10;
        let high = (rest % 10) as u8;
        rest /= 10;
        *byte = (high << 4) | low;
    }
    Ok(out)
}

/// An amount in minor currency units: 6 bytes BCD, 12 digits [P15 §13 BMP 04].
pub fn decode_amount(bytes: &[u8], offset: usize) -> Result<u64, DecodeError> {
    decode_number(bytes, "amount", offset)
}

/// Encodes an amount in minor units as 6 bytes BCD.
pub fn encode_amount(minor_units: u64) -> Result<[u8; 6], EncodeError> {
    let bytes = encode_number(minor_units, 6, "amount")?;
    let mut out = [0u8; 6];
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// An ISO 4217 numeric currency code: 2 bytes BCD (`09 78` = EUR 978) [P15 §1.4].
pub fn decode_currency(bytes: &[u8], offset: usize) -> Result<u16, DecodeError> {
    decode_number(bytes, "currency code", offset).map(|v| v as u16)
}

/// Encodes a currency code (at most 4 digits) as 2 bytes BCD.
pub fn encode_currency(code: u16) -> Result<[u8; 2], EncodeError> {
    let bytes = encode_number(u64::from(code), 2, "currency code")?;
    Ok([bytes[0], bytes[1]])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn password_example_of_p15_1_2() {
        // [P15 §1.2]: password "123456" produces 12 34 56.
        assert_eq!(encode_number(123_456, 3, "password").unwrap(), [0x12, 0x34, 0x56]);
        assert_eq!(decode_number(&[0x12, 0x34, 0x56], "password", 0).unwrap(), 123_456);
    }

    #[test]
    fn eur_is_09_78() {
        // [P15 §3.1.1 BMP 49]: 09 78 = EUR.
        assert_eq!(encode_currency(978).unwrap(), [0x09, 0x78]);
        assert_eq!(decode_currency(&[0x09, 0x78], 0).unwrap(), 978);
    }

    #[test]
    fn amounts_and_limits() {
        assert_eq!(encode_amount(1999).unwrap(), [0, 0, 0, 0, 0x19, 0x99]);
        assert_eq!(decode_amount(&[0x99; 6], 0).unwrap(), 999_999_999_999);
        assert!(encode_amount(1_000_000_000_000).is_err());
        assert!(encode_currency(10_000).is_err());
    }

    #[test]
    fn non_decimal_nibbles_are_errors() {
        let err = decode_number(&[0x12, 0x3A], "trace", 4).unwrap_err();
        assert_eq!(err, DecodeError::NotBcd { what: "trace", offset: 4, byte: 0x3A });
        assert!(decode_number(&[0xF1], "trace", 0).is_err());
    }
}
