//! 1-bit raster images for receipts (the store's logo): loaded from a PNG, flattened on
//! white, thresholded and scaled down to the paper's width; printed with `GS v 0`.

/// A loaded image that cannot be printed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The PNG could not be decoded.
    #[error("the logo is not a readable PNG: {0}; save it as PNG (any colour type)")]
    Decode(#[from] png::DecodingError),
    /// It has no pixels, or is absurdly large.
    #[error("the logo is {0}x{1} pixels; use an image of 1 to 4096 pixels each way")]
    Size(u32, u32),
}

/// A black-and-white image: rows of `width.div_ceil(8)` bytes, most significant bit
/// first, 1 = black.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    width: usize,
    height: usize,
    bits: Vec<u8>,
}

impl Raster {
    /// An image `width`×`height` where `black(x, y)` says which dots print.
    pub fn from_fn(width: usize, height: usize, black: impl Fn(usize, usize) -> bool) -> Self {
        let row = width.div_ceil(8);
        let mut bits = vec![0u8; row * height];
        for y in 0..height {
            for x in 0..width {
                if black(x, y) {
                    bits[y * row + x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        Raster { width, height, bits }
    }

    /// Decodes a PNG; transparent parts count as paper, pixels darker than half as ink.
    /// An image wider than `max_width` dots is scaled down to it (keeping its shape).
    pub fn from_png(bytes: &[u8], max_width: usize) -> Result<Self, ImageError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf)?;
        let (w, h) = (info.width as usize, info.height as usize);
        if w == 0 || h == 0 || w > 4096 || h > 4096 {
            return Err(ImageError::Size(info.width, info.height));
        }
        let channels = info.color_type.samples();
        let luma = |x: usize, y: usize| -> u32 {
            let p = &buf[(y * w + x) * channels..][..channels];
            let (rgb, alpha) = match channels {
                1 => ([p[0]; 3], 255),
                2 => ([p[0]; 3], p[1]),
                3 => ([p[0], p[1], p[2]], 255),
                _ => ([p[0], p[1], p[2]], p[3]),
            };
            let l = (299 * u32::from(rgb[0]) + 587 * u32::from(rgb[1]) + 114 * u32::from(rgb[2])) / 1000;
            // Flattened on white paper.
            (l * u32::from(alpha) + 255 * (255 - u32::from(alpha))) / 255
        };
        let out_w = w.min(max_width.max(1));
        let out_h = (h * out_w).div_ceil(w).max(1);
        Ok(Raster::from_fn(out_w, out_h, |x, y| luma(x * w / out_w, (y * h / out_h).min(h - 1)) < 128))
    }

    /// Width in dots.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in dots.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Whether the dot at (x, y) prints.
    pub fn is_black(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.bits[y * self.width.div_ceil(8) + x / 8] & (0x80 >> (x % 8)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(w: u32, h: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(color);
            e.set_depth(png::BitDepth::Eight);
            let Ok(mut writer) = e.write_header() else { return out };
            let _ = writer.write_image_data(data);
        }
        out
    }

    #[test]
    fn dark_pixels_print_transparent_ones_do_not() {
        // 2×1 RGBA: opaque black, transparent black.
        let png = png_of(2, 1, png::ColorType::Rgba, &[0, 0, 0, 255, 0, 0, 0, 0]);
        let r = Raster::from_png(&png, 576).map_err(|e| e.to_string());
        assert_eq!(
            r.as_ref().map(|r| (r.width(), r.height(), r.is_black(0, 0), r.is_black(1, 0))),
            Ok((2, 1, true, false))
        );
    }

    #[test]
    fn wide_images_are_scaled_to_the_paper() {
        let data: Vec<u8> = (0..1000 * 10).map(|i| if (i % 1000) < 500 { 0 } else { 255 }).collect();
        let png = png_of(1000, 10, png::ColorType::Grayscale, &data);
        let r = Raster::from_png(&png, 500).map_err(|e| e.to_string());
        assert_eq!(r.as_ref().map(|r| (r.width(), r.height())), Ok((500, 5)));
        assert_eq!(r.map(|r| (r.is_black(0, 0), r.is_black(249, 4), r.is_black(250, 0))), Ok((true, true, false)));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(Raster::from_png(b"not a png", 576), Err(ImageError::Decode(_))));
    }
}
