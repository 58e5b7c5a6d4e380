//! Drawing helpers for screens: proportional text (the glyphs from [`super::font`])
//! wrapped by word at its real advance widths, sized in whole pixels to fit its box,
//! anti-aliased on colour panels and thresholded on 1-bit ones; QR codes drawn module by
//! module with their quiet zone.

use super::font::{self, Glyph, Weight};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
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

/// The size of running text, in pixels (the em square).
pub const BODY_PX: u32 = 20;

/// The words of `text`, split only where a line may break — the printer's rule
/// ([`breaks_at`]: never at the no-break spaces CLDR puts inside amounts), so an amount
/// is never split across lines on the display either.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(breaks_at).filter(|w| !w.is_empty())
}

/// `text` in characters the font has (the subset in assets/fonts/ has these too, but
/// the bitmap fallback does not): narrow and thin no-break spaces as a no-break space,
/// the minus sign and dashes as `-`, typographic quotes as ASCII, `…` as `...`.
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
            c if c.is_control() => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// The height of one line of text at `px` pixels, leading included (at small sizes, at
/// least the font's whole ascent and descent: lines never overlap).
pub fn line_height(px: u32) -> u32 {
    let (ascent, descent) = font::ascent_descent(px);
    (px + px / 4).max(ascent + descent)
}

/// How text is drawn: size, weight, colour, alignment, and whether for a 1-bit panel.
#[derive(Clone, Copy)]
pub struct Pen {
    /// Size in pixels (the em square; whole pixels, so baselines fall on pixels).
    pub px: u32,
    /// Regular or bold.
    pub weight: Weight,
    /// Colour.
    pub color: Rgb888,
    /// Alignment in the box.
    pub align: HAlign,
    /// For a 1-bit panel: coverage thresholded at 50 %, no grey fringe.
    pub mono: bool,
}

impl Pen {
    /// Running text: [`BODY_PX`], regular, ink, centred.
    pub fn body(mono: bool) -> Pen {
        Pen { px: BODY_PX, weight: Weight::Regular, color: INK, align: HAlign::Center, mono }
    }
}

/// The width of `line` at `px` pixels: its advances and kerning, rounded up.
pub fn line_width(line: &str, px: u32, weight: Weight) -> u32 {
    let mut width = 0.0;
    let mut previous = None;
    for c in line.chars() {
        if let Some(p) = previous {
            width += font::kern(p, c, px, weight);
        }
        width += font::advance(c, px, weight);
        previous = Some(c);
    }
    width.ceil().max(0.0) as u32
}

/// A line being filled: its text and the unrounded width so far, summed in the same
/// order as [`line_width`] (so a line's width never depends on how it was built).
#[derive(Default)]
struct LineSoFar {
    text: String,
    width: f32,
    last: Option<char>,
}

impl LineSoFar {
    /// The width with `more` appended, without appending it.
    fn width_with(&self, more: impl Iterator<Item = char>, px: u32, weight: Weight) -> f32 {
        let (mut width, mut previous) = (self.width, self.last);
        for c in more {
            if let Some(p) = previous {
                width += font::kern(p, c, px, weight);
            }
            width += font::advance(c, px, weight);
            previous = Some(c);
        }
        width
    }

    fn push(&mut self, more: &str, width: f32) {
        self.text.push_str(more);
        self.width = width;
        self.last = more.chars().last().or(self.last);
    }
}

/// Whether an unrounded width fits in `width` (as [`line_width`] rounds it).
fn fits(w: f32, width: u32) -> bool {
    w.ceil().max(0.0) as u32 <= width
}

/// `text` (already [`for_font`]) in lines no wider than `width` at `px`: broken between
/// words, a word wider than the line broken between characters.
fn wrap(text: &str, width: u32, px: u32, weight: Weight) -> Vec<String> {
    let mut lines = vec![];
    let mut line = LineSoFar::default();
    for word in words(text) {
        let sep = if line.text.is_empty() { "" } else { " " };
        let joined = line.width_with(sep.chars().chain(word.chars()), px, weight);
        if fits(joined, width) {
            line.push(sep, line.width_with(sep.chars(), px, weight));
            line.push(word, joined);
            continue;
        }
        if !line.text.is_empty() {
            lines.push(std::mem::take(&mut line).text);
        }
        for c in word.chars() {
            let with = line.width_with(std::iter::once(c), px, weight);
            if !fits(with, width) && !line.text.is_empty() {
                lines.push(std::mem::take(&mut line).text);
                let alone = line.width_with(std::iter::once(c), px, weight);
                line.push(c.encode_utf8(&mut [0; 4]), alone);
            } else {
                line.push(c.encode_utf8(&mut [0; 4]), with);
            }
        }
    }
    if !line.text.is_empty() {
        lines.push(line.text);
    }
    lines
}

/// Height `text` takes wrapped into `width` with `pen`'s size and weight.
pub fn measure(text: &str, width: u32, pen: Pen) -> u32 {
    let px = pen.px.max(1);
    wrap(&for_font(text), width, px, pen.weight).len() as u32 * line_height(px)
}

#[cfg(test)]
thread_local! {
    /// What this thread drew: each text line's and QR code's box (x, y, width, height),
    /// and whether every line was as wide as its block at most, for the layout tests.
    pub static DRAWN: std::cell::RefCell<Vec<(u32, u32, u32, u32)>> = const { std::cell::RefCell::new(vec![]) };
}

/// Records a drawn box (tests only).
fn drawn(_area: (u32, u32, u32, u32)) {
    #[cfg(test)]
    DRAWN.with(|d| d.borrow_mut().push(_area));
}

/// Draws `text` wrapped into a box `width` wide with its top-left at `at`.
/// Returns the height used.
pub fn text_block(frame: &mut Frame, text: &str, at: (u32, u32), width: u32, pen: Pen) -> u32 {
    let px = pen.px.max(1);
    let (ascent, descent) = font::ascent_descent(px);
    let line_h = line_height(px);
    let mut used = 0;
    for line in wrap(&for_font(text), width, px, pen.weight) {
        let line_w = line_width(&line, px, pen.weight);
        let x = match pen.align {
            HAlign::Left => at.0,
            HAlign::Center => at.0 + width.saturating_sub(line_w) / 2,
        };
        let baseline = at.1 + used + line_h.saturating_sub(ascent + descent) / 2 + ascent;
        draw_line(frame, &line, (x as f32, baseline as i32), pen);
        drawn((x, baseline - ascent, line_w, ascent + descent));
        used += line_h;
    }
    used
}

/// Draws one line with its pen starting at `x` on the whole-pixel `baseline`.
fn draw_line(frame: &mut Frame, line: &str, (mut x, baseline): (f32, i32), pen: Pen) {
    let mut previous = None;
    for c in line.chars() {
        if let Some(p) = previous {
            x += font::kern(p, c, pen.px, pen.weight);
        }
        if !c.is_whitespace() {
            let g = font::glyph(c, pen.px, pen.weight);
            draw_glyph(frame, &g, (x.round() as i32 + g.left, baseline + g.top), pen);
        }
        x += font::advance(c, pen.px, pen.weight);
        previous = Some(c);
    }
}

/// Draws a glyph's coverage with its top-left at (x, y): blended between the pen's colour
/// and what is under it, or for a 1-bit panel inked where it covers half the pixel.
fn draw_glyph(frame: &mut Frame, g: &Glyph, (x, y): (i32, i32), pen: Pen) {
    for (i, &a) in g.coverage.iter().enumerate() {
        let (px, py) = (x + (i as u32 % g.width.max(1)) as i32, y + (i as u32 / g.width.max(1)) as i32);
        if a == 0 || px < 0 || py < 0 {
            continue;
        }
        let (px, py) = (px as u32, py as u32);
        if a == 255 || (pen.mono && a >= 128) {
            frame.set_pixel(px, py, pen.color);
        } else if !pen.mono {
            frame.set_pixel(px, py, blend(frame.pixel(px, py), pen.color, a));
        }
    }
}

/// `over` on `under` at coverage `a` (0–255).
fn blend(under: Rgb888, over: Rgb888, a: u8) -> Rgb888 {
    let mix = |u: u8, o: u8| ((u32::from(u) * (255 - u32::from(a)) + u32::from(o) * u32::from(a) + 127) / 255) as u8;
    Rgb888::new(mix(under.r(), over.r()), mix(under.g(), over.g()), mix(under.b(), over.b()))
}

/// The largest whole-pixel size from `min` to `max` at which `text` fits in `width` on
/// one line (else `min`: it wraps).
pub fn fitting_px(text: &str, width: u32, (min, max): (u32, u32), weight: Weight) -> u32 {
    let text = for_font(text);
    let at_max = line_width(&text, max, weight).max(1);
    // Widths grow in proportion to the size: start from the estimate, then check.
    let mut px = (u64::from(max) * u64::from(width) / u64::from(at_max)).min(u64::from(max)) as u32;
    while px > min && line_width(&text, px, weight) > width {
        px -= 1;
    }
    px.max(min)
}

/// Fills a rectangle.
pub fn fill(frame: &mut Frame, x: i32, y: i32, w: u32, h: u32, color: Rgb888) {
    let _ = Rectangle::new(Point::new(x, y), Size::new(w, h)).into_styled(PrimitiveStyle::with_fill(color)).draw(frame);
}

/// A QR code's dark modules, row by row, and its width in modules (no quiet zone).
struct QrModules {
    data: String,
    width: u32,
    dark: Vec<bool>,
}

thread_local! {
    /// The last QR code encoded on this thread: the QR screen measures it, draws it, and
    /// redraws it every second for the countdown; choosing its mask is most of its cost.
    static LAST_QR: std::cell::RefCell<Option<std::rc::Rc<QrModules>>> = const { std::cell::RefCell::new(None) };
}

/// The QR code of `data` at error correction level M (`None`: it does not fit one).
fn qr_of(data: &str) -> Option<std::rc::Rc<QrModules>> {
    if let Some(q) = LAST_QR.with(|l| l.borrow().as_ref().filter(|q| q.data == data).cloned()) {
        return Some(q);
    }
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
    let q = std::rc::Rc::new(QrModules { data: data.to_string(), width: code.width() as u32, dark });
    LAST_QR.with(|l| *l.borrow_mut() = Some(q.clone()));
    Some(q)
}

/// Modules across the QR code of `data`, quiet zone included (`None`: it does not fit a
/// QR code).
pub fn qr_modules(data: &str) -> Option<u32> {
    Some(qr_of(data)?.width + 8)
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
    let code = qr_of(data)?;
    let n = code.width;
    let modules = n + 8;
    let scale = side / modules;
    if scale < 2 {
        return None;
    }
    let used = modules * scale;
    let (ox, oy) = (x + (side - used) / 2, y + (side - used) / 2);
    drawn((ox, oy, used, used));
    fill(frame, ox as i32, oy as i32, used, used, PAPER);
    for my in 0..n {
        for mx in 0..n {
            if code.dark[(my * n + mx) as usize] {
                let (px, py) = (ox + (mx + 4) * scale, oy + (my + 4) * scale);
                fill(frame, px as i32, py as i32, scale, scale, Rgb888::BLACK);
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
        let px = BODY_PX;
        let w = line_width("payments of", px, Weight::Regular);
        let lines = wrap("Pay in 4 payments of $12.50", w, px, Weight::Regular);
        assert_eq!(lines, vec!["Pay in 4", "payments of", "$12.50"]);
        let long = wrap("Zahlungsbestätigung", w, px, Weight::Regular);
        assert!(long.len() == 2 && long.concat() == "Zahlungsbestätigung", "{long:?}");
        assert!(long.iter().all(|l| line_width(l, px, Weight::Regular) <= w));
        assert_eq!(wrap("a b", 200, px, Weight::Regular), vec!["a b"]);
    }

    #[test]
    fn an_amount_is_never_split_across_lines() {
        // fi-FI: "3 × 1 333,33 €" with CLDR's no-break spaces stays whole on its line.
        let offer = "Maksa 3\u{A0}×\u{A0}1\u{A0}333,33\u{A0}€ korotta";
        let w = line_width("3\u{A0}×\u{A0}1\u{A0}333,33\u{A0}€", BODY_PX, Weight::Regular);
        assert_eq!(
            wrap(offer, w, BODY_PX, Weight::Regular),
            vec!["Maksa", "3\u{A0}×\u{A0}1\u{A0}333,33\u{A0}€", "korotta"]
        );
        assert_eq!(for_font("1\u{202F}234,50\u{A0}€ \u{2212}5 „a” …"), "1\u{A0}234,50\u{A0}€ -5 \"a\" ...");
    }

    #[test]
    fn fitting_px_picks_the_largest_that_fits() {
        let px = fitting_px("1 234,50 kr", 400, (BODY_PX, 80), Weight::Bold);
        assert!(line_width("1 234,50 kr", px, Weight::Bold) <= 400);
        assert!(px == 80 || line_width("1 234,50 kr", px + 1, Weight::Bold) > 400, "{px}");
        assert!(px > 40, "{px}");
        assert_eq!(fitting_px("x", 5, (BODY_PX, 80), Weight::Regular), BODY_PX, "the smallest, and it wraps");
    }

    #[test]
    fn text_is_blended_on_colour_and_crisp_on_one_bit() {
        let pen = Pen { px: 27, ..Pen::body(false) };
        let mut colour = Frame::new(200, 40, PAPER);
        text_block(&mut colour, "Betala 12,50 €", (0, 0), 200, pen);
        let mut mono = Frame::new(200, 40, PAPER);
        text_block(&mut mono, "Betala 12,50 €", (0, 0), 200, Pen { mono: true, ..pen });
        let greys = |f: &Frame| {
            (0..40)
                .flat_map(|y| (0..200).map(move |x| (x, y)))
                .filter(|&(x, y)| ![PAPER, INK].contains(&f.pixel(x, y)))
                .count()
        };
        assert!(greys(&colour) > 50, "anti-aliased edges");
        assert_eq!(greys(&mono), 0, "only ink and paper");
        assert!(mono.luma().iter().filter(|&&l| l < 128).count() > 100, "with ink");
    }
}
