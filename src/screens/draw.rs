//! Drawing helpers for screens: scaled, wrapped text in a font that has the glyphs,
//! and QR codes drawn module by module with their quiet zone.

use embedded_graphics::mono_font::{MonoFont, MonoTextStyle, iso_8859_1, iso_8859_2, iso_8859_15};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};
use posagent_drivers::display::Frame;
use posagent_drivers::printer::breaks_at;

/// Klarna pink (Klarna's current brand pink in its own docs).
pub const PINK: Rgb888 = Rgb888::new(0xFF, 0xA8, 0xCD);
/// Near-black ink.
pub const INK: Rgb888 = Rgb888::new(0x0B, 0x05, 0x1D);
/// Background.
pub const PAPER: Rgb888 = Rgb888::WHITE;
/// Approval green.
pub const GREEN: Rgb888 = Rgb888::new(0x0A, 0x7A, 0x3C);
/// Decline red.
pub const RED: Rgb888 = Rgb888::new(0xB0, 0x1E, 0x2D);

/// Horizontal alignment of text in its box.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HAlign {
    /// Left.
    Left,
    /// Centre.
    Center,
}

/// Draws every pixel as a `scale`×`scale` block (for large amounts).
struct Scaled<'a> {
    frame: &'a mut Frame,
    scale: u32,
    origin: Point,
}

impl OriginDimensions for Scaled<'_> {
    fn size(&self) -> Size {
        Size::new(self.frame.width() / self.scale, self.frame.height() / self.scale)
    }
}

impl DrawTarget for Scaled<'_> {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(&mut self, pixels: I) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if p.x < 0 || p.y < 0 {
                continue;
            }
            let (x0, y0) = (self.origin.x + p.x * self.scale as i32, self.origin.y + p.y * self.scale as i32);
            for dy in 0..self.scale as i32 {
                for dx in 0..self.scale as i32 {
                    if x0 + dx >= 0 && y0 + dy >= 0 {
                        self.frame.set_pixel((x0 + dx) as u32, (y0 + dy) as u32, c);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Fonts tried in order: Western European, with the euro sign, Central European.
const FONTS: [&MonoFont<'static>; 3] = [&iso_8859_1::FONT_10X20, &iso_8859_15::FONT_10X20, &iso_8859_2::FONT_10X20];

fn covers(font: &MonoFont<'_>, text: &str) -> bool {
    let missing = font.glyph_mapping.index('\u{FFFF}');
    text.chars().all(|c| c == ' ' || font.glyph_mapping.index(c) != missing)
}

/// The first font whose character set has every character of `text` (else the first).
fn font_for(text: &str) -> &'static MonoFont<'static> {
    FONTS.iter().copied().find(|f| covers(f, text)).unwrap_or(FONTS[0])
}

/// The words of `text`, split only where a line may break — the printer's rule
/// ([`breaks_at`]: never at the no-break spaces CLDR puts inside amounts), so an amount
/// is never split across lines on the display either.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(breaks_at).filter(|w| !w.is_empty())
}

/// `text` in characters the fonts have: narrow and thin no-break spaces as a no-break
/// space, the minus sign and dashes as `-`, typographic quotes as ASCII, `…` as `...`.
pub fn for_font(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{2007}' | '\u{2009}' | '\u{202F}' => out.push('\u{A0}'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2039}' | '\u{203A}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' => out.push('"'),
            '\u{2026}' => out.push_str("..."),
            '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Height `text` takes wrapped into `width` at `scale`.
pub fn measure(text: &str, width: u32, scale: u32) -> u32 {
    let scale = scale.max(1);
    let (gw, gh) = (GLYPH.0 * scale, GLYPH.1 * scale);
    wrap(&for_font(text), (width / gw).max(1) as usize).len() as u32 * (gh + gh / 4)
}

/// Glyph width × height of the font at scale 1.
pub const GLYPH: (u32, u32) = (10, 20);

fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let mut lines = vec![];
    let mut line = String::new();
    for word in words(text) {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && needed > max_chars {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > max_chars {
            let head: String = line.chars().take(max_chars).collect();
            let tail: String = line.chars().skip(max_chars).collect();
            lines.push(head);
            line = tail;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// How text is drawn: size multiple, colour, alignment.
#[derive(Clone, Copy)]
pub struct Pen {
    /// Multiple of the base font size.
    pub scale: u32,
    /// Colour.
    pub color: Rgb888,
    /// Alignment in the box.
    pub align: HAlign,
}

/// Draws `text` wrapped into a box `width` wide with its top-left at `at`.
/// Returns the height used.
pub fn text_block(frame: &mut Frame, text: &str, at: (u32, u32), width: u32, pen: Pen) -> u32 {
    let Pen { scale, color, align } = pen;
    let (x, y) = (at.0 as i32, at.1 as i32);
    let scale = scale.max(1);
    let (gw, gh) = (GLYPH.0 * scale, GLYPH.1 * scale);
    let max_chars = (width / gw).max(1) as usize;
    let text = &for_font(text);
    let font = font_for(text);
    let style = MonoTextStyle::new(font, color);
    let mut used = 0;
    for line in wrap(text, max_chars) {
        let line_w = line.chars().count() as u32 * gw;
        let lx = match align {
            HAlign::Left => x,
            HAlign::Center => x + (width.saturating_sub(line_w) / 2) as i32,
        };
        let mut target = Scaled { frame, scale, origin: Point::new(lx, y + used as i32) };
        let _ = Text::with_baseline(&line, Point::zero(), style, Baseline::Top).draw(&mut target);
        used += gh + gh / 4;
    }
    used
}

/// The largest scale (1–4) at which `text` fits in `width` on one line.
pub fn fitting_scale(text: &str, width: u32, max: u32) -> u32 {
    let chars = for_font(text).chars().count().max(1) as u32;
    (1..=max).rev().find(|s| chars * GLYPH.0 * s <= width).unwrap_or(1)
}

/// Fills a rectangle.
pub fn fill(frame: &mut Frame, x: i32, y: i32, w: u32, h: u32, color: Rgb888) {
    let _ = Rectangle::new(Point::new(x, y), Size::new(w, h)).into_styled(PrimitiveStyle::with_fill(color)).draw(frame);
}

/// Modules across the QR code of `data`, quiet zone included (`None`: it does not fit a
/// QR code).
pub fn qr_modules(data: &str) -> Option<u32> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(code.width() as u32 + 8)
}

/// A result mark that reads without colour (a 1-bit panel shows both bands black).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A check mark: approved.
    Check,
    /// A cross: declined.
    Cross,
}

/// Draws `mark` in a `size`×`size` box with its top-left at (x, y), strokes a sixth of
/// the box wide.
pub fn mark(frame: &mut Frame, mark: Mark, (x, y): (u32, u32), size: u32, color: Rgb888) {
    use embedded_graphics::primitives::Line;
    let stroke = PrimitiveStyle::with_stroke(color, (size / 6).max(2));
    let p = |fx: u32, fy: u32| Point::new((x + size * fx / 8) as i32, (y + size * fy / 8) as i32);
    let strokes = match mark {
        Mark::Check => [(p(1, 4), p(3, 6)), (p(3, 6), p(7, 1))],
        Mark::Cross => [(p(1, 1), p(7, 7)), (p(7, 1), p(1, 7))],
    };
    for (a, b) in strokes {
        let _ = Line::new(a, b).into_styled(stroke).draw(frame);
    }
}

/// Draws a QR code of `data` as large as fits in a `side`×`side` square at (x, y),
/// white quiet zone of 4 modules included. Returns the side actually used, or `None`
/// if the data does not fit a QR code at that size.
pub fn qr_code(frame: &mut Frame, data: &str, x: u32, y: u32, side: u32) -> Option<u32> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let n = code.width() as u32;
    let modules = n + 8;
    let scale = side / modules;
    if scale < 2 {
        return None;
    }
    let used = modules * scale;
    let (ox, oy) = (x + (side - used) / 2, y + (side - used) / 2);
    fill(frame, ox as i32, oy as i32, used, used, PAPER);
    let colors = code.to_colors();
    for my in 0..n {
        for mx in 0..n {
            if colors[(my * n + mx) as usize] == qrcode::Color::Dark {
                let (px, py) = (ox + (mx + 4) * scale, oy + (my + 4) * scale);
                for dy in 0..scale {
                    for dx in 0..scale {
                        frame.set_pixel(px + dx, py + dy, Rgb888::BLACK);
                    }
                }
            }
        }
    }
    Some(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width_and_long_words() {
        assert_eq!(wrap("Pay in 4 payments of $12.50", 12), vec!["Pay in 4", "payments of", "$12.50"]);
        assert_eq!(wrap("Zahlungsbestätigung", 12), vec!["Zahlungsbest", "ätigung"]);
        assert_eq!(wrap("a b", 10), vec!["a b"]);
    }

    #[test]
    fn an_amount_is_never_split_across_lines() {
        // fi-FI: "3 × 1 333,33 €" with CLDR's no-break spaces stays whole on its line.
        let offer = "Maksa 3\u{A0}×\u{A0}1\u{A0}333,33\u{A0}€ korotta";
        assert_eq!(wrap(offer, 16), vec!["Maksa", "3\u{A0}×\u{A0}1\u{A0}333,33\u{A0}€", "korotta"]);
        assert_eq!(for_font("1\u{202F}234,50\u{A0}€ \u{2212}5 „a” …"), "1\u{A0}234,50\u{A0}€ -5 \"a\" ...");
        assert!(covers(font_for(&for_font("1\u{202F}234,50\u{A0}€")), &for_font("1\u{202F}234,50\u{A0}€")));
    }

    #[test]
    fn fonts_cover_euro_and_polish() {
        for text in ["1.234,50 €", "12,50 zł", "Betala med Klarna åäö", "Zapłać z Klarna"] {
            assert!(covers(font_for(text), text), "{text}");
        }
        assert!(!covers(FONTS[0], "€") && covers(FONTS[1], "€"));
        assert!(!covers(FONTS[0], "ł") && covers(FONTS[2], "ł"));
    }

    #[test]
    fn fitting_scale_picks_the_largest() {
        assert_eq!(fitting_scale("1 234,50 kr", 400, 4), 3);
        assert_eq!(fitting_scale("x", 5, 4), 1);
    }
}
