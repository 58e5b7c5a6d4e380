//! Printer code pages: mapping text to the bytes a printer's character table holds.

/// A character table selectable with `ESC t n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodePage {
    /// PC858: Western European with the euro sign at 0xD5 (Epson table 19).
    Pc858,
    /// PC852: Latin-2, Central European — Polish ł ą ę ś ć ń ó ź ż (Epson table 18).
    Pc852,
}

impl CodePage {
    /// The `n` of `ESC t n` on Epson-compatible printers.
    pub fn escpos_table(self) -> u8 {
        match self {
            CodePage::Pc858 => 19,
            CodePage::Pc852 => 18,
        }
    }

    /// The table `ESC t n` selects, if it is one of ours.
    pub fn from_escpos_table(n: u8) -> Option<Self> {
        [CodePage::Pc858, CodePage::Pc852].into_iter().find(|p| p.escpos_table() == n)
    }

    /// The name used in device profiles (`pc858`, `pc852`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pc858" => Some(CodePage::Pc858),
            "pc852" => Some(CodePage::Pc852),
            _ => None,
        }
    }

    /// Whether every character of `text` has a byte in this table.
    pub fn covers(self, text: &str) -> bool {
        let upper = self.upper_half();
        text.chars().all(|c| matches!(c, ' '..='~' | '\u{202F}' | '\u{2009}') || upper.contains(&c))
    }

    fn upper_half(self) -> &'static [char; 128] {
        match self {
            CodePage::Pc858 => &PC858_UPPER,
            CodePage::Pc852 => &PC852_UPPER,
        }
    }

    /// Decodes one byte of this table (for the simulated printer and tests).
    pub fn decode_byte(self, b: u8) -> char {
        if b < 0x80 { char::from(b) } else { self.upper_half()[usize::from(b - 0x80)] }
    }
}

/// Bytes 0x80–0xFF of PC858 (PC850 with € at 0xD5).
const PC858_UPPER: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', 'ø', '£', 'Ø', '×', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '®', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'À', '©', '╣', '║', '╗', '╝', '¢', '¥', '┐', //
    '└', '┴', '┬', '├', '─', '┼', 'ã', 'Ã', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤', //
    'ð', 'Ð', 'Ê', 'Ë', 'È', '€', 'Í', 'Î', 'Ï', '┘', '┌', '█', '▄', '¦', 'Ì', '▀', //
    'Ó', 'ß', 'Ô', 'Ò', 'õ', 'Õ', 'µ', 'þ', 'Þ', 'Ú', 'Û', 'Ù', 'ý', 'Ý', '¯', '´', //
    '\u{AD}', '±', '‗', '¾', '¶', '§', '÷', '¸', '°', '¨', '·', '¹', '³', '²', '■', '\u{A0}',
];

/// Bytes 0x80–0xFF of PC852 (Latin-2).
const PC852_UPPER: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'ů', 'ć', 'ç', 'ł', 'ë', 'Ő', 'ő', 'î', 'Ź', 'Ä', 'Ć', //
    'É', 'Ĺ', 'ĺ', 'ô', 'ö', 'Ľ', 'ľ', 'Ś', 'ś', 'Ö', 'Ü', 'Ť', 'ť', 'Ł', '×', 'č', //
    'á', 'í', 'ó', 'ú', 'Ą', 'ą', 'Ž', 'ž', 'Ę', 'ę', '¬', 'ź', 'Č', 'ş', '«', '»', //
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'Ě', 'Ş', '╣', '║', '╗', '╝', 'Ż', 'ż', '┐', //
    '└', '┴', '┬', '├', '─', '┼', 'Ă', 'ă', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤', //
    'đ', 'Đ', 'Ď', 'Ë', 'ď', 'Ň', 'Í', 'Î', 'ě', '┘', '┌', '█', '▄', 'Ţ', 'Ů', '▀', //
    'Ó', 'ß', 'Ô', 'Ń', 'ń', 'ň', 'Š', 'š', 'Ŕ', 'Ú', 'ŕ', 'Ű', 'ý', 'Ý', 'ţ', '´', //
    '\u{AD}', '˝', '˛', 'ˇ', '˘', '§', '÷', '¸', '°', '¨', '˙', 'ű', 'Ř', 'ř', '■', '\u{A0}',
];

/// Encodes `text` in `page`. Printable ASCII passes through; control characters and
/// characters the table lacks become `?` (never raw bytes that the printer would execute).
pub fn encode_text(page: CodePage, text: &str) -> Vec<u8> {
    let upper = page.upper_half();
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{202F}' | '\u{2009}' => b' ', // narrow/thin spaces used as thousands separators
            _ => upper.iter().position(|&u| u == c).map(|i| 0x80 + i as u8).unwrap_or(b'?'),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_maps_to_pc852_and_each_table_round_trips() {
        assert_eq!(encode_text(CodePage::Pc852, "zł łąę ŚŻŹ"), b"z\x88 \x88\xa5\xa9 \x97\xbd\x8d");
        assert!(CodePage::Pc852.covers("Zapłacono kartą: 1 234,50 zł"));
        assert!(!CodePage::Pc852.covers("9,90 €"), "PC852 has no euro sign");
        assert!(!CodePage::Pc858.covers("zł"));
        for page in [CodePage::Pc858, CodePage::Pc852] {
            assert_eq!(CodePage::from_escpos_table(page.escpos_table()), Some(page));
            for b in 0x80..=0xFFu8 {
                let c = page.decode_byte(b);
                assert_eq!(encode_text(page, &c.to_string()), vec![b], "{page:?} byte {b:#x}");
            }
        }
    }

    #[test]
    fn currency_and_nordic_letters_map_to_pc858() {
        assert_eq!(encode_text(CodePage::Pc858, "1.234,50 €"), b"1.234,50 \xd5");
        assert_eq!(encode_text(CodePage::Pc858, "£ kr øåä ñç"), b"\x9c kr \x9b\x86\x84 \xa4\x87");
    }

    #[test]
    fn control_bytes_and_unknown_characters_cannot_reach_the_printer() {
        assert_eq!(encode_text(CodePage::Pc858, "a\x1bb\nł"), b"a?b??");
    }

    #[test]
    fn decode_is_the_inverse_of_encode() {
        for b in 0x20u8..=0xFF {
            if b == 0x7F {
                continue;
            }
            let c = CodePage::Pc858.decode_byte(b);
            assert_eq!(encode_text(CodePage::Pc858, &c.to_string()), vec![b], "byte {b:#x}");
        }
    }
}
