//! Packed BCD [P15 §1.2, §13] and the LLVAR / LLLVAR length prefixes `Fx Fy [Fz]`
//! [P16 §5.2.8].

/// Packs a decimal number into `width` bytes of BCD (leading zeros); digits that do not
/// fit are cut from the left, as a fixed-width field cannot hold them.
pub fn encode_number(value: u64, width: usize) -> Vec<u8> {
    let mut out = vec![0u8; width];
    let mut rest = value;
    for byte in out.iter_mut().rev() {
        let low = (rest % 10) as u8;
        rest /= 10;
        let high = (rest % 10) as u8;
        rest /= 10;
        *byte = (high << 4) | low;
    }
    out
}

/// Packs a string of decimal digits (`"123456"` → `12 34 56`); an odd count gets a leading 0.
/// Returns `None` when the string holds anything but digits.
pub fn encode_digits(digits: &str) -> Option<Vec<u8>> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits.to_owned() };
    Some(padded.as_bytes().chunks(2).map(|pair| ((pair[0] - b'0') << 4) | (pair[1] - b'0')).collect())
}

/// The decimal value of packed BCD, `None` when a nibble is not a digit.
pub fn decode_number(bytes: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for &byte in bytes {
        let (high, low) = (byte >> 4, byte & 0x0F);
        if high > 9 || low > 9 {
            return None;
        }
        value = value.checked_mul(100)?.checked_add(u64::from(high * 10 + low))?;
    }
    Some(value)
}

/// The digits of packed BCD as text, `None` when a nibble is not a digit.
pub fn decode_digits(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        for nibble in [byte >> 4, byte & 0x0F] {
            if nibble > 9 {
                return None;
            }
            out.push(char::from(b'0' + nibble));
        }
    }
    Some(out)
}

/// A PAN in BCD with the masking nibble `E` (shown `*`) and the padding nibble `F`
/// (dropped, allowed only as the last nibble) [P15 §3.1.1, §13]. `None` for any other nibble.
pub fn decode_masked_pan(bytes: &[u8]) -> Option<String> {
    let nibbles: Vec<u8> = bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let mut out = String::with_capacity(nibbles.len());
    for (index, &nibble) in nibbles.iter().enumerate() {
        match nibble {
            0..=9 => out.push(char::from(b'0' + nibble)),
            0xE => out.push('*'),
            0xF if index + 1 == nibbles.len() => {}
            _ => return None,
        }
    }
    Some(out)
}

/// The length prefix of an LLVAR (`digits` = 2) or LLLVAR (`digits` = 3) field.
/// Lengths above 99 / 999 are cut to the maximum.
pub fn encode_var_length(len: usize, digits: u32) -> Vec<u8> {
    let max = 10usize.pow(digits) - 1;
    let len = len.min(max);
    (0..digits).rev().map(|i| 0xF0 | ((len / 10usize.pow(i)) % 10) as u8).collect()
}

/// Reads an LLVAR/LLLVAR prefix: each byte must be `F0`–`F9` [P16 §5.2.8].
pub fn decode_var_length(prefix: &[u8]) -> Option<usize> {
    prefix.iter().try_fold(0usize, |acc, &b| (b >> 4 == 0xF && b & 0x0F <= 9).then(|| acc * 10 + usize::from(b & 0x0F)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn password_example_of_p15_1_2() {
        // [P15 §1.2]: password "123456" produces 12 34 56.
        assert_eq!(encode_digits("123456"), Some(vec![0x12, 0x34, 0x56]));
        assert_eq!(encode_number(123456, 3), vec![0x12, 0x34, 0x56]);
    }

    #[test]
    fn amounts_are_six_bytes_in_minor_units() {
        assert_eq!(encode_number(1, 6), vec![0, 0, 0, 0, 0, 1]);
        assert_eq!(decode_number(&[0, 0, 0, 0x12, 0x34, 0x56]), Some(123456));
        assert_eq!(decode_number(&[0x1A]), None);
    }

    #[test]
    fn llvar_examples_of_p16_5_2_8() {
        // [P16 §5.2.8.1]: F1 F2 = 12 bytes follow, F0 F3 = 3 bytes; [§5.2.8.2]: F0 F1 F2.
        assert_eq!(encode_var_length(12, 2), vec![0xF1, 0xF2]);
        assert_eq!(encode_var_length(3, 3), vec![0xF0, 0xF0, 0xF3]);
        assert_eq!(decode_var_length(&[0xF0, 0xF1, 0xF2]), Some(12));
        assert_eq!(decode_var_length(&[0x01, 0xF2]), None);
    }

    #[test]
    fn masked_pans_show_e_as_star_and_drop_trailing_f() {
        assert_eq!(decode_masked_pan(&[0x67, 0x12, 0xEE, 0xE1, 0x23, 0x4F]).as_deref(), Some("6712***1234"));
        assert_eq!(decode_masked_pan(&[0xF1]), None);
    }
}
