//! Text on the ZVT line: 7-bit ASCII with the German letters of code page 437 by default
//! [P15 §15]. Bytes 80–FF outside those letters are read as ISO 8859-1 (one real
//! terminal's receipts, command/testdata of bezahl-online/zvt, send `C4` for `Ä`).

/// Decodes ZVT text to a `String`.
pub fn decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| decode_byte(b)).collect()
}

fn decode_byte(byte: u8) -> char {
    match byte {
        0x81 => 'ü',
        0x84 => 'ä',
        0x8E => 'Ä',
        0x94 => 'ö',
        0x99 => 'Ö',
        0x9A => 'Ü',
        0xE1 => 'ß',
        other => char::from(other),
    }
}

/// Encodes text for the ZVT line: ASCII as is, the German letters as code page 437,
/// anything else as `?`.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'ü' => 0x81,
            'ä' => 0x84,
            'Ä' => 0x8E,
            'ö' => 0x94,
            'Ö' => 0x99,
            'Ü' => 0x9A,
            'ß' => 0xE1,
            c if c.is_ascii() => c as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn umlauts_round_trip_through_cp437() {
        let bytes = super::encode("Grüße");
        assert_eq!(bytes, vec![b'G', b'r', 0x81, 0xE1, b'e']);
        assert_eq!(super::decode(&bytes), "Grüße");
    }
}
