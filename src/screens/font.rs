//! The customer display's typeface: a subset of DejaVu Sans, regular and bold
//! (assets/fonts/, cut by assets/fonts/make-subset.sh), read in place from the binary
//! and rasterized with ab_glyph at whole pixel sizes (nothing of the font is copied to
//! the heap: fontdue, before, held 0.9 MB of outlines per weight from start to stop), and
//! kept per (character, size, weight) in a glyph cache, so a screen drawn
//! again (the QR screen's countdown, every second) rasterizes nothing new. Should the
//! embedded font not parse, the error is logged once and texts are drawn in
//! embedded-graphics' 10×20 bitmap fonts instead (a unit test keeps the shipped files
//! parsing).

use ab_glyph::{Font as _, FontRef, PxScale, point};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle, iso_8859_1, iso_8859_2, iso_8859_15};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// DejaVu Sans, the characters the terminal's texts and Klarna's wording use.
const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
/// DejaVu Sans Bold, the same characters.
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold-subset.ttf");
/// Glyphs kept before the cache starts afresh (a few panel sizes' worth of screens).
const GLYPHS_KEPT: usize = 4096;
/// The bitmap fonts' cell at scale 1, and their baseline from the cell's top.
const CELL: (u32, u32, u32) = (10, 20, 16);

/// The weight of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weight {
    /// Running text.
    Regular,
    /// Titles and amounts.
    Bold,
}

/// A rasterized glyph: `width`×`height` coverage values (0–255), its top-left corner
/// `left` pixels right of the pen and `top` pixels below the baseline (negative: above).
#[derive(Debug, PartialEq, Eq)]
pub struct Glyph {
    /// Offset of the bitmap's left edge from the pen position.
    pub left: i32,
    /// Offset of the bitmap's top row from the baseline (y grows downwards).
    pub top: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major coverage, 255 fully inked.
    pub coverage: Vec<u8>,
}

/// Where glyphs come from.
enum Faces {
    /// The embedded TrueType fonts.
    /// (Boxed: a parsed face is 2.8 KB of table offsets, the fallback nothing.)
    Outline { regular: Box<FontRef<'static>>, bold: Box<FontRef<'static>> },
    /// embedded-graphics' bitmap fonts, scaled by whole multiples (when the TrueType files
    /// do not parse).
    Bitmap,
}

/// Parses the two font files; on an error, logs it and falls back to the bitmap fonts.
fn parse(regular: &'static [u8], bold: &'static [u8]) -> Faces {
    match (FontRef::try_from_slice(regular), FontRef::try_from_slice(bold)) {
        (Ok(regular), Ok(bold)) => Faces::Outline { regular: Box::new(regular), bold: Box::new(bold) },
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "the display's embedded font does not parse: texts are drawn in a bitmap font");
            Faces::Bitmap
        }
    }
}

static FACES: LazyLock<Faces> = LazyLock::new(|| parse(REGULAR, BOLD));

type CacheKey = (char, u32, Weight);
static CACHE: LazyLock<Mutex<HashMap<CacheKey, Arc<Glyph>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

#[cfg(test)]
thread_local! {
    /// Glyphs rasterized by this thread (the cache's misses), for the tests.
    pub static RASTERIZED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Faces {
    fn face(&self, weight: Weight) -> Option<&FontRef<'static>> {
        match (self, weight) {
            (Faces::Outline { regular, .. }, Weight::Regular) => Some(regular),
            (Faces::Outline { bold, .. }, Weight::Bold) => Some(bold),
            (Faces::Bitmap, _) => None,
        }
    }
}

/// Pixels per font unit at a size of `px` pixels to the em (the CSS font size).
fn px_per_unit(font: &FontRef<'_>, px: u32) -> f32 {
    // A TrueType font always has its units per em (head table); 2048 is the usual.
    px as f32 / font.units_per_em().unwrap_or(2048.0)
}

/// The bitmap fonts' whole multiple for a size of `px`.
fn cell_scale(px: u32) -> u32 {
    (px / CELL.1).max(1)
}

/// How far the pen moves after `c` at `px` pixels.
pub fn advance(c: char, px: u32, weight: Weight) -> f32 {
    match FACES.face(weight) {
        Some(f) => f.h_advance_unscaled(f.glyph_id(c)) * px_per_unit(f, px),
        None => (CELL.0 * cell_scale(px)) as f32,
    }
}

/// The kerning between `left` and `right` at `px` pixels (negative: closer).
pub fn kern(left: char, right: char, px: u32, weight: Weight) -> f32 {
    match FACES.face(weight) {
        Some(f) => f.kern_unscaled(f.glyph_id(left), f.glyph_id(right)) * px_per_unit(f, px),
        None => 0.0,
    }
}

/// Whole pixels above and below the baseline a line of text at `px` pixels reaches.
pub fn ascent_descent(px: u32) -> (u32, u32) {
    match FACES.face(Weight::Regular) {
        Some(f) => {
            let s = px_per_unit(f, px);
            ((f.ascent_unscaled() * s).ceil().max(0.0) as u32, (-f.descent_unscaled() * s).ceil().max(0.0) as u32)
        }
        None => {
            let s = cell_scale(px);
            (CELL.2 * s, (CELL.1 - CELL.2) * s)
        }
    }
}

/// Whether the display's font has a glyph for `c` (in both weights).
#[cfg(test)]
pub fn has_glyph(c: char) -> bool {
    match &*FACES {
        Faces::Outline { regular, bold } => regular.glyph_id(c).0 != 0 && bold.glyph_id(c).0 != 0,
        Faces::Bitmap => bitmap_font_for(c).is_some(),
    }
}

/// `c` at `px` pixels, rasterized once and kept.
pub fn glyph(c: char, px: u32, weight: Weight) -> Arc<Glyph> {
    let key = (c, px, weight);
    if let Some(g) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return g.clone();
    }
    #[cfg(test)]
    RASTERIZED.with(|n| n.set(n.get() + 1));
    let g = Arc::new(match FACES.face(weight) {
        Some(f) => outline_glyph(f, c, px),
        None => bitmap_glyph(c, px),
    });
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= GLYPHS_KEPT {
        cache.clear();
    }
    cache.insert(key, g.clone());
    g
}

/// `c` rasterized at `px` pixels to the em, its pen at the origin on the baseline; a
/// character without ink (a space) is an empty glyph.
fn outline_glyph(font: &FontRef<'_>, c: char, px: u32) -> Glyph {
    // ab_glyph's scale is the line's height (ascent − descent) in pixels.
    let scale = PxScale::from(font.height_unscaled() * px_per_unit(font, px));
    let Some(outline) = font.outline_glyph(font.glyph_id(c).with_scale_and_position(scale, point(0.0, 0.0))) else {
        return Glyph { left: 0, top: 0, width: 0, height: 0, coverage: Vec::new() };
    };
    let bounds = outline.px_bounds();
    let (width, height) = (bounds.width() as u32, bounds.height() as u32);
    let mut coverage = vec![0u8; (width * height) as usize];
    outline.draw(|x, y, c| {
        if x < width && y < height {
            coverage[(y * width + x) as usize] = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    });
    Glyph { left: bounds.min.x as i32, top: bounds.min.y as i32, width, height, coverage }
}

/// The first bitmap font with a glyph for `c`: Western European, with the euro sign,
/// Central European.
fn bitmap_font_for(c: char) -> Option<&'static MonoFont<'static>> {
    const FONTS: [&MonoFont<'static>; 3] = [&iso_8859_1::FONT_10X20, &iso_8859_15::FONT_10X20, &iso_8859_2::FONT_10X20];
    FONTS.into_iter().find(|f| c == ' ' || f.glyph_mapping.index(c) != f.glyph_mapping.index('\u{FFFF}'))
}

/// Coverage of one bitmap-font cell.
struct Cell(Vec<u8>);

impl OriginDimensions for Cell {
    fn size(&self) -> Size {
        Size::new(CELL.0, CELL.1)
    }
}

impl DrawTarget for Cell {
    type Color = BinaryColor;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<BinaryColor>>>(&mut self, pixels: I) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            let inside = (0..CELL.0 as i32).contains(&p.x) && (0..CELL.1 as i32).contains(&p.y);
            if inside && c == BinaryColor::On {
                self.0[(p.y as u32 * CELL.0 + p.x as u32) as usize] = 255;
            }
        }
        Ok(())
    }
}

/// `c` from the bitmap fonts, each pixel a block of the whole multiple for `px`.
fn bitmap_glyph(c: char, px: u32) -> Glyph {
    let s = cell_scale(px);
    let mut cell = Cell(vec![0; (CELL.0 * CELL.1) as usize]);
    let font = bitmap_font_for(c).unwrap_or(&iso_8859_1::FONT_10X20);
    let style = MonoTextStyle::new(font, BinaryColor::On);
    let _ = Text::with_baseline(c.encode_utf8(&mut [0; 4]), Point::zero(), style, Baseline::Top).draw(&mut cell);
    let (w, h) = (CELL.0 * s, CELL.1 * s);
    let coverage = (0..w * h).map(|i| cell.0[((i / w / s) * CELL.0 + (i % w) / s) as usize]).collect();
    Glyph { left: 0, top: -((CELL.2 * s) as i32), width: w, height: h, coverage }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_fonts_parse_and_a_broken_file_falls_back_to_the_bitmap_font() {
        assert!(matches!(parse(REGULAR, BOLD), Faces::Outline { .. }), "the embedded font files parse");
        assert!(matches!(parse(b"not a font", BOLD), Faces::Bitmap));
        let g = bitmap_glyph('Ł', 40);
        assert_eq!((g.width, g.height), (20, 40));
        assert!(g.coverage.contains(&255), "the bitmap glyph has ink");
        assert!(bitmap_font_for('€').is_some() && bitmap_font_for('ł').is_some());
    }

    #[test]
    fn glyphs_are_kept_and_sizes_are_proportional() {
        let a = glyph('W', 33, Weight::Bold);
        let before = RASTERIZED.with(|n| n.get());
        assert!(Arc::ptr_eq(&a, &glyph('W', 33, Weight::Bold)), "rasterized once");
        assert_eq!(RASTERIZED.with(|n| n.get()), before);
        assert!(a.coverage.iter().any(|&c| c > 0 && c < 255), "anti-aliased coverage");
        assert!(advance('W', 20, Weight::Regular) > 1.5 * advance('i', 20, Weight::Regular), "proportional");
        assert!(kern('A', 'V', 40, Weight::Regular) < 0.0, "kerned");
    }
}
