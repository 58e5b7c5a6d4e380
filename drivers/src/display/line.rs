//! 2×20 character customer displays (VFD/LCD pole displays) speaking the CD5220 command
//! set over serial, for terminals without a graphic display. The protocol layer only
//! builds bytes; [`LineDisplay`] sends a screen's lines, only those that changed.
//!
//! Commands used (CD5220 user's manual): `ESC @` initialise (clears, cursor home),
//! `ESC DC1` overwrite mode, `ESC _ n` cursor off/on, `ESC l x y` move the cursor to
//! column `x` (1-based) of row `y`, then the characters. Optionally `ESC t n` selects a
//! character table on displays that have more than one. The link is one-way: the
//! display never answers.

use crate::printer::{CodePage, encode_text};
use crate::transport::{Transport, TransportError};

const ESC: u8 = 0x1B;
const DC1: u8 = 0x11;

/// Geometry and character set of a line display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineDisplaySpec {
    /// Characters per line (20 on a 2×20 display).
    pub columns: u8,
    /// Lines (2).
    pub rows: u8,
    /// Character table the display shows bytes 0x80–0xFF in.
    pub code_page: CodePage,
    /// Send `ESC t n` at start to select `code_page` (only for displays that have tables).
    pub select_code_page: bool,
}

impl Default for LineDisplaySpec {
    fn default() -> Self {
        LineDisplaySpec { columns: 20, rows: 2, code_page: CodePage::Pc858, select_code_page: false }
    }
}

/// `ESC @`, overwrite mode, cursor off, and the table if asked for.
pub fn encode_init(spec: &LineDisplaySpec) -> Vec<u8> {
    let mut out = vec![ESC, b'@', ESC, DC1, ESC, b'_', 0];
    if spec.select_code_page {
        out.extend_from_slice(&[ESC, b't', spec.code_page.escpos_table()]);
    }
    out
}

/// Letters outside the display's table shown as their base letter (a Polish `ł` as `l`)
/// rather than `?`.
fn fold(page: CodePage, c: char) -> char {
    if page.covers(&c.to_string()) {
        return c;
    }
    const FOLDS: &[(&str, char)] = &[
        ("ąáàâäãå", 'a'),
        ("ĄÁÀÂÄÃÅ", 'A'),
        ("ćčç", 'c'),
        ("ĆČÇ", 'C'),
        ("ęéèêëě", 'e'),
        ("ĘÉÈÊËĚ", 'E'),
        ("łľĺ", 'l'),
        ("ŁĽĹ", 'L'),
        ("ńňñ", 'n'),
        ("ŃŇÑ", 'N'),
        ("óòôöõő", 'o'),
        ("ÓÒÔÖÕŐ", 'O'),
        ("śšş", 's'),
        ("ŚŠŞ", 'S'),
        ("źżž", 'z'),
        ("ŹŻŽ", 'Z'),
        ("úùûüůű", 'u'),
        ("ÚÙÛÜŮŰ", 'U'),
        ("řŕ", 'r'),
        ("ŘŔ", 'R'),
        ("ťţ", 't'),
        ("ŤŢ", 'T'),
        ("ďđ", 'd'),
        ("ĎĐ", 'D'),
        ("ýÿ", 'y'),
        ("Ý", 'Y'),
    ];
    FOLDS.iter().find(|(set, _)| set.contains(c)).map(|(_, base)| *base).unwrap_or(c)
}

/// Exactly `columns` bytes of `text` in the display's table: cut when longer, padded
/// with spaces when shorter (so the rest of an older, longer line is overwritten).
/// Control characters cannot reach the display.
pub fn encode_line_text(spec: &LineDisplaySpec, text: &str) -> Vec<u8> {
    let folded: String = text.chars().map(|c| fold(spec.code_page, c)).collect();
    let mut bytes = encode_text(spec.code_page, &folded);
    bytes.resize(usize::from(spec.columns), b' ');
    bytes
}

/// Moves to the start of `row` (0-based) and writes it whole.
pub fn encode_line(spec: &LineDisplaySpec, row: u8, text: &str) -> Vec<u8> {
    let mut out = vec![ESC, b'l', 1, row.saturating_add(1)];
    out.extend(encode_line_text(spec, text));
    out
}

/// A line display on a transport; remembers what it shows to send only changed lines.
pub struct LineDisplay<T: Transport> {
    transport: T,
    spec: LineDisplaySpec,
    shown: Vec<Option<String>>,
}

impl<T: Transport> LineDisplay<T> {
    /// Initialises the display (clears it).
    pub fn open(mut transport: T, spec: LineDisplaySpec) -> Result<Self, TransportError> {
        transport.write_all(&encode_init(&spec))?;
        transport.flush()?;
        Ok(LineDisplay { transport, spec, shown: vec![None; usize::from(spec.rows)] })
    }

    /// The display's geometry.
    pub fn spec(&self) -> &LineDisplaySpec {
        &self.spec
    }

    /// Shows `lines` (missing ones blank, extra ones dropped), sending only the lines
    /// that differ from what is shown.
    pub fn show_lines(&mut self, lines: &[String]) -> Result<(), TransportError> {
        let mut out = Vec::new();
        for row in 0..self.spec.rows {
            let want = lines.get(usize::from(row)).map(String::as_str).unwrap_or("");
            let slot = &mut self.shown[usize::from(row)];
            if slot.as_deref() != Some(want) {
                out.extend(encode_line(&self.spec, row, want));
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        // What the display shows is unknown if the write fails: send everything next time.
        let written = self.transport.write_all(&out).and_then(|()| self.transport.flush());
        match written {
            Ok(()) => {
                for (row, slot) in self.shown.iter_mut().enumerate() {
                    *slot = Some(lines.get(row).cloned().unwrap_or_default());
                }
                Ok(())
            }
            Err(e) => {
                self.shown.iter_mut().for_each(|s| *s = None);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ScriptedTransport;

    #[test]
    fn init_is_reset_overwrite_cursor_off_and_optionally_the_table() {
        let spec = LineDisplaySpec::default();
        assert_eq!(encode_init(&spec), [0x1B, 0x40, 0x1B, 0x11, 0x1B, 0x5F, 0x00]);
        let with_table = LineDisplaySpec { select_code_page: true, ..spec };
        assert_eq!(encode_init(&with_table), [0x1B, 0x40, 0x1B, 0x11, 0x1B, 0x5F, 0x00, 0x1B, 0x74, 19]);
    }

    #[test]
    fn a_line_is_positioned_padded_cut_and_in_the_table() {
        let spec = LineDisplaySpec::default();
        let mut want = vec![0x1B, b'l', 1, 2];
        want.extend_from_slice(b"Total     1.234,50 \xd5");
        assert_eq!(encode_line(&spec, 1, "Total     1.234,50 €"), want);
        assert_eq!(encode_line(&spec, 0, "Hi"), [&[0x1B, b'l', 1, 1][..], b"Hi                  "].concat());
        assert_eq!(encode_line_text(&spec, "abcdefghijklmnopqrstuvwxyz"), b"abcdefghijklmnopqrst");
    }

    #[test]
    fn polish_letters_fold_and_control_bytes_cannot_pass() {
        let spec = LineDisplaySpec::default();
        assert_eq!(encode_line_text(&spec, "Zapłać 12,50 zł"), b"Zaplac 12,50 zl     ");
        assert_eq!(encode_line_text(&spec, "a\x1b@b\x0c"), b"a?@b?               ");
        assert_eq!(encode_line_text(&spec, "Smørrebrød å"), b"Sm\x9brrebr\x9bd \x86        ");
    }

    #[test]
    fn only_changed_lines_are_sent() -> Result<(), Box<dyn std::error::Error>> {
        let spec = LineDisplaySpec::default();
        // The third screen is the second again: nothing goes out for it.
        let wire = ScriptedTransport::new("vfd")
            .expect_write(&encode_init(&spec))
            .expect_write(&encode_line(&spec, 0, "Welcome"))
            .expect_write(&encode_line(&spec, 1, "Klarna accepted here"))
            .expect_write(&encode_line(&spec, 0, "Total 12,50"));
        let script = wire.script();
        let mut d = LineDisplay::open(wire, spec)?;
        d.show_lines(&["Welcome".into(), "Klarna accepted here".into()])?;
        d.show_lines(&["Total 12,50".into(), "Klarna accepted here".into()])?;
        d.show_lines(&["Total 12,50".into(), "Klarna accepted here".into()])?;
        script.check()?;
        Ok(())
    }
}
