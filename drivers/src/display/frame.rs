//! A 24-bit RGB frame that embedded-graphics draws into, with PNG export and diffing.

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Pixel, Point, Size};

/// A rectangle of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// An RGB frame buffer.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    /// Row-major, one `[r, g, b]` each (bytes, so rows compare and copy as memory).
    pixels: Vec<[u8; 3]>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width, self.height)
    }
}

impl Frame {
    /// A frame filled with `color`.
    pub fn new(width: u32, height: u32, color: Rgb888) -> Self {
        Frame { width, height, pixels: vec![bytes(color); (width as usize) * (height as usize)] }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel at (x, y); black outside.
    pub fn pixel(&self, x: u32, y: u32) -> Rgb888 {
        if x < self.width && y < self.height {
            color(self.pixels[(y * self.width + x) as usize])
        } else {
            Rgb888::BLACK
        }
    }

    /// The pixels of row `y`, left to right, as `[r, g, b]` (none below the frame).
    pub fn row(&self, y: u32) -> Option<&[[u8; 3]]> {
        let w = self.width as usize;
        self.pixels.get(y as usize * w..(y as usize + 1) * w)
    }

    /// Overwrites row `y` from column `x` on with `colors`, as many as fit in the row.
    pub fn set_row(&mut self, x: u32, y: u32, colors: impl IntoIterator<Item = Rgb888>) {
        if y >= self.height || x >= self.width {
            return;
        }
        let start = (y * self.width + x) as usize;
        let end = ((y + 1) * self.width) as usize;
        for (p, c) in self.pixels[start..end].iter_mut().zip(colors) {
            *p = bytes(c);
        }
    }

    /// Sets the pixel at (x, y); ignored outside.
    pub fn set_pixel(&mut self, x: u32, y: u32, c: Rgb888) {
        if x < self.width && y < self.height {
            self.pixels[(y * self.width + x) as usize] = bytes(c);
        }
    }

    /// Luma (0–255) of every pixel, row-major: what a camera or QR decoder sees.
    pub fn luma(&self) -> Vec<u8> {
        self.pixels.iter().map(|p| luma(color(*p))).collect()
    }

    /// Whether the pixel at (x, y) is dark on a 1-bit display.
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        luma(self.pixel(x, y)) < 128
    }

    /// The frame as a 1-bit display shows it (dark pixels black, the rest white).
    pub fn to_mono(&self) -> Frame {
        let dark = |p: &[u8; 3]| luma(color(*p)) < 128;
        let pixels = self.pixels.iter().map(|p| bytes(if dark(p) { Rgb888::BLACK } else { Rgb888::WHITE })).collect();
        Frame { width: self.width, height: self.height, pixels }
    }

    /// The smallest region that differs from `previous`, or `None` if identical.
    /// A previous frame of another size differs everywhere.
    pub fn changed_region(&self, previous: Option<&Frame>) -> Option<Region> {
        let full = Region { x: 0, y: 0, width: self.width, height: self.height };
        let Some(prev) = previous else { return Some(full) };
        if prev.width != self.width || prev.height != self.height {
            return Some(full);
        }
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for y in 0..self.height {
            let row = (y * self.width) as usize..((y + 1) * self.width) as usize;
            let (a, b) = (&self.pixels[row.clone()], &prev.pixels[row]);
            if a == b {
                continue;
            }
            let first = a.iter().zip(b).position(|(p, q)| p != q).unwrap_or(0) as u32;
            let last = a.iter().zip(b).rposition(|(p, q)| p != q).unwrap_or(0) as u32;
            x0 = x0.min(first);
            x1 = x1.max(last);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        (x0 != u32::MAX).then(|| Region { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 })
    }

    /// Encodes the frame as an 8-bit RGB PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header()?;
            let data = self.pixels.as_flattened();
            w.write_image_data(data)?;
        }
        Ok(out)
    }
}

/// Luma of a colour, ITU-R BT.601 weights.
/// `c` as stored.
fn bytes(c: Rgb888) -> [u8; 3] {
    [c.r(), c.g(), c.b()]
}

/// A stored pixel as a colour.
pub(crate) fn color([r, g, b]: [u8; 3]) -> Rgb888 {
    Rgb888::new(r, g, b)
}

pub(crate) fn luma(p: Rgb888) -> u8 {
    ((u32::from(p.r()) * 299 + u32::from(p.g()) * 587 + u32::from(p.b()) * 114) / 1000) as u8
}

impl OriginDimensions for Frame {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Frame {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Self::Color>>>(&mut self, pixels: I) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 {
                self.set_pixel(p.x as u32, p.y as u32, c);
            }
        }
        Ok(())
    }

    /// A rectangle of one colour, row by row (the default goes pixel by pixel).
    fn fill_solid(
        &mut self,
        area: &embedded_graphics::primitives::Rectangle,
        color: Self::Color,
    ) -> Result<(), Self::Error> {
        let area = area.intersection(&embedded_graphics::primitives::Rectangle::new(Point::zero(), self.size()));
        let Some(bottom_right) = area.bottom_right() else { return Ok(()) };
        let (x0, x1) = (area.top_left.x as usize, bottom_right.x as usize + 1);
        let w = self.width as usize;
        for y in area.top_left.y as usize..=bottom_right.y as usize {
            self.pixels[y * w + x0..y * w + x1].fill(bytes(color));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_rectangle_is_clipped_to_the_frame_like_pixel_by_pixel() {
        use embedded_graphics::Drawable;
        use embedded_graphics::prelude::PointsIter;
        use embedded_graphics::primitives::{Primitive, PrimitiveStyle, Rectangle};
        let red = Rgb888::new(255, 0, 0);
        for (x, y, w, h) in [(2, 1, 3, 2), (-3, -2, 5, 4), (8, 6, 9, 9), (0, 0, 10, 8), (12, 0, 2, 2), (3, 3, 0, 4)] {
            let mut fast = Frame::new(10, 8, Rgb888::WHITE);
            let rect = Rectangle::new(Point::new(x, y), Size::new(w, h));
            let _ = rect.into_styled(PrimitiveStyle::with_fill(red)).draw(&mut fast);
            let mut slow = Frame::new(10, 8, Rgb888::WHITE);
            let _ = slow.draw_iter(rect.points().map(|p| Pixel(p, red)));
            assert_eq!(fast, slow, "{x},{y} {w}x{h}");
        }
    }

    #[test]
    fn changed_region_is_the_bounding_box() {
        let a = Frame::new(10, 8, Rgb888::WHITE);
        let mut b = a.clone();
        assert_eq!(b.changed_region(Some(&a)), None);
        b.set_pixel(2, 3, Rgb888::BLACK);
        b.set_pixel(7, 5, Rgb888::BLACK);
        assert_eq!(b.changed_region(Some(&a)), Some(Region { x: 2, y: 3, width: 6, height: 3 }));
        assert_eq!(b.changed_region(None), Some(Region { x: 0, y: 0, width: 10, height: 8 }));
    }

    #[test]
    fn png_has_signature_and_size() -> Result<(), png::EncodingError> {
        let png = Frame::new(3, 2, Rgb888::RED).to_png()?;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[16..24], &[0, 0, 0, 3, 0, 0, 0, 2]);
        Ok(())
    }
}
