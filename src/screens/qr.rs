//! The QR screen: Klarna's band, the QR code as large as fits with its quiet zone, the
//! amount, the countdown at the bottom, Klarna's texts where they fit, and the payment
//! request id small under the countdown where it fits too. Landscape puts the code
//! beside the texts, portrait above them.

use super::draw::{self, BODY_PX, HAlign, Pen, fitting_px, qr_code, text_block};
use super::font::Weight;
use super::{Badge, ID_PX, Screen, klarna_band};
use crate::locale::{Text, text};
use posagent_drivers::display::Frame;

/// The smallest QR module the customer's camera is given, in pixels.
const MIN_QR_MODULE: u32 = 5;

/// What the QR screen says around the code.
struct QrTexts<'a> {
    badge: Option<&'a Badge>,
    mono: bool,
    amount: &'a str,
    header: &'a str,
    subheader: &'a str,
    instruction: &'a str,
    offer: Option<&'a str>,
    expires: &'a str,
    payment_request_id: Option<&'a str>,
}

/// Draws the QR screen `screen` (any other screen: nothing) into `f`.
pub(super) fn qr_screen(f: &mut Frame, screen: &Screen, mono: bool) {
    let Screen::Qr {
        amount,
        header,
        subheader,
        instruction,
        offer,
        url,
        badge,
        seconds_left,
        payment_request_id,
        locale,
    } = screen
    else {
        return;
    };
    let left = (*seconds_left).max(0);
    let expires = format!("{} {}:{:02}", text(Text::ExpiresIn, locale), left / 60, left % 60);
    let texts = QrTexts {
        badge: badge.as_ref(),
        mono,
        amount,
        header,
        subheader,
        instruction,
        offer: offer.as_deref(),
        expires: &expires,
        payment_request_id: payment_request_id.as_deref(),
    };
    if f.width() >= f.height() { qr_landscape(f, url, &texts) } else { qr_portrait(f, url, &texts) }
}

/// Where the countdown goes when the payment request id is not shown: its top.
fn countdown_top(f: &Frame, t: &QrTexts<'_>, (tw, margin): (u32, u32)) -> u32 {
    f.height().saturating_sub(draw::measure(t.expires, tw, Pen::body(t.mono)) + margin)
}

/// The countdown at the bottom of the column `x..x + tw` (not above `y`, where the texts
/// above end), with the payment request id under it when there is room for both.
fn footer(f: &mut Frame, t: &QrTexts<'_>, (x, y, tw, margin): (u32, u32, u32, u32), align: HAlign) {
    let pen = Pen { align, ..Pen::body(t.mono) };
    let id_pen = Pen { px: ID_PX, ..pen };
    let bottom = countdown_top(f, t, (tw, margin));
    let id = t.payment_request_id.map(|id| (id, draw::measure(id, tw, id_pen))).filter(|(_, h)| y + h <= bottom);
    let top = bottom.saturating_sub(id.map_or(0, |(_, h)| h)).max(y);
    let used = text_block(f, t.expires, (x, top), tw, pen);
    if let Some((id, _)) = id {
        text_block(f, id, (x, top + used), tw, id_pen);
    }
}

/// Landscape: the QR code beside the texts, under the band; on a short panel where its
/// modules would come out under [`MIN_QR_MODULE`] pixels there, it takes the full height
/// and the band goes over the texts only.
fn qr_landscape(f: &mut Frame, url: &str, t: &QrTexts<'_>) {
    let (width, height) = (f.width(), f.height());
    let margin = (width.min(height) / 24).max(4);
    let modules = draw::qr_modules(url).unwrap_or(1);
    let side_under = |top: u32| height.saturating_sub(top + 2 * margin).min(width * 11 / 20);
    let band_h = (height / 6).clamp(48, 120);
    let (top, qr_top, side) = if side_under(band_h) / modules >= MIN_QR_MODULE {
        let top = klarna_band(f, (0, width), t.header, t.badge, t.mono);
        (top, top + margin, side_under(top))
    } else {
        let side = side_under(0);
        (klarna_band(f, (2 * margin + side, width), t.header, t.badge, t.mono), margin, side)
    };
    qr_code(f, url, margin, qr_top, side);
    let tx = 2 * margin + side;
    let tw = width.saturating_sub(tx + margin);
    let mut y = top + margin;
    let small = Pen { align: HAlign::Left, ..Pen::body(t.mono) };
    let px = fitting_px(t.amount, tw, (BODY_PX, 4 * BODY_PX), Weight::Bold);
    let big = Pen { px, weight: Weight::Bold, ..small };
    y += text_block(f, t.amount, (tx, y), tw, big) + margin;
    // The countdown sits at the bottom; Klarna's texts go above it while they fit.
    let bottom = countdown_top(f, t, (tw, margin));
    for extra in [Some(t.instruction), Some(t.subheader), t.offer].into_iter().flatten() {
        if y + draw::measure(extra, tw, small) <= bottom {
            y += text_block(f, extra, (tx, y), tw, small) + margin / 2;
        }
    }
    footer(f, t, (tx, y, tw, margin), HAlign::Left);
}

/// Portrait: the amount and the countdown always; the QR code as large as the rest
/// allows (at least 60 % of the width); then what else fits below.
fn qr_portrait(f: &mut Frame, url: &str, t: &QrTexts<'_>) {
    let (width, height) = (f.width(), f.height());
    let margin = (width.min(height) / 24).max(4);
    let top = klarna_band(f, (0, width), t.header, t.badge, t.mono);
    let tw = width - 2 * margin;
    let body = Pen::body(t.mono);
    let px = fitting_px(t.amount, tw, (BODY_PX, 3 * BODY_PX), Weight::Bold);
    let big = Pen { px, weight: Weight::Bold, ..body };
    let must = draw::measure(t.amount, tw, big) + draw::measure(t.expires, tw, body) + 3 * margin;
    let side = (height.saturating_sub(top + must + margin)).min(tw).max(width * 3 / 5);
    qr_code(f, url, (width - side) / 2, top + margin, side);
    let mut y = top + 2 * margin + side;
    y += text_block(f, t.amount, (margin, y), tw, big) + margin;
    let bottom = countdown_top(f, t, (tw, margin));
    for extra in std::iter::once(t.instruction).chain(t.offer) {
        if y + draw::measure(extra, tw, body) <= bottom {
            y += text_block(f, extra, (margin, y), tw, body);
        }
    }
    footer(f, t, (margin, y, tw, margin), HAlign::Center);
}
