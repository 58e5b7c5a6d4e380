//! Image assets the simulated acquirer serves at stable URLs under its own base URL:
//! the icons its payment option points at (badge, rectangle, square) and each payment
//! request's QR code as an image (`qr_code.image_url`). The icons are made for the
//! tests — a pink rounded rectangle with "Klarna." — and are not Klarna's files. Each
//! icon has a fixed ETag and answers `If-None-Match` with 304.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use embedded_graphics::mono_font::{MonoTextStyle, ascii::FONT_10X20};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle, RoundedRectangle};
use embedded_graphics::text::{Baseline, Text};
use posagent_drivers::display::Frame;
use std::sync::OnceLock;

/// Path of the SVG badge below the simulator's base URL.
pub const BADGE_SVG_PATH: &str = "/assets/klarna-badge.svg";
/// Path of the PNG badge below the simulator's base URL.
pub const BADGE_PNG_PATH: &str = "/assets/klarna-badge.png";
/// The SVG badge (drawn for the tests; its pink is 0xFFB3C7).
pub const BADGE_SVG: &str = include_str!("../../assets/klarna-badge.svg");
/// The pink of both badges.
pub const BADGE_PINK: Rgb888 = Rgb888::new(0xFF, 0xB3, 0xC7);
/// Path of the square SVG icon below the simulator's base URL.
pub const SQUARE_SVG_PATH: &str = "/assets/klarna-square.svg";
/// The square SVG icon (drawn for the tests).
pub const SQUARE_SVG: &str = include_str!("../../assets/klarna-square.svg");
const SQUARE_ETAG: &str = "\"klarna-square-svg-1\"";
const SVG_ETAG: &str = "\"klarna-badge-svg-1\"";
const PNG_ETAG: &str = "\"klarna-badge-png-1\"";

/// The PNG badge: 120×48, drawn once.
pub fn badge_png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| {
        let mut f = Frame::new(120, 48, Rgb888::WHITE);
        let rect = Rectangle::new(Point::zero(), Size::new(120, 48));
        let _ = RoundedRectangle::with_equal_corners(rect, Size::new(12, 12))
            .into_styled(PrimitiveStyle::with_fill(BADGE_PINK))
            .draw(&mut f);
        let style = MonoTextStyle::new(&FONT_10X20, Rgb888::new(0x0B, 0x05, 0x1D));
        let _ = Text::with_baseline("Klarna.", Point::new(25, 14), style, Baseline::Top).draw(&mut f);
        f.to_png().unwrap_or_default()
    })
}

fn serve(headers: &HeaderMap, etag: &'static str, content_type: &'static str, body: &'static [u8]) -> Response {
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [(header::ETAG, etag), (header::CACHE_CONTROL, "max-age=86400")];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /assets/klarna-badge.svg`.
pub async fn badge_svg(headers: HeaderMap) -> Response {
    serve(&headers, SVG_ETAG, "image/svg+xml", BADGE_SVG.as_bytes())
}

/// `GET /assets/klarna-badge.png`.
pub async fn badge_png_route(headers: HeaderMap) -> Response {
    serve(&headers, PNG_ETAG, "image/png", badge_png())
}

/// `GET /assets/klarna-square.svg`.
pub async fn square_svg(headers: HeaderMap) -> Response {
    serve(&headers, SQUARE_ETAG, "image/svg+xml", SQUARE_SVG.as_bytes())
}

/// Path of a payment request's QR image below the simulator's base URL.
pub fn qr_image_path(payment_request_id: &str) -> String {
    format!("/pay/{payment_request_id}/qr.png")
}

/// `target_url` as a QR code PNG: 4 pixels a module, a 4-module quiet zone.
pub fn qr_png(target_url: &str) -> Option<Vec<u8>> {
    const PX: u32 = 4;
    let code = qrcode::QrCode::with_error_correction_level(target_url.as_bytes(), qrcode::EcLevel::M).ok()?;
    let n = code.width() as u32;
    let side = (n + 8) * PX;
    let colors = code.to_colors();
    let mut f = Frame::new(side, side, Rgb888::WHITE);
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = ((i as u32 % n + 4) * PX, (i as u32 / n + 4) * PX);
            let _ = Rectangle::new(Point::new(x as i32, y as i32), Size::new(PX, PX))
                .into_styled(PrimitiveStyle::with_fill(Rgb888::BLACK))
                .draw(&mut f);
        }
    }
    f.to_png().ok()
}
