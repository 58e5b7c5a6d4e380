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
            Event::Raster { width_bytes, height, data } => {
                let width = (*width_bytes * 8) as u32;
                let black = (0..*height)
                    .flat_map(|y| (0..width as usize).map(move |x| (y, x)))
                    .map(|(y, x)| data.get(y * width_bytes + x / 8).is_some_and(|b| b & (0x80 >> (x % 8)) != 0))
                    .collect();
                items.push(Item::Bitmap { width, height: *height as u32, black, align });
            }
            Event::Cut => items.push(Item::Space(GLYPH_H)),
            _ => {}
        }
    }
    if !line.is_empty() {
        items.push(Item::Text { text: line, align, double, bold });
    }
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
    let font = &iso_8859_15::FONT_10X20;
    let mut y = MARGIN;
    for item in items {
        match item {
            Item::Text { text, align, double, bold } => {
                let scale = if double { 2 } else { 1 };
                let text_w = text.chars().count() as u32 * GLYPH_W * scale;
                let x = match align {
                    1 => MARGIN + (width - 2 * MARGIN).saturating_sub(text_w) / 2,
                    2 => (width - MARGIN).saturating_sub(text_w),
                    _ => MARGIN,
                };
                // Draw at 1× into a scratch frame, then scale (and embolden) into the receipt.
                let mut scratch = Frame::new(text_w / scale + GLYPH_W, GLYPH_H, Rgb888::WHITE);
                let _ =
                    Text::with_baseline(&text, Point::zero(), MonoTextStyle::new(font, Rgb888::BLACK), Baseline::Top)
                        .draw(&mut scratch);
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
                y += GLYPH_H * scale;
            }
            Item::Bitmap { width: w, height: h, black, align } => {
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
                y += h;
            }
            Item::Space(h) => y += h,
        }
    }
    frame
}
