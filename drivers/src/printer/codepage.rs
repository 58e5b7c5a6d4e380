//! Printer code pages: mapping text to the bytes a printer's character table holds.

/// A character table selectable with `ESC t n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodePage {
    /// PC858: Western European with the euro sign at 0xD5 (Epson table 19).
    Pc858,
    /// PC852: Latin-2, Central European — Polish ł ą ę ś ć ń ó ź ż (Epson table 18).
    Pc852,
    /// Windows-1252: Western European with €, typographic quotes, dashes and … (Epson 16).
    Wpc1252,
    /// Windows-1250: Central European with €, typographic quotes, dashes and … (Epson 45).
    Wpc1250,
}

/// Every table posagent can encode for.
pub const ALL_CODE_PAGES: [CodePage; 4] = [CodePage::Pc858, CodePage::Pc852, CodePage::Wpc1252, CodePage::Wpc1250];

impl CodePage {
    /// The `n` of `ESC t n` on Epson-compatible printers.
    pub fn escpos_table(self) -> u8 {
        match self {
            CodePage::Pc858 => 19,
            CodePage::Pc852 => 18,
            CodePage::Wpc1252 => 16,
            CodePage::Wpc1250 => 45,
        }
    }

    /// The table `ESC t n` selects, if it is one of ours.
    pub fn from_escpos_table(n: u8) -> Option<Self> {
        ALL_CODE_PAGES.into_iter().find(|p| p.escpos_table() == n)
    }

    /// The name used in device profiles (`pc858`, `pc852`, `wpc1252`, `wpc1250`).
    pub fn parse(name: &str) -> Option<Self> {
        ALL_CODE_PAGES.into_iter().find(|p| p.name() == name)
    }

    /// The name used in device profiles.
    pub fn name(self) -> &'static str {
        match self {
            CodePage::Pc858 => "pc858",
            CodePage::Pc852 => "pc852",
            CodePage::Wpc1252 => "wpc1252",
            CodePage::Wpc1250 => "wpc1250",
        }
    }

    /// The byte of `c` in this table, printable ASCII included.
    pub fn byte_of(self, c: char) -> Option<u8> {
        match c {
            ' '..='~' => Some(c as u8),
            '\u{FFFD}' => None,
            _ => self.upper_half().iter().position(|&u| u == c).map(|i| 0x80 + i as u8),
        }
    }

    /// Whether every character of `text` has a byte in this table.
    pub fn covers(self, text: &str) -> bool {
        text.chars().all(|c| self.byte_of(c).is_some())
    }

    fn upper_half(self) -> &'static [char; 128] {
        match self {
            CodePage::Pc858 => &PC858_UPPER,
            CodePage::Pc852 => &PC852_UPPER,
            CodePage::Wpc1252 => &WPC1252_UPPER,
            CodePage::Wpc1250 => &WPC1250_UPPER,
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

/// Bytes 0x80–0xFF of Windows-1252 (U+FFFD: no character there).
const WPC1252_UPPER: [char; 128] = [
    '€', '\u{FFFD}', '\u{201A}', 'ƒ', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', 'ˆ', '\u{2030}', 'Š', '\u{2039}',
    'Œ', '\u{FFFD}', 'Ž', '\u{FFFD}', '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
    '\u{2013}', '\u{2014}', '˜', '™', 'š', '\u{203A}', 'œ', '\u{FFFD}', 'ž', 'Ÿ', '\u{A0}', '¡', '¢', '£', '¤', '¥',
    '¦', '§', '¨', '©', 'ª', '«', '¬', '\u{AD}', '®', '¯', '°', '±', '²', '³', '´', 'µ', '¶', '·', '¸', '¹', 'º', '»',
    '¼', '½', '¾', '¿', 'À', 'Á', 'Â', 'Ã', 'Ä', 'Å', 'Æ', 'Ç', 'È', 'É', 'Ê', 'Ë', 'Ì', 'Í', 'Î', 'Ï', 'Ð', 'Ñ', 'Ò',
    'Ó', 'Ô', 'Õ', 'Ö', '×', 'Ø', 'Ù', 'Ú', 'Û', 'Ü', 'Ý', 'Þ', 'ß', 'à', 'á', 'â', 'ã', 'ä', 'å', 'æ', 'ç', 'è', 'é',
    'ê', 'ë', 'ì', 'í', 'î', 'ï', 'ð', 'ñ', 'ò', 'ó', 'ô', 'õ', 'ö', '÷', 'ø', 'ù', 'ú', 'û', 'ü', 'ý', 'þ', 'ÿ',
];

/// Bytes 0x80–0xFF of Windows-1250 (U+FFFD: no character there).
const WPC1250_UPPER: [char; 128] = [
    '€', '\u{FFFD}', '\u{201A}', '\u{FFFD}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{FFFD}', '\u{2030}',
    'Š', '\u{2039}', 'Ś', 'Ť', 'Ž', 'Ź', '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
    '\u{2013}', '\u{2014}', '\u{FFFD}', '™', 'š', '\u{203A}', 'ś', 'ť', 'ž', 'ź', '\u{A0}', 'ˇ', '˘', 'Ł', '¤', 'Ą',
    '¦', '§', '¨', '©', 'Ş', '«', '¬', '\u{AD}', '®', 'Ż', '°', '±', '˛', 'ł', '´', 'µ', '¶', '·', '¸', 'ą', 'ş', '»',
    'Ľ', '˝', 'ľ', 'ż', 'Ŕ', 'Á', 'Â', 'Ă', 'Ä', 'Ĺ', 'Ć', 'Ç', 'Č', 'É', 'Ę', 'Ë', 'Ě', 'Í', 'Î', 'Ď', 'Đ', 'Ń', 'Ň',
    'Ó', 'Ô', 'Ő', 'Ö', '×', 'Ř', 'Ů', 'Ú', 'Ű', 'Ü', 'Ý', 'Ţ', 'ß', 'ŕ', 'á', 'â', 'ă', 'ä', 'ĺ', 'ć', 'ç', 'č', 'é',
    'ę', 'ë', 'ě', 'í', 'î', 'ď', 'đ', 'ń', 'ň', 'ó', 'ô', 'ő', 'ö', '÷', 'ř', 'ů', 'ú', 'ű', 'ü', 'ý', 'ţ', '˙',
];

/// What prints for a character no table has: its nearest ASCII (typographic dashes,
/// quotes, the ellipsis, the minus sign, narrow and thin spaces), nothing for invisible
/// formatting characters; `None` when there is none (it prints `?`).
pub fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2039}' | '\u{203A}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => "\"",
        '\u{2026}' => "...",
        '\u{2022}' => "*",
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => " ",
        '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' => "",
        '\u{20AC}' => "EUR",
        _ => return None,
    })
}

/// Encodes `text` in `page`. Printable ASCII passes through; a character the table lacks
/// is transliterated, else `?`; control characters become `?` (never raw bytes that the
/// printer would execute).
pub fn encode_text(page: CodePage, text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match (page.byte_of(c), transliterate(c)) {
            (Some(b), _) => out.push(b),
            (None, Some(ascii)) => out.extend_from_slice(ascii.as_bytes()),
            (None, None) => out.push(b'?'),
        }
    }
    out
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
        for page in ALL_CODE_PAGES {
            assert_eq!(CodePage::from_escpos_table(page.escpos_table()), Some(page));
            assert_eq!(CodePage::parse(page.name()), Some(page));
            for b in 0x80..=0xFFu8 {
                let c = page.decode_byte(b);
                if c != '\u{FFFD}' {
                    assert_eq!(encode_text(page, &c.to_string()), vec![b], "{page:?} byte {b:#x}");
                }
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
    fn typography_no_table_has_prints_as_its_nearest_ascii() {
        assert_eq!(encode_text(CodePage::Pc858, "„Tak” – 1\u{202F}234\u{2026} \u{2212}5"), b"\"Tak\" - 1 234... -5");
        // Windows-1252 has them itself.
        assert_eq!(encode_text(CodePage::Wpc1252, "„a” – …"), b"\x84a\x94 \x96 \x85");
        assert_eq!(encode_text(CodePage::Wpc1250, "zł €"), b"z\xb3 \x80");
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
