//! ESC/POS encoding of a receipt document: pure functions from blocks to bytes.
//!
//! Commands follow the Epson ESC/POS reference: `ESC @` init, `ESC t` code table,
//! `ESC a` alignment, `ESC E` emphasis, `GS !` character size, `GS ( k` QR code
//! (model 2), `GS v 0` raster image, `GS V` cut, `ESC p` cash drawer kick.

use super::codepage::CodePage;
use super::layout::{TextOut, wrap};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const LF: u8 = 0x0A;

/// What a printer model can do; taken from its firmware-config profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterProfile {
    /// Characters per line in font A.
    pub columns: usize,
    /// Printable width in dots (for raster images).
    pub width_dots: u16,
    /// Whether the printer renders QR codes itself (`GS ( k`); otherwise raster.
    pub native_qr: bool,
    /// Character table used for text.
    pub code_page: CodePage,
    /// A second table the printer has, switched to (`ESC t n`) for a line the first
    /// cannot print whole — e.g. PC852 for Polish beside PC858 for the euro sign.
    pub extra_code_page: Option<CodePage>,
    /// The `ESC t` number of each table on this model (from the printer database);
    /// a page not listed uses Epson's number.
    pub tables: Vec<(CodePage, u8)>,
}

impl PrinterProfile {
    /// The `ESC t` number that selects `page` on this printer.
    pub fn table_of(&self, page: CodePage) -> u8 {
        self.tables.iter().find(|(p, _)| *p == page).map_or(page.escpos_table(), |(_, n)| *n)
    }
}

impl Default for PrinterProfile {
    fn default() -> Self {
        PrinterProfile {
            columns: 48,
            width_dots: 576,
            native_qr: true,
            code_page: CodePage::Pc858,
            extra_code_page: Some(CodePage::Pc852),
            tables: vec![],
        }
    }
}

/// Horizontal alignment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Align {
    /// Left.
    #[default]
    Left,
    /// Centre.
    Center,
    /// Right.
    Right,
}

/// Text emphasis and size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStyle {
    /// Bold.
    pub bold: bool,
    /// Double width and height.
    pub double: bool,
}

/// One element of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Block {
    /// A line of text, wrapped at spaces to the paper's width (a word longer than a line is cut).
    Line {
        /// The text.
        text: String,
        /// Style.
        style: TextStyle,
        /// Alignment.
        align: Align,
    },
    /// A label on the left and a value on the right of one line.
    Columns {
        /// Left text.
        left: String,
        /// Right text.
        right: String,
        /// Style.
        style: TextStyle,
    },
    /// A full-width dashed rule.
    Rule,
    /// Feed `n` empty lines.
    Feed(u8),
    /// A centred QR code of `data`, `module_dots` dots per module.
    Qr {
        /// Encoded content.
        data: String,
        /// Dots per module (1–16).
        module_dots: u8,
    },
    /// A centred 1-bit image (the store's logo), `GS v 0`.
    Image(super::image::Raster),
    /// Feed and cut the paper.
    Cut,
}

/// Which drawer-kick connector pin drives the cash drawer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawerPin {
    /// Pin 2 (`ESC p 0`), the usual one.
    Pin2,
    /// Pin 5 (`ESC p 1`), a second drawer.
    Pin5,
}

/// `ESC p m t1 t2`: pulses the drawer-kick pin for `on_ms` then rests `off_ms` (each in
/// 2 ms units, at most 510 ms).
pub fn encode_drawer_kick(pin: DrawerPin, on_ms: u16, off_ms: u16) -> [u8; 5] {
    let m = match pin {
        DrawerPin::Pin2 => 0,
        DrawerPin::Pin5 => 1,
    };
    let units = |ms: u16| u8::try_from((ms / 2).clamp(1, 255)).unwrap_or(255);
    [ESC, b'p', m, units(on_ms), units(off_ms)]
}

/// A receipt: blocks in print order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// The blocks.
    pub blocks: Vec<Block>,
}

impl Document {
    /// Appends a left-aligned plain line.
    pub fn line(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Line { text: text.into(), style: TextStyle::default(), align: Align::Left });
        self
    }

    /// Appends a styled, aligned line.
    pub fn styled(&mut self, text: impl Into<String>, style: TextStyle, align: Align) -> &mut Self {
        self.blocks.push(Block::Line { text: text.into(), style, align });
        self
    }

    /// Appends a label/value line.
    pub fn columns(&mut self, left: impl Into<String>, right: impl Into<String>, bold: bool) -> &mut Self {
        self.blocks.push(Block::Columns {
            left: left.into(),
            right: right.into(),
            style: TextStyle { bold, double: false },
        });
        self
    }

    /// Appends any block.
    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }
}

fn style_bytes(out: &mut Vec<u8>, style: TextStyle) {
    out.extend_from_slice(&[ESC, b'E', u8::from(style.bold)]);
    out.extend_from_slice(&[GS, b'!', if style.double { 0x11 } else { 0x00 }]);
}

fn align_bytes(out: &mut Vec<u8>, align: Align) {
    let n = match align {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    };
    out.extend_from_slice(&[ESC, b'a', n]);
}

fn qr_native(out: &mut Vec<u8>, data: &[u8], module_dots: u8) {
    // Model 2, module size, error correction M, store, print.
    out.extend_from_slice(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0x00]);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, module_dots.clamp(1, 16)]);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, 0x31]);
    let len = data.len() + 3;
    out.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 0x31, 0x50, 0x30]);
    out.extend_from_slice(data);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
}

/// Appends `GS v 0` raster bytes of a 1-bit image (`true` = black), row-major.
pub(crate) fn raster(out: &mut Vec<u8>, width: usize, height: usize, black: impl Fn(usize, usize) -> bool) {
    let width_bytes = width.div_ceil(8);
    out.extend_from_slice(&[GS, b'v', b'0', 0]);
    out.extend_from_slice(&[(width_bytes & 0xFF) as u8, (width_bytes >> 8) as u8]);
    out.extend_from_slice(&[(height & 0xFF) as u8, (height >> 8) as u8]);
    for y in 0..height {
        for xb in 0..width_bytes {
            let mut byte = 0u8;
            for bit in 0..8 {
                let x = xb * 8 + bit;
                if x < width && black(x, y) {
                    byte |= 0x80 >> bit;
                }
            }
            out.push(byte);
        }
    }
}

fn qr_raster(out: &mut Vec<u8>, data: &[u8], module_dots: u8, max_width: u16) -> bool {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M) else {
        return false;
    };
    let modules = code.width() + 8; // 4-module quiet zone each side
    let scale = usize::from(module_dots.max(1)).min(usize::from(max_width) / modules).max(1);
    let colors = code.to_colors();
    let side = modules * scale;
    raster(out, side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        if mx < 4 || my < 4 || mx >= modules - 4 || my >= modules - 4 {
            return false;
        }
        colors[(my - 4) * code.width() + (mx - 4)] == qrcode::Color::Dark
    });
    true
}

/// Characters per line in `style` (double width halves it).
fn line_width(profile: &PrinterProfile, style: TextStyle) -> usize {
    if style.double { (profile.columns / 2).max(1) } else { profile.columns.max(1) }
}

/// Encodes `doc` for a printer with `profile`. Text goes through the profile's code
/// pages, so no text can inject printer commands.
pub fn encode_document(doc: &Document, profile: &PrinterProfile) -> Vec<u8> {
    let mut out = vec![ESC, b'@', ESC, b't', profile.table_of(profile.code_page)];
    let mut text = TextOut::new(profile);
    for block in &doc.blocks {
        match block {
            Block::Line { text: line, style, align } => {
                align_bytes(&mut out, *align);
                style_bytes(&mut out, *style);
                for piece in wrap(line, line_width(profile, *style), |t| text.width(t)) {
                    text.write(&mut out, &piece);
                    out.push(LF);
                }
            }
            Block::Columns { left, right, style } => {
                align_bytes(&mut out, Align::Left);
                style_bytes(&mut out, *style);
                let cols = line_width(profile, *style);
                let (wl, wr) = (text.width(left), text.width(right));
                if wl + 1 + wr <= cols {
                    text.write(&mut out, left);
                    out.extend(std::iter::repeat_n(b' ', cols - wl - wr));
                    text.write(&mut out, right);
                    out.push(LF);
                } else {
                    // Too long for one line: the label wrapped, the value right-aligned below.
                    for piece in wrap(left, cols, |t| text.width(t)) {
                        text.write(&mut out, &piece);
                        out.push(LF);
                    }
                    for piece in wrap(right, cols, |t| text.width(t)) {
                        out.extend(std::iter::repeat_n(b' ', cols.saturating_sub(text.width(&piece))));
                        text.write(&mut out, &piece);
                        out.push(LF);
                    }
                }
            }
            Block::Rule => {
                align_bytes(&mut out, Align::Left);
                style_bytes(&mut out, TextStyle::default());
                out.extend(std::iter::repeat_n(b'-', profile.columns));
                out.push(LF);
            }
            Block::Feed(n) => out.extend_from_slice(&[ESC, b'd', *n]),
            Block::Qr { data, module_dots } => {
                align_bytes(&mut out, Align::Center);
                // QR payloads are URLs/references: ASCII only, never code-page mapped.
                let bytes: Vec<u8> = data.bytes().filter(|b| (0x20..0x7F).contains(b)).collect();
                if profile.native_qr {
                    qr_native(&mut out, &bytes, *module_dots);
                } else if !qr_raster(&mut out, &bytes, *module_dots, profile.width_dots) {
                    text.write(&mut out, data);
                }
                out.push(LF);
            }
            Block::Image(image) => {
                align_bytes(&mut out, Align::Center);
                let w = image.width().min(usize::from(profile.width_dots));
                raster(&mut out, w, image.height(), |x, y| image.is_black(x, y));
                out.push(LF);
            }
            Block::Cut => out.extend_from_slice(&[GS, b'V', 66, 3]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_the_main_table_cannot_print_switches_to_the_extra_one_and_back() {
        let mut doc = Document::default();
        doc.line("Kawa 9,90 €");
        doc.line("Razem 1 234,50 zł");
        doc.line("Café"); // PC852 has é too: no switch
        doc.line("Dziękujemy €"); // no table has both: switched inside the line
        let out = encode_document(&doc, &PrinterProfile::default());
        let text: Vec<u8> = out.split(|&b| b == LF).flat_map(|l| l.to_vec()).collect();
        let find = |needle: &[u8]| text.windows(needle.len()).position(|w| w == needle).unwrap_or(usize::MAX);
        let euro = find(b"Kawa 9,90 \xd5");
        let zl = find(&[b' ', b'z', ESC, b't', 18, 0x88]);
        let cafe = find(b"Caf\x82");
        let thanks = find(&[b'D', b'z', b'i', 0xA9, b'k']);
        let back = find(&[b' ', ESC, b't', 19, 0xD5]);
        assert!(euro < zl && zl < cafe && cafe < thanks && thanks < back && back < usize::MAX, "{out:02x?}");
        assert!(!text.contains(&b'?'), "{out:02x?}");
        // Without an extra table nothing switches.
        let single = PrinterProfile { extra_code_page: None, ..PrinterProfile::default() };
        let out = encode_document(&doc, &single);
        assert_eq!(out.windows(2).filter(|w| *w == [ESC, b't']).count(), 1);
    }

    #[test]
    fn a_mixed_line_switches_tables_inside_the_line_and_prints_no_question_mark() {
        let mut doc = Document::default();
        doc.line("Café crème  1,00 zł €");
        let out = encode_document(&doc, &PrinterProfile::default());
        let mut want = b"Caf\x82 cr\x8ame  1,00 z".to_vec();
        want.extend([ESC, b't', 18, 0x88, b' ', ESC, b't', 19, 0xD5, LF]);
        assert!(out.windows(want.len()).any(|w| w == want.as_slice()), "{out:02x?}");
        // With Windows-1252 on the model, typographic quotes and dashes print as themselves.
        let mut doc = Document::default();
        doc.line("„Tak” – …");
        let wpc = PrinterProfile { extra_code_page: Some(CodePage::Wpc1252), ..PrinterProfile::default() };
        let out = encode_document(&doc, &wpc);
        let want = [ESC, b't', 16, 0x84, b'T', b'a', b'k', 0x94, b' ', 0x96, b' ', 0x85, LF];
        assert!(out.windows(want.len()).any(|w| w == want), "{out:02x?}");
        // Without it they print as ASCII, and columns stay aligned to what is printed.
        let mut doc = Document::default();
        doc.columns("Tak…", "1\u{202F}234,00 €", false);
        let out = encode_document(&doc, &PrinterProfile { columns: 20, ..PrinterProfile::default() });
        let line = out.split(|&b| b == LF).find(|l| l.windows(3).any(|w| w == b"Tak")).unwrap_or_default().to_vec();
        let printed: Vec<u8> = line.iter().copied().skip_while(|&b| b != b'T').collect();
        assert_eq!(printed, b"Tak...    1 234,00 \xd5");
    }

    #[test]
    fn the_models_table_numbers_are_used() {
        let mut doc = Document::default();
        doc.line("Kawa 9,90 €");
        doc.line("Razem 12,50 zł");
        // A model where PC858 is 14 and PC852 is 13.
        let profile =
            PrinterProfile { tables: vec![(CodePage::Pc858, 14), (CodePage::Pc852, 13)], ..PrinterProfile::default() };
        let out = encode_document(&doc, &profile);
        let selects: Vec<u8> = out.windows(3).filter(|w| w[..2] == [ESC, b't']).map(|w| w[2]).collect();
        assert_eq!(selects, [14, 13]);
    }

    #[test]
    fn byte_exact_small_receipt() {
        let mut doc = Document::default();
        doc.styled("Shop", TextStyle { bold: true, double: true }, Align::Center);
        doc.columns("Total", "12,50 €", true);
        doc.push(Block::Cut);
        let profile = PrinterProfile { columns: 16, ..PrinterProfile::default() };
        let mut expected: Vec<u8> = vec![0x1B, 0x40, 0x1B, 0x74, 19];
        expected.extend_from_slice(&[0x1B, 0x61, 1, 0x1B, 0x45, 1, 0x1D, 0x21, 0x11]);
        expected.extend_from_slice(b"Shop\n");
        expected.extend_from_slice(&[0x1B, 0x61, 0, 0x1B, 0x45, 1, 0x1D, 0x21, 0x00]);
        expected.extend_from_slice(b"Total    12,50 \xd5\n");
        expected.extend_from_slice(&[0x1D, 0x56, 66, 3]);
        assert_eq!(encode_document(&doc, &profile), expected);
    }

    #[test]
    fn native_qr_sequence_is_byte_exact() {
        let mut doc = Document::default();
        doc.push(Block::Qr { data: "AB".into(), module_dots: 6 });
        let out = encode_document(&doc, &PrinterProfile::default());
        let tail: &[u8] = &[
            0x1B, 0x61, 1, //
            0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0, //
            0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, 6, //
            0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, 0x31, //
            0x1D, 0x28, 0x6B, 5, 0, 0x31, 0x50, 0x30, b'A', b'B', //
            0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30, 0x0A,
        ];
        assert_eq!(&out[5..], tail);
    }

    #[test]
    fn raster_qr_fallback_has_a_consistent_header() {
        let mut doc = Document::default();
        doc.push(Block::Qr { data: "https://x.test/p/1".into(), module_dots: 4 });
        let profile = PrinterProfile { native_qr: false, ..PrinterProfile::default() };
        let out = encode_document(&doc, &profile);
        let start = out.windows(4).position(|w| w == [0x1D, b'v', b'0', 0]).unwrap_or(usize::MAX);
        assert_ne!(start, usize::MAX, "GS v 0 present");
        let wb = usize::from(out[start + 4]) | usize::from(out[start + 5]) << 8;
        let h = usize::from(out[start + 6]) | usize::from(out[start + 7]) << 8;
        // version 2 QR = 25 modules + 8 quiet = 33 modules × 4 dots = 132 dots → 17 bytes
        assert_eq!((wb, h), (17, 132));
        assert_eq!(out.len(), start + 8 + wb * h + 1);
    }

    #[test]
    fn drawer_kick_and_logo_are_byte_exact() {
        assert_eq!(encode_drawer_kick(DrawerPin::Pin2, 50, 500), [0x1B, 0x70, 0, 25, 250]);
        assert_eq!(encode_drawer_kick(DrawerPin::Pin5, 1, 2000), [0x1B, 0x70, 1, 1, 255]);
        let mut doc = Document::default();
        // 10×2: a black left column and a black dot at (9, 1).
        doc.push(Block::Image(super::super::image::Raster::from_fn(10, 2, |x, y| x == 0 || (x, y) == (9, 1))));
        let out = encode_document(&doc, &PrinterProfile::default());
        assert_eq!(&out[5..], [0x1B, 0x61, 1, 0x1D, b'v', b'0', 0, 2, 0, 2, 0, 0x80, 0x00, 0x80, 0x40, 0x0A]);
    }

    #[test]
    fn text_cannot_inject_commands() {
        let mut doc = Document::default();
        doc.line("x\x1d\x56\x00y");
        let out = encode_document(&doc, &PrinterProfile::default());
        assert!(!out.windows(2).any(|w| w == [0x1D, 0x56]));
    }
}
