//! Customer-display screens drawn with embedded-graphics into a [`Frame`] of any size
//! from 240×320 to 1280×800, portrait or landscape. Klarna's wording arrives in the
//! screen data (from the acquirer); the terminal's own texts come from `locale`.
//! Klarna's badge, when the terminal has fetched the one the acquirer gives, is drawn
//! unaltered on the idle, choice and QR screens in place of Klarna's header text, which
//! is what they show without it.

mod badge;
mod draw;
mod font;
mod lines;
mod qr;

pub use badge::{Badge, BadgeError, Bitmap, MAX_BADGE_BYTES};
pub use lines::text_lines;

use crate::locale::{Text, text};
use draw::{BODY_PX, GREEN, INK, Mark, PAPER, PINK, Pen, RED, fill, fitting_px, text_block};
use embedded_graphics::pixelcolor::Rgb888;
use font::Weight;
use posagent_drivers::display::Frame;

/// What the customer display shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Screen {
    /// Between sales.
    Idle {
        /// Store name.
        store_name: String,
        /// Klarna's mark (its header, "Pay with Klarna") in the store's language, as
        /// the acquirer last served it; absent while Klarna cannot be offered (offline).
        klarna_acceptance: Option<String>,
        /// Klarna's badge, drawn instead of the mark's text once fetched.
        badge: Option<Badge>,
        /// Locale.
        locale: String,
    },
    /// The amount and the methods on offer; the customer tells the cashier.
    ChooseMethod {
        /// Formatted amount.
        amount: String,
        /// Klarna's option, when Klarna is offered for this purchase.
        klarna: Option<KlarnaOption>,
        /// Whether card is offered.
        card: bool,
        /// Locale.
        locale: String,
    },
    /// The amount while the terminal asks the acquirer (whether Klarna can be offered,
    /// the payment request): never the previous customer's screen meanwhile.
    Preparing {
        /// Formatted amount.
        amount: String,
        /// Locale.
        locale: String,
    },
    /// Scan the QR code to pay with Klarna.
    Qr {
        /// Formatted amount.
        amount: String,
        /// Klarna's header.
        header: String,
        /// Klarna's sub-header.
        subheader: String,
        /// Klarna's scan instruction.
        instruction: String,
        /// Klarna's instalment offer with its schedule, if any.
        offer: Option<String>,
        /// What the QR code encodes.
        url: String,
        /// Klarna's badge, drawn in the band instead of the header once fetched.
        badge: Option<Badge>,
        /// Seconds left before the terminal gives up (the earlier of its own timeout and
        /// the payment request's expiry); shown as `m:ss` and redrawn every second.
        seconds_left: i64,
        /// Klarna's payment request id (for support), shown small at the bottom where it fits.
        payment_request_id: Option<String>,
        /// Locale.
        locale: String,
    },
    /// The customer is in Klarna's journey on the phone.
    InProgress {
        /// Formatted amount.
        amount: String,
        /// Klarna's header.
        header: String,
        /// Locale.
        locale: String,
    },
    /// Present the card to the reader.
    PresentCard {
        /// Formatted amount.
        amount: String,
        /// Insert the card and enter the PIN (the issuer asked for one).
        pin: bool,
        /// What the reader asks on top (try again, insert the card, disconnected).
        notice: Option<Text>,
        /// Locale.
        locale: String,
    },
    /// Paid.
    Approved {
        /// Formatted amount.
        amount: String,
        /// Locale.
        locale: String,
    },
    /// Refused.
    Declined {
        /// Formatted amount.
        amount: String,
        /// Why, in the customer's language, when the reason is one to tell.
        reason: Option<String>,
        /// Locale.
        locale: String,
    },
    /// Canceled.
    Canceled {
        /// Locale.
        locale: String,
    },
    /// The payment ran out of time (the QR code expired, no card came, no method was chosen).
    TimedOut {
        /// Locale.
        locale: String,
    },
    /// Klarna cannot be used for this purchase.
    Unavailable {
        /// Locale.
        locale: String,
    },
    /// A failure; the reference is for support.
    Error {
        /// Sale reference.
        reference: String,
        /// Klarna's payment request id of a Klarna sale that has one (Klarna support asks
        /// for it), shown small at the bottom.
        payment_request_id: Option<String>,
        /// Locale.
        locale: String,
    },
}

/// Klarna's option on the method-choice screen, in Klarna's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlarnaOption {
    /// Klarna's header ("Pay with Klarna").
    pub header: String,
    /// The instalment offer for the amount, else Klarna's sub-header.
    pub detail: String,
    /// Klarna's badge, drawn instead of the header once fetched.
    pub badge: Option<Badge>,
}

/// One line of [`centered_lines`]: its text, its largest size in pixels, colour, weight.
type Line<'a> = (&'a str, u32, Rgb888, Weight);

/// Klarna's payment request id, for support: small, wrapped (it is one long word).
const ID_PX: u32 = 13;

fn band(frame: &mut Frame, title: &str, (color, ink): (Rgb888, Rgb888), mono: bool) -> u32 {
    let w = frame.width();
    band_over(frame, (0, w), title, (color, ink), mono)
}

/// Klarna's band: its badge on the paper when there is one (and it draws), else its
/// header on pink. Returns the band's height.
fn klarna_band(frame: &mut Frame, (x0, x1): (u32, u32), header: &str, badge: Option<&Badge>, mono: bool) -> u32 {
    if let Some(b) = badge {
        let (w, h) = (x1.saturating_sub(x0).max(1), frame.height());
        let base = (h / 6).clamp(48, 120);
        let pad = (base / 10).max(2);
        if badge::draw_in(frame, b, (x0 + w / 20, pad, w - w / 10, base - 2 * pad), mono) {
            return base;
        }
    }
    band_over(frame, (x0, x1), header, (PINK, INK), mono)
}

/// The title band over the columns `x0..x1` of the screen; returns its height.
fn band_over(frame: &mut Frame, (x0, x1): (u32, u32), title: &str, (color, ink): (Rgb888, Rgb888), mono: bool) -> u32 {
    let (w, h) = (x1.saturating_sub(x0).max(1), frame.height());
    let margin = w / 20;
    let base = (h / 6).clamp(48, 120);
    let tw = w - 2 * margin;
    let max_px = (base * 5 / 6).min(3 * BODY_PX);
    let px = fitting_px(title, tw, (BODY_PX, max_px), Weight::Bold);
    let pen = Pen { px, weight: Weight::Bold, color: ink, ..Pen::body(mono) };
    // A title that must wrap makes the band taller rather than being cut.
    let th = draw::measure(title, tw, pen).saturating_sub(px / 4);
    let band_h = base.max(th + 16);
    fill(frame, x0 as i32, 0, w, band_h, color);
    text_block(frame, title, (x0 + margin, band_h.saturating_sub(th) / 2), tw, pen);
    band_h
}

/// A result screen: the band, a mark that reads without colour, the lines.
fn result_screen(frame: &mut Frame, (title, color): (&str, Rgb888), mark: Mark, lines: &[Line<'_>], mono: bool) {
    let (w, h) = (frame.width(), frame.height());
    let top = band(frame, title, (color, PAPER), mono);
    let size = (w.min(h) / 6).max(16);
    let y = top + h / 24;
    draw::mark(frame, mark, ((w - size) / 2, y), size, color);
    centered_lines(frame, y + size + h / 24, lines, mono);
}

fn option_line(w: u32, h: u32) -> u32 {
    (w.min(h) / 60).max(2)
}

fn option_pad(w: u32, h: u32) -> u32 {
    (w.min(h) / 24).max(4) + option_line(w, h)
}

/// One option of the method-choice screen: a framed box with a title and a detail line.
/// With Klarna's badge (and whether the panel is 1-bit), the badge is the title.
fn option_box(
    frame: &mut Frame,
    (x, y, w, h): (u32, u32, u32, u32),
    (title, px): (&str, u32),
    (detail, badge, mono): (&str, Option<&Badge>, bool),
    color: Rgb888,
) {
    let line = option_line(w, h);
    fill(frame, x as i32, y as i32, w, h, INK);
    fill(frame, (x + line) as i32, (y + line) as i32, w - 2 * line, h - 2 * line, color);
    let pad = option_pad(w, h);
    let tw = w.saturating_sub(2 * pad);
    let body = Pen::body(mono);
    let pen = Pen { px, weight: Weight::Bold, ..body };
    let dh = draw::measure(detail, tw, body);
    let raster = badge.and_then(|b| b.raster(tw, (h.saturating_sub(2 * pad + dh)).min(h / 2).max(1), mono));
    let th = raster.as_ref().map_or_else(|| draw::measure(title, tw, pen), |b| b.height);
    let top = y + h.saturating_sub(th + dh + pad / 2) / 2;
    let after =
        top + match &raster {
            Some(b) => {
                badge::blit(frame, b, (x + pad + (tw - b.width) / 2, top));
                b.height
            }
            None => text_block(frame, title, (x + pad, top), tw, pen),
        } + pad / 2;
    if after + dh <= y + h - line {
        text_block(frame, detail, (x + pad, after), tw, body);
    }
}

/// The smallest size a line of [`centered_lines`] shrinks to when the lines do not fit
/// the frame's height at their sizes.
const MIN_LINE_PX: u32 = 15;

/// The sizes of `lines` in a column `width` wide: each the largest up to its own that
/// fits the width on one line; all made smaller together (down to [`MIN_LINE_PX`]) while
/// they are taller than `avail_h`.
fn line_sizes(lines: &[Line<'_>], width: u32, avail_h: u32, mono: bool) -> Vec<u32> {
    let mut cap = 100;
    loop {
        let sizes: Vec<u32> = lines
            .iter()
            .map(|&(t, max_px, _, weight)| {
                let max = (max_px * cap / 100).max(MIN_LINE_PX);
                fitting_px(t, width, (BODY_PX.min(max), max), weight)
            })
            .collect();
        let pen = |px, weight| Pen { px, weight, ..Pen::body(mono) };
        let heights = lines.iter().zip(&sizes).map(|(l, &px)| draw::measure(l.0, width, pen(px, l.3)) + BODY_PX / 2);
        let total: u32 = heights.sum();
        if total <= avail_h || sizes.iter().all(|&px| px <= MIN_LINE_PX) {
            return sizes;
        }
        cap = cap * 9 / 10;
    }
}

/// Draws `lines` centred one under the other from `top`, each in the largest size up to
/// its own that fits the width on one line, smaller when they would not fit the height;
/// returns where they end.
fn centered_lines(frame: &mut Frame, top: u32, lines: &[Line<'_>], mono: bool) -> u32 {
    let (w, h) = (frame.width(), frame.height());
    let margin = w / 20;
    let sizes = line_sizes(lines, w - 2 * margin, h.saturating_sub(top + margin / 2), mono);
    let mut y = top;
    for (&(t, _, color, weight), px) in lines.iter().zip(sizes) {
        y += text_block(frame, t, (margin, y), w - 2 * margin, Pen { px, weight, color, ..Pen::body(mono) });
        y += BODY_PX / 2;
    }
    y
}

/// Draws `id` (Klarna's payment request id) small and centred at the bottom of the
/// frame, but not above `floor`.
fn id_at_bottom(frame: &mut Frame, id: &str, floor: u32, mono: bool) {
    let (w, h) = (frame.width(), frame.height());
    let margin = (w.min(h) / 24).max(4);
    let pen = Pen { px: ID_PX, ..Pen::body(mono) };
    let ih = draw::measure(id, w - 2 * margin, pen);
    text_block(frame, id, (margin, h.saturating_sub(ih + margin / 2).max(floor)), w - 2 * margin, pen);
}

/// Draws `screen` into a new `width`×`height` frame for a colour panel.
pub fn render(screen: &Screen, width: u32, height: u32) -> Frame {
    render_for(screen, width, height, false)
}

/// The idle screen's Klarna mark: the badge in the lower half, else Klarna's header in a
/// pink box.
fn idle_mark(f: &mut Frame, mark: &str, badge: Option<&Badge>, mono: bool) {
    let (width, height) = (f.width(), f.height());
    let margin = width / 10;
    let bw = width - 2 * margin;
    if let Some(b) = badge {
        let bh = (height / 4).max(16);
        if badge::draw_in(f, b, (margin, height.saturating_sub(bh + height / 8).max(height / 2), bw, bh), mono) {
            return;
        }
    }
    let px = fitting_px(mark, bw - 16, (BODY_PX, 3 * BODY_PX), Weight::Bold);
    let pen = Pen { px, weight: Weight::Bold, ..Pen::body(mono) };
    let th = draw::measure(mark, bw - 16, pen);
    let bh = th + 2 * (height / 20).max(8);
    let y = (height / 2).max(height.saturating_sub(bh + height / 8));
    fill(f, margin as i32, y as i32, bw, bh, PINK);
    text_block(f, mark, (margin + 8, y + (bh - th) / 2), bw - 16, pen);
}

/// The method-choice screen: the amount, then one box per method on offer.
fn choose_method(f: &mut Frame, amount: &str, klarna: Option<&KlarnaOption>, card: bool, locale: &str, mono: bool) {
    let (width, height) = (f.width(), f.height());
    let top = band(f, text(Text::ChooseMethod, locale), (INK, PAPER), mono);
    let margin = (width.min(height) / 24).max(4);
    let tw = width - 2 * margin;
    let px = fitting_px(amount, tw, (BODY_PX, 4 * BODY_PX), Weight::Bold);
    let pen = Pen { px, weight: Weight::Bold, ..Pen::body(mono) };
    let y = top + margin + text_block(f, amount, (margin, top + margin), tw, pen) + margin;
    let mut options: Vec<(&str, &str, Option<&Badge>, Rgb888)> = vec![];
    if let Some(k) = klarna {
        // With the badge, Klarna's box is the paper's: the badge brings its colour.
        let color = if k.badge.is_some() { PAPER } else { PINK };
        options.push((k.header.as_str(), k.detail.as_str(), k.badge.as_ref(), color));
    }
    if card {
        options.push((text(Text::PayByCard, locale), text(Text::CardKinds, locale), None, PAPER));
    }
    let n = options.len().max(1) as u32;
    let avail_h = height.saturating_sub(y + margin);
    // Side by side when the screen is wide, one under the other when it is tall.
    let (bw, bh, step) = if width >= height {
        let bw = (tw - (n - 1) * margin) / n;
        (bw, avail_h, (bw + margin, 0))
    } else {
        let bh = (avail_h.saturating_sub((n - 1) * margin)) / n;
        (tw, bh, (0, bh + margin))
    };
    // Every method's title in the same size: no tender is shown smaller.
    let inner_w = bw.saturating_sub(2 * option_pad(bw, bh));
    let title_px = options.iter().map(|(t, ..)| fitting_px(t, inner_w, (BODY_PX, 3 * BODY_PX), Weight::Bold));
    let title_px = title_px.min().unwrap_or(BODY_PX);
    for (i, (title, detail, badge, color)) in options.into_iter().enumerate() {
        let (x, by) = (margin + step.0 * i as u32, y + step.1 * i as u32);
        option_box(f, (x, by, bw, bh), (title, title_px), (detail, badge, mono), color);
    }
}

/// Present (or insert, with the PIN) the card, with what the reader asks on top.
fn present_card(f: &mut Frame, amount: &str, pin: bool, notice: Option<Text>, locale: &str, mono: bool) {
    let top = band(f, text(Text::AmountToPay, locale), (INK, PAPER), mono);
    let ask = text(if pin { Text::InsertCardPin } else { Text::PresentCard }, locale);
    let mut lines = vec![(amount, 4 * BODY_PX, INK, Weight::Bold), (ask, 2 * BODY_PX, INK, Weight::Regular)];
    if let Some(n) = notice {
        lines.push((text(n, locale), 2 * BODY_PX, RED, Weight::Regular));
    }
    centered_lines(f, top + f.height() / 12, &lines, mono);
}

/// A screen with a title band and one line: what to do now.
fn notice_screen(f: &mut Frame, title: Text, locale: &str, mono: bool) {
    let top = band(f, text(title, locale), (INK, PAPER), mono);
    let gap = f.height() / 12;
    centered_lines(f, top + gap, &[(text(Text::AskCashier, locale), BODY_PX, INK, Weight::Regular)], mono);
}

/// The error screen: the band, what to do, the reference; Klarna's payment request id
/// small at the bottom.
fn error_screen(f: &mut Frame, reference: &str, payment_request_id: Option<&str>, locale: &str, mono: bool) {
    let top = band(f, text(Text::SomethingWentWrong, locale), (RED, PAPER), mono);
    let r = format!("{}: {reference}", text(Text::Reference, locale));
    let lines = [(text(Text::AskCashier, locale), BODY_PX, INK, Weight::Regular), (&*r, BODY_PX, INK, Weight::Regular)];
    let end = centered_lines(f, top + f.height() / 12, &lines, mono);
    if let Some(id) = payment_request_id {
        id_at_bottom(f, id, end, mono);
    }
}

/// Draws `screen` into a new `width`×`height` frame; for a 1-bit panel (`mono`) Klarna's
/// badge is dithered and text is drawn without grey edges.
pub fn render_for(screen: &Screen, width: u32, height: u32, mono: bool) -> Frame {
    let mut f = Frame::new(width, height, PAPER);
    let gap = height / 12;
    let (big, mid, body) = (4 * BODY_PX, 2 * BODY_PX, BODY_PX);
    let (bold, regular) = (Weight::Bold, Weight::Regular);
    match screen {
        Screen::Idle { store_name, klarna_acceptance, badge, locale } => {
            let top = band(&mut f, text(Text::Welcome, locale), (INK, PAPER), mono);
            centered_lines(&mut f, top + gap, &[(store_name.as_str(), 3 * BODY_PX, INK, bold)], mono);
            if let Some(mark) = klarna_acceptance {
                idle_mark(&mut f, mark, badge.as_ref(), mono);
            }
        }
        Screen::ChooseMethod { amount, klarna, card, locale } => {
            choose_method(&mut f, amount, klarna.as_ref(), *card, locale, mono);
        }
        Screen::Qr { .. } => qr::qr_screen(&mut f, screen, mono),
        Screen::InProgress { amount, header, locale } => {
            let top = band(&mut f, header, (PINK, INK), mono);
            let lines = [
                (amount.as_str(), big, INK, bold),
                (text(Text::PaymentInProgress, locale), mid, INK, regular),
                (text(Text::FollowPhone, locale), body, INK, regular),
            ];
            centered_lines(&mut f, top + gap, &lines, mono);
        }
        Screen::PresentCard { amount, pin, notice, locale } => {
            present_card(&mut f, amount, *pin, *notice, locale, mono)
        }
        Screen::Preparing { amount, locale } => {
            let top = band(&mut f, text(Text::AmountToPay, locale), (INK, PAPER), mono);
            let lines = [(amount.as_str(), big, INK, bold), (text(Text::OneMoment, locale), mid, INK, regular)];
            centered_lines(&mut f, top + gap, &lines, mono);
        }
        Screen::Approved { amount, locale } => {
            let lines = [(amount.as_str(), big, INK, bold), (text(Text::ThankYou, locale), mid, INK, regular)];
            result_screen(&mut f, (text(Text::Approved, locale), GREEN), Mark::Check, &lines, mono);
        }
        Screen::Declined { amount, reason, locale } => {
            let mut lines: Vec<Line<'_>> = vec![(amount, 3 * BODY_PX, INK, bold)];
            if let Some(r) = reason {
                lines.push((r, mid, RED, regular));
            }
            lines.push((text(Text::AskCashier, locale), body, INK, regular));
            result_screen(&mut f, (text(Text::Declined, locale), RED), Mark::Cross, &lines, mono);
        }
        Screen::Canceled { locale } => notice_screen(&mut f, Text::Canceled, locale, mono),
        Screen::TimedOut { locale } => notice_screen(&mut f, Text::TimedOut, locale, mono),
        Screen::Unavailable { locale } => notice_screen(&mut f, Text::KlarnaUnavailable, locale, mono),
        Screen::Error { reference, payment_request_id, locale } => {
            error_screen(&mut f, reference, payment_request_id.as_deref(), locale, mono);
        }
    }
    f
}

#[cfg(test)]
mod tests;
