//! Klarna's badge as the acquirer serves it (`badge_url`), decoded from PNG or SVG and
//! rasterized once per box size into a bitmap kept in memory. The badge is shown
//! unaltered: scaled to fit with its aspect ratio, transparency over the screen's paper
//! white; on a 1-bit panel it is dithered with a 4×4 ordered (Bayer) matrix, so its
//! colours come out as a pattern of dots rather than vanishing under the panel's
//! threshold. Fetching and the disk cache live in `crate::assets`.

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use posagent_drivers::display::Frame;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Largest badge file decoded (bytes).
pub const MAX_BADGE_BYTES: usize = 256 * 1024;
/// Largest side a badge is rasterized to (pixels).
const MAX_SIDE: u32 = 2048;
/// Bitmaps kept per badge (panel sizes and boxes).
const RASTERS_KEPT: usize = 16;

/// Why a badge file cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum BadgeError {
    /// Larger than [`MAX_BADGE_BYTES`].
    #[error("the badge is {0} bytes, more than the {MAX_BADGE_BYTES} allowed")]
    TooLarge(usize),
    /// A PNG that does not decode.
    #[error("the badge is not a readable PNG: {0}")]
    Png(#[from] png::DecodingError),
    /// An SVG that does not parse.
    #[error("the badge is not a readable SVG: {0}")]
    Svg(#[from] resvg::usvg::Error),
    /// Neither PNG nor SVG, or of no size.
    #[error("the badge is neither a PNG nor an SVG with a size")]
    Unsupported,
}

enum Source {
    Svg(Box<resvg::usvg::Tree>),
    /// Straight RGBA, 8 bits per channel.
    Png {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
}

/// A rasterized badge: `width`×`height` pixels, composited over white.
#[derive(Debug, PartialEq, Eq)]
pub struct Bitmap {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major pixels.
    pub pixels: Vec<Rgb888>,
}

struct Inner {
    digest: [u8; 32],
    source: Source,
    rasters: Mutex<HashMap<(u32, u32, bool), Arc<Bitmap>>>,
}

/// A decoded badge (cheap to clone; equal when the files are).
#[derive(Clone)]
pub struct Badge(Arc<Inner>);

impl std::fmt::Debug for Badge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.0.source {
            Source::Svg(_) => "svg",
            Source::Png { .. } => "png",
        };
        write!(
            f,
            "Badge({kind}, {:02x}{:02x}{:02x}{:02x})",
            self.0.digest[0], self.0.digest[1], self.0.digest[2], self.0.digest[3]
        )
    }
}

impl PartialEq for Badge {
    fn eq(&self, other: &Self) -> bool {
        self.0.digest == other.0.digest
    }
}

impl Eq for Badge {}

impl Badge {
    /// Decodes a PNG (by its signature) or an SVG file.
    pub fn decode(bytes: &[u8]) -> Result<Badge, BadgeError> {
        if bytes.len() > MAX_BADGE_BYTES {
            return Err(BadgeError::TooLarge(bytes.len()));
        }
        let source = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") { decode_png(bytes)? } else { decode_svg(bytes)? };
        let digest = Sha256::digest(bytes).into();
        Ok(Badge(Arc::new(Inner { digest, source, rasters: Mutex::new(HashMap::new()) })))
    }

    /// Width over height of the badge as drawn.
    fn size(&self) -> (f32, f32) {
        match &self.0.source {
            Source::Svg(t) => (t.size().width(), t.size().height()),
            Source::Png { width, height, .. } => (*width as f32, *height as f32),
        }
    }

    /// The badge scaled to fit a `max_w`×`max_h` box (aspect ratio kept), dithered for
    /// a 1-bit panel when `mono`; rasterized once per box and kept.
    pub fn raster(&self, max_w: u32, max_h: u32, mono: bool) -> Option<Arc<Bitmap>> {
        let key = (max_w, max_h, mono);
        if let Some(b) = self.0.rasters.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Some(b.clone());
        }
        let (sw, sh) = self.size();
        let scale = (max_w.min(MAX_SIDE) as f32 / sw).min(max_h.min(MAX_SIDE) as f32 / sh);
        let (w, h) = ((sw * scale).floor() as u32, (sh * scale).floor() as u32);
        if w == 0 || h == 0 || !scale.is_finite() {
            return None;
        }
        let rgba = match &self.0.source {
            Source::Svg(tree) => {
                let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)?;
                let t = resvg::tiny_skia::Transform::from_scale(w as f32 / sw, h as f32 / sh);
                resvg::render(tree, t, &mut pixmap.as_mut());
                // tiny-skia's pixels are premultiplied: over white, c + (255 - a).
                pixmap.data().chunks_exact(4).map(|p| [p[0], p[1], p[2], p[3]]).map(premultiplied_over_white).collect()
            }
            Source::Png { width, height, rgba } => resample(rgba, (*width, *height), (w, h)),
        };
        let pixels = if mono { dither(&rgba, w) } else { rgba };
        let bitmap = Arc::new(Bitmap { width: w, height: h, pixels });
        let mut rasters = self.0.rasters.lock().unwrap_or_else(|p| p.into_inner());
        if rasters.len() >= RASTERS_KEPT {
            rasters.clear();
        }
        rasters.insert(key, bitmap.clone());
        Some(bitmap)
    }
}

fn premultiplied_over_white(p: [u8; 4]) -> Rgb888 {
    let over = |c: u8| c.saturating_add(255 - p[3]);
    Rgb888::new(over(p[0]), over(p[1]), over(p[2]))
}

fn straight_over_white(p: &[u8]) -> Rgb888 {
    let a = u32::from(p[3]);
    let over = |c: u8| ((u32::from(c) * a + 255 * (255 - a)) / 255) as u8;
    Rgb888::new(over(p[0]), over(p[1]), over(p[2]))
}

fn decode_png(bytes: &[u8]) -> Result<Source, BadgeError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8() | png::Transformations::ALPHA);
    let mut reader = decoder.read_info()?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > 4 * 1024 * 1024 {
        return Err(BadgeError::Unsupported);
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        _ => return Err(BadgeError::Unsupported),
    };
    Ok(Source::Png { width, height, rgba })
}

fn decode_svg(bytes: &[u8]) -> Result<Source, BadgeError> {
    let tree = resvg::usvg::Tree::from_data(bytes, &resvg::usvg::Options::default())?;
    let s = tree.size();
    if !(s.width() >= 1.0 && s.height() >= 1.0) {
        return Err(BadgeError::Unsupported);
    }
    Ok(Source::Svg(Box::new(tree)))
}

/// Area-averaged (box filter) resampling of straight RGBA to `to`, over white.
fn resample(rgba: &[u8], (sw, sh): (u32, u32), (w, h): (u32, u32)) -> Vec<Rgb888> {
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        let (y0, y1) = (y * sh / h, ((y + 1) * sh / h).max(y * sh / h + 1).min(sh));
        for x in 0..w {
            let (x0, x1) = (x * sw / w, ((x + 1) * sw / w).max(x * sw / w + 1).min(sw));
            let (mut acc, mut n) = ([0u32; 3], 0u32);
            for sy in y0..y1 {
                for sx in x0..x1 {
                    let i = ((sy * sw + sx) * 4) as usize;
                    let c = straight_over_white(&rgba[i..i + 4]);
                    acc[0] += u32::from(c.r());
                    acc[1] += u32::from(c.g());
                    acc[2] += u32::from(c.b());
                    n += 1;
                }
            }
            let n = n.max(1);
            out.push(Rgb888::new((acc[0] / n) as u8, (acc[1] / n) as u8, (acc[2] / n) as u8));
        }
    }
    out
}

/// 4×4 Bayer matrix, thresholds (i + 0.5) × 16.
const BAYER: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];

/// Ordered dither to black and white on BT.601 luma.
fn dither(pixels: &[Rgb888], width: u32) -> Vec<Rgb888> {
    pixels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = (i % width as usize, i / width as usize);
            let luma = (u32::from(p.r()) * 299 + u32::from(p.g()) * 587 + u32::from(p.b()) * 114) / 1000;
            let threshold = u32::from(BAYER[y % 4][x % 4]) * 16 + 8;
            if luma < threshold { Rgb888::BLACK } else { Rgb888::WHITE }
        })
        .collect()
}

/// Draws `bitmap` with its top-left at (x, y).
pub fn blit(frame: &mut Frame, bitmap: &Bitmap, (x, y): (u32, u32)) {
    for (i, p) in bitmap.pixels.iter().enumerate() {
        let (bx, by) = (i as u32 % bitmap.width, i as u32 / bitmap.width);
        frame.set_pixel(x + bx, y + by, *p);
    }
}

/// Draws `badge` as large as fits in the `w`×`h` box at (x, y), centred; whether it could.
pub fn draw_in(frame: &mut Frame, badge: &Badge, (x, y, w, h): (u32, u32, u32, u32), mono: bool) -> bool {
    let Some(b) = badge.raster(w, h, mono) else { return false };
    blit(frame, &b, (x + (w - b.width) / 2, y + (h - b.height) / 2));
    true
}

/// The badge the simulator serves and the tests draw (not Klarna's file): a pink
/// rounded rectangle with "Klarna." in paths, 0xFFB3C7 so it tells from the screens'
/// own pink.
#[cfg(test)]
pub const TEST_SVG: &str = include_str!("../../simulator/assets/klarna-badge.svg");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_rasterize_to_the_box_with_their_aspect_and_are_kept() -> Result<(), BadgeError> {
        let badge = Badge::decode(TEST_SVG.as_bytes())?;
        let b = badge.raster(200, 200, false).ok_or(BadgeError::Unsupported)?;
        assert_eq!(b.width, 200);
        assert!(b.height < 100, "{}", b.height);
        assert!(b.pixels.contains(&Rgb888::new(0xFF, 0xB3, 0xC7)), "the badge's pink, unaltered");
        assert!(Arc::ptr_eq(&b, &badge.raster(200, 200, false).ok_or(BadgeError::Unsupported)?), "rasterized once");
        let mono = badge.raster(200, 200, true).ok_or(BadgeError::Unsupported)?;
        assert!(mono.pixels.iter().all(|p| *p == Rgb888::BLACK || *p == Rgb888::WHITE));
        let dark = mono.pixels.iter().filter(|p| **p == Rgb888::BLACK).count();
        assert!(dark > mono.pixels.len() / 10 && dark < mono.pixels.len() * 9 / 10, "dithered, not thresholded away");
        let mut f = Frame::new(b.width, b.height, Rgb888::WHITE);
        blit(&mut f, &b, (0, 0));
        let png = Badge::decode(&f.to_png().map_err(|_| BadgeError::Unsupported)?)?;
        let p = png.raster(100, 100, false).ok_or(BadgeError::Unsupported)?;
        assert_eq!(p.width, 100);
        assert!(p.pixels.contains(&Rgb888::new(0xFF, 0xB3, 0xC7)));
        Ok(())
    }

    #[test]
    fn broken_files_are_refused() {
        assert!(Badge::decode(b"<svg xmlns='http://www.w3.org/2000/svg'><rect").is_err());
        assert!(Badge::decode(b"\x89PNG\r\n\x1a\nbroken").is_err());
        assert!(Badge::decode(b"not an image").is_err());
        assert!(matches!(Badge::decode(&vec![b' '; MAX_BADGE_BYTES + 1]), Err(BadgeError::TooLarge(_))));
    }
}
