//! Fitting text to the paper: lines wrapped at the spaces a line may break at (never at
//! the no-break spaces inside an amount), a word longer than the line cut, and text sent
//! through the printer's code tables, switching tables inside a line as it needs.

use super::codepage::{CodePage, transliterate};
use super::escpos::PrinterProfile;

const ESC: u8 = 0x1B;

/// Whether a line may break at `c`: at spaces, never at the no-break spaces CLDR puts
/// inside amounts (`1 234,50 €`).
pub fn breaks_at(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}' | '\u{2060}' | '\u{FEFF}')
}

/// `text` in lines of at most `width` columns as `measure` counts them: words kept whole
/// where they fit, a word longer than a line cut into pieces; an empty text is one empty
/// line.
pub fn wrap(text: &str, width: usize, measure: impl Fn(&str) -> usize) -> Vec<String> {
    let width = width.max(1);
    if measure(text) <= width {
        return vec![text.to_string()];
    }
    let mut lines = vec![];
    let mut line = String::new();
    for word in text.split(breaks_at).filter(|w| !w.is_empty()) {
        let joined = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if measure(&joined) <= width {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: cut where it does not fit.
        for c in word.chars() {
            let mut longer = line.clone();
            longer.push(c);
            if measure(&longer) > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text going out through the tables the printer has: each character in the current
/// table if it has it, else in another of the profile's tables (switched to with
/// `ESC t n` inside the line), else as its nearest ASCII, else `?`.
pub(super) struct TextOut<'p> {
    profile: &'p PrinterProfile,
    page: CodePage,
}

impl<'p> TextOut<'p> {
    /// Text for `profile`'s printer, its main table selected.
    pub(super) fn new(profile: &'p PrinterProfile) -> Self {
        TextOut { profile, page: profile.code_page }
    }

    fn pages(&self) -> impl Iterator<Item = CodePage> + '_ {
        let p = self.profile;
        [Some(p.code_page), p.extra_code_page].into_iter().flatten().chain(p.tables.iter().map(|(page, _)| *page))
    }

    /// Another of the printer's tables that has `c`, and its byte there.
    fn elsewhere(&self, c: char) -> Option<(CodePage, u8)> {
        self.pages().find_map(|p| p.byte_of(c).map(|b| (p, b)))
    }

    /// Columns `text` takes on paper.
    pub(super) fn width(&self, text: &str) -> usize {
        text.chars()
            .map(|c| match transliterate(c) {
                Some(ascii) if !self.pages().any(|p| p.byte_of(c).is_some()) => ascii.len(),
                _ => 1,
            })
            .sum()
    }

    pub(super) fn write(&mut self, out: &mut Vec<u8>, text: &str) {
        for c in text.chars() {
            if let Some(b) = self.page.byte_of(c) {
                out.push(b);
            } else if let Some((page, b)) = self.elsewhere(c) {
                out.extend([ESC, b't', self.profile.table_of(page), b]);
                self.page = page;
            } else {
                out.extend_from_slice(transliterate(c).unwrap_or("?").as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(t: &str) -> usize {
        t.chars().count()
    }

    #[test]
    fn words_wrap_and_amounts_stay_whole() {
        let offer = "Dela upp i 3 räntefria delbetalningar: 3\u{A0}×\u{A0}411,50\u{A0}kr";
        assert_eq!(wrap(offer, 48, chars), ["Dela upp i 3 räntefria delbetalningar:", "3\u{A0}×\u{A0}411,50\u{A0}kr"]);
        assert_eq!(wrap("Kanelbulle med vaniljkräm", 12, chars), ["Kanelbulle", "med", "vaniljkräm"]);
        assert_eq!(wrap("short", 12, chars), ["short"]);
        assert_eq!(wrap("", 12, chars), [""]);
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut() {
        let id = "krn:payment:eu1:transaction:6debe89e-98c0-486e-b1a4-aa4b8e6b5c3e";
        let lines = wrap(&format!("Transaktion {id}"), 32, chars);
        assert_eq!(lines[0], "Transaktion");
        assert!(lines.iter().all(|l| chars(l) <= 32), "{lines:?}");
        assert_eq!(lines[1..].concat(), id);
    }

    #[test]
    fn the_measure_decides_what_fits() {
        // "…" prints as "..." on a printer without it: three columns.
        let wide = |t: &str| t.chars().map(|c| if c == '…' { 3 } else { 1 }).sum();
        assert_eq!(wrap("ab… cd", 5, wide), ["ab…", "cd"]);
    }
}
