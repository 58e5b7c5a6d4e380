//! Renders a printed receipt (its decoded ESC/POS events) as an image, the way thermal
//! paper would show it: text in the printer's font and sizes, alignment, QR codes as the
//! printer draws them, raster images bit for bit.

use super::escpos_decoder::Event;
use embedded_graphics::mono_font::{MonoTextStyle, iso_8859_15};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};
use posagent_drivers::display::Frame;

const GLYPH_W: u32 = 10;
const GLYPH_H: u32 = 20;
const MARGIN: u32 = 16;

enum Item {
    Text { text: String, align: u8, double: bool, bold: bool },
    Bitmap { width: u32, height: u32, black: Vec<bool>, align: u8 },
    Space(u32),
}

fn qr_bitmap(data: &[u8], module: u32) -> Option<Item> {
    let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M).ok()?;
    let n = code.width() as u32;
    let side = (n + 8) * module;
    let colors = code.to_colors();
    let mut black = vec![false; (side * side) as usize];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / module, y / module);
            if (4..n + 4).contains(&mx) && (4..n + 4).contains(&my) {
                black[(y * side + x) as usize] = colors[((my - 4) * n + (mx - 4)) as usize] == qrcode::Color::Dark;
            }
        }
    }
    Some(Item::Bitmap { width: side, height: side, black, align: 1 })
}

/// The receipt as an image `columns` characters wide.
pub fn render(events: &[Event], columns: usize) -> Frame {
    let items = lay_out(events, columns);
    let width = columns as u32 * GLYPH_W + 2 * MARGIN;
    let height: u32 = MARGIN * 2
        + items
            .iter()
            .map(|i| match i {
                Item::Text { double, .. } => GLYPH_H * if *double { 2 } else { 1 },
                Item::Bitmap { height, .. } => *height,
                Item::Space(h) => *h,
            })
            .sum::<u32>();
    let mut frame = Frame::new(width, height, Rgb888::WHITE);
    let mut y = MARGIN;
    for item in items {
        y += match item {
            Item::Text { text, align, double, bold } => draw_text(&mut frame, y, &text, align, double, bold),
            Item::Bitmap { width: w, height: h, black, align } => draw_bitmap(&mut frame, y, (w, h), &black, align),
            Item::Space(h) => h,
        };
    }
    frame
}

/// The receipt's events as lines of text, images and space, top to bottom.
fn lay_out(events: &[Event], columns: usize) -> Vec<Item> {
    let mut items = vec![];
    let (mut align, mut bold, mut double) = (0u8, false, false);
    // Dots per QR module: the printer's own setting is not decoded; 4 is a common default.
    const MODULE: u32 = 4;
    let mut line = String::new();
    let mut qr_data: Option<Vec<u8>> = None;
    for ev in events {
        match ev {
            Event::Text(t) => line.push_str(t),
            Event::LineFeed => {
                // The printer wraps what does not fit the paper.
                let per_line = if double { columns / 2 } else { columns }.max(1);
                let chars: Vec<char> = std::mem::take(&mut line).chars().collect();
                if chars.is_empty() {
                    items.push(Item::Text { text: String::new(), align, double, bold });
                }
                for chunk in chars.chunks(per_line) {
                    items.push(Item::Text { text: chunk.iter().collect(), align, double, bold });
                }
            }
            Event::Align(a) => align = *a,
            Event::Bold(b) => bold = *b,
            Event::Size(s) => double = *s != 0,
            Event::Feed(n) => items.push(Item::Space(u32::from(*n) * GLYPH_H)),
            Event::QrSetting => {}
            Event::QrData(d) => qr_data = Some(d.clone()),
            Event::QrPrint => {
                if let Some(item) = qr_data.take().and_then(|d| qr_bitmap(&d, MODULE)) {
                    items.push(item);
                }
            }
            Event::Raster { width_bytes, height, data } => items.push(raster(*width_bytes, *height, data, align)),
            Event::Cut => items.push(Item::Space(GLYPH_H)),
            _ => {}
        }
    }
    if !line.is_empty() {
        items.push(Item::Text { text: line, align, double, bold });
    }
    items
}

/// A raster image's bits (most significant bit leftmost).
fn raster(width_bytes: usize, height: usize, data: &[u8], align: u8) -> Item {
    let width = (width_bytes * 8) as u32;
    let black = (0..height)
        .flat_map(|y| (0..width as usize).map(move |x| (y, x)))
        .map(|(y, x)| data.get(y * width_bytes + x / 8).is_some_and(|b| b & (0x80 >> (x % 8)) != 0))
        .collect();
    Item::Bitmap { width, height: height as u32, black, align }
}

/// Draws one line of text at `y` in the printer's font; returns its height.
fn draw_text(frame: &mut Frame, y: u32, text: &str, align: u8, double: bool, bold: bool) -> u32 {
    let width = frame.width();
    let scale = if double { 2 } else { 1 };
    let text_w = text.chars().count() as u32 * GLYPH_W * scale;
    let x = match align {
        1 => MARGIN + (width - 2 * MARGIN).saturating_sub(text_w) / 2,
        2 => (width - MARGIN).saturating_sub(text_w),
        _ => MARGIN,
    };
    // Draw at 1× into a scratch frame, then scale (and embolden) into the receipt.
    let mut scratch = Frame::new(text_w / scale + GLYPH_W, GLYPH_H, Rgb888::WHITE);
    let style = MonoTextStyle::new(&iso_8859_15::FONT_10X20, Rgb888::BLACK);
    let _ = Text::with_baseline(text, Point::zero(), style, Baseline::Top).draw(&mut scratch);
    for sy in 0..GLYPH_H {
        for sx in 0..scratch.width() {
            if scratch.pixel(sx, sy) == Rgb888::BLACK {
                for dy in 0..scale {
                    for dx in 0..scale + u32::from(bold) {
                        frame.set_pixel(x + sx * scale + dx, y + sy * scale + dy, Rgb888::BLACK);
                    }
                }
            }
        }
    }
    GLYPH_H * scale
}

/// Draws a bitmap at `y`; returns its height.
fn draw_bitmap(frame: &mut Frame, y: u32, (w, h): (u32, u32), black: &[bool], align: u8) -> u32 {
    let width = frame.width();
    let x = match align {
        1 => (width.saturating_sub(w)) / 2,
        2 => width.saturating_sub(w + MARGIN),
        _ => MARGIN,
    };
    for by in 0..h {
        for bx in 0..w {
            if black[(by * w + bx) as usize] {
                frame.set_pixel(x + bx, y + by, Rgb888::BLACK);
            }
        }
    }
    h
}
