//! Customer-display screens drawn with embedded-graphics into a [`Frame`] of any size
//! from 240×320 to 1280×800, portrait or landscape. Klarna's wording arrives in the
//! screen data (from the acquirer); the terminal's own texts come from `locale`.
//! Klarna's badge, when the terminal has fetched the one the acquirer gives, is drawn
//! unaltered on the idle, choice and QR screens in place of Klarna's header text, which
//! is what they show without it.

mod badge;
mod draw;
mod lines;

pub use badge::{Badge, BadgeError, Bitmap, MAX_BADGE_BYTES};
pub use lines::text_lines;

use crate::locale::{Text, text};
use draw::{GREEN, HAlign, INK, Mark, PAPER, PINK, Pen, RED, fill, fitting_scale, qr_code, text_block};
use embedded_graphics::pixelcolor::Rgb888;
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

fn band(
    frame: &mut Frame,
    title: &str,
    color: embedded_graphics::pixelcolor::Rgb888,
    ink: embedded_graphics::pixelcolor::Rgb888,
) -> u32 {
    let w = frame.width();
    band_over(frame, (0, w), title, (color, ink))
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
    band_over(frame, (x0, x1), header, (PINK, INK))
}

/// The title band over the columns `x0..x1` of the screen; returns its height.
fn band_over(frame: &mut Frame, (x0, x1): (u32, u32), title: &str, (color, ink): (Rgb888, Rgb888)) -> u32 {
    let (w, h) = (x1.saturating_sub(x0).max(1), frame.height());
    let margin = w / 20;
    let base = (h / 6).clamp(48, 120);
    let scale = fitting_scale(title, w - 2 * margin, 3).min((base / 24).max(1));
    // A title that must wrap makes the band taller rather than being cut.
    let th = draw::measure(title, w - 2 * margin, scale) - draw::GLYPH.1 * scale / 4;
    let band_h = base.max(th + 16);
    fill(frame, x0 as i32, 0, w, band_h, color);
    let pen = Pen { scale, color: ink, align: HAlign::Center };
    text_block(frame, title, (x0 + margin, band_h.saturating_sub(th) / 2), w - 2 * margin, pen);
    band_h
}

/// The smallest QR module the customer's camera is given, in pixels.
const MIN_QR_MODULE: u32 = 5;

/// A result screen: the band, a mark that reads without colour, the lines.
fn result_screen(frame: &mut Frame, (title, color): (&str, Rgb888), mark: Mark, lines: &[(&str, u32, Rgb888)]) {
    let (w, h) = (frame.width(), frame.height());
    let top = band(frame, title, color, PAPER);
    let size = (w.min(h) / 6).max(16);
    let y = top + h / 24;
    draw::mark(frame, mark, ((w - size) / 2, y), size, color);
    centered_lines(frame, y + size + h / 24, lines);
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
    (title, scale): (&str, u32),
    (detail, badge, mono): (&str, Option<&Badge>, bool),
    color: Rgb888,
) {
    let line = option_line(w, h);
    fill(frame, x as i32, y as i32, w, h, INK);
    fill(frame, (x + line) as i32, (y + line) as i32, w - 2 * line, h - 2 * line, color);
    let pad = option_pad(w, h);
    let tw = w.saturating_sub(2 * pad);
    let dh = draw::measure(detail, tw, 1);
    let raster = badge.and_then(|b| b.raster(tw, (h.saturating_sub(2 * pad + dh)).min(h / 2).max(1), mono));
    let th = raster.as_ref().map_or_else(|| draw::measure(title, tw, scale), |b| b.height);
    let top = y + h.saturating_sub(th + dh + pad / 2) / 2;
    let pen = Pen { scale, color: INK, align: HAlign::Center };
    let after =
        top + match &raster {
            Some(b) => {
                badge::blit(frame, b, (x + pad + (tw - b.width) / 2, top));
                b.height
            }
            None => text_block(frame, title, (x + pad, top), tw, pen),
        } + pad / 2;
    if after + dh <= y + h - line {
        text_block(frame, detail, (x + pad, after), tw, Pen { scale: 1, ..pen });
    }
}

fn centered_lines(frame: &mut Frame, top: u32, lines: &[(&str, u32, embedded_graphics::pixelcolor::Rgb888)]) {
    let w = frame.width();
    let margin = w / 20;
    let mut y = top;
    for (t, max_scale, color) in lines {
        let scale = fitting_scale(t, w - 2 * margin, *max_scale);
        y += text_block(frame, t, (margin, y), w - 2 * margin, Pen { scale, color: *color, align: HAlign::Center });
        y += draw::GLYPH.1 / 2;
    }
}

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
    let small = Pen { scale: 1, color: INK, align: HAlign::Left };
    let big = Pen { scale: fitting_scale(t.amount, tw, 4), ..small };
    y += text_block(f, t.amount, (tx, y), tw, big) + margin;
    // The countdown sits at the bottom; Klarna's texts go above it while they fit.
    let bottom = height.saturating_sub(draw::measure(t.expires, tw, 1) + margin);
    for extra in [Some(t.instruction), Some(t.subheader), t.offer].into_iter().flatten() {
        if y + draw::measure(extra, tw, 1) <= bottom {
            y += text_block(f, extra, (tx, y), tw, small) + margin / 2;
        }
    }
    text_block(f, t.expires, (tx, bottom.max(y)), tw, small);
}

/// Portrait: the amount and the countdown always; the QR code as large as the rest
/// allows (at least 60 % of the width); then what else fits below.
fn qr_portrait(f: &mut Frame, url: &str, t: &QrTexts<'_>) {
    let (width, height) = (f.width(), f.height());
    let margin = (width.min(height) / 24).max(4);
    let top = klarna_band(f, (0, width), t.header, t.badge, t.mono);
    let tw = width - 2 * margin;
    let amount_scale = fitting_scale(t.amount, tw, 3);
    let must = draw::measure(t.amount, tw, amount_scale) + draw::measure(t.expires, tw, 1) + 3 * margin;
    let side = (height.saturating_sub(top + must + margin)).min(tw).max(width * 3 / 5);
    qr_code(f, url, (width - side) / 2, top + margin, side);
    let mut y = top + 2 * margin + side;
    let center = |scale| Pen { scale, color: INK, align: HAlign::Center };
    y += text_block(f, t.amount, (margin, y), tw, center(amount_scale)) + margin;
    let bottom = height.saturating_sub(draw::measure(t.expires, tw, 1) + margin);
    for extra in std::iter::once(t.instruction).chain(t.offer) {
        if y + draw::measure(extra, tw, 1) <= bottom {
            y += text_block(f, extra, (margin, y), tw, center(1));
        }
    }
    text_block(f, t.expires, (margin, bottom), tw, center(1));
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
    let scale = fitting_scale(mark, bw - 16, 3);
    let th = draw::measure(mark, bw - 16, scale);
    let bh = th + 2 * (height / 20).max(8);
    let y = (height / 2).max(height.saturating_sub(bh + height / 8));
    fill(f, margin as i32, y as i32, bw, bh, PINK);
    let pen = Pen { scale, color: INK, align: HAlign::Center };
    text_block(f, mark, (margin + 8, y + (bh - th) / 2), bw - 16, pen);
}

/// The method-choice screen: the amount, then one box per method on offer.
fn choose_method(f: &mut Frame, amount: &str, klarna: Option<&KlarnaOption>, card: bool, locale: &str, mono: bool) {
    let (width, height) = (f.width(), f.height());
    let top = band(f, text(Text::ChooseMethod, locale), INK, PAPER);
    let margin = (width.min(height) / 24).max(4);
    let tw = width - 2 * margin;
    let amount_scale = fitting_scale(amount, tw, 4);
    let pen = Pen { scale: amount_scale, color: INK, align: HAlign::Center };
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
    let scale = options.iter().map(|(t, ..)| fitting_scale(t, inner_w, 3)).min().unwrap_or(1);
    for (i, (title, detail, badge, color)) in options.into_iter().enumerate() {
        let (x, by) = (margin + step.0 * i as u32, y + step.1 * i as u32);
        option_box(f, (x, by, bw, bh), (title, scale), (detail, badge, mono), color);
    }
}

/// Present (or insert, with the PIN) the card, with what the reader asks on top.
fn present_card(f: &mut Frame, amount: &str, pin: bool, notice: Option<Text>, locale: &str) {
    let top = band(f, text(Text::AmountToPay, locale), INK, PAPER);
    let ask = text(if pin { Text::InsertCardPin } else { Text::PresentCard }, locale);
    let mut lines = vec![(amount, 4, INK), (ask, 2, INK)];
    if let Some(n) = notice {
        lines.push((text(n, locale), 2, RED));
    }
    centered_lines(f, top + f.height() / 12, &lines);
}

/// Draws `screen` into a new `width`×`height` frame; for a 1-bit panel (`mono`) Klarna's
/// badge is dithered.
pub fn render_for(screen: &Screen, width: u32, height: u32, mono: bool) -> Frame {
    let mut f = Frame::new(width, height, PAPER);
    let gap = height / 12;
    match screen {
        Screen::Idle { store_name, klarna_acceptance, badge, locale } => {
            let top = band(&mut f, text(Text::Welcome, locale), INK, PAPER);
            centered_lines(&mut f, top + gap, &[(store_name.as_str(), 3, INK)]);
            if let Some(mark) = klarna_acceptance {
                idle_mark(&mut f, mark, badge.as_ref(), mono);
            }
        }
        Screen::ChooseMethod { amount, klarna, card, locale } => {
            choose_method(&mut f, amount, klarna.as_ref(), *card, locale, mono);
        }
        Screen::Qr { amount, header, subheader, instruction, offer, url, badge, seconds_left, locale } => {
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
            };
            if width >= height { qr_landscape(&mut f, url, &texts) } else { qr_portrait(&mut f, url, &texts) }
        }
        Screen::InProgress { amount, header, locale } => {
            let top = band(&mut f, header, PINK, INK);
            centered_lines(
                &mut f,
                top + gap,
                &[
                    (amount, 4, INK),
                    (text(Text::PaymentInProgress, locale), 2, INK),
                    (text(Text::FollowPhone, locale), 1, INK),
                ],
            );
        }
        Screen::PresentCard { amount, pin, notice, locale } => present_card(&mut f, amount, *pin, *notice, locale),
        Screen::Preparing { amount, locale } => {
            let top = band(&mut f, text(Text::AmountToPay, locale), INK, PAPER);
            centered_lines(&mut f, top + gap, &[(amount, 4, INK), (text(Text::OneMoment, locale), 2, INK)]);
        }
        Screen::Approved { amount, locale } => {
            let lines = [(amount.as_str(), 4, INK), (text(Text::ThankYou, locale), 2, INK)];
            result_screen(&mut f, (text(Text::Approved, locale), GREEN), Mark::Check, &lines);
        }
        Screen::Declined { amount, reason, locale } => {
            let mut lines: Vec<(&str, u32, Rgb888)> = vec![(amount, 3, INK)];
            if let Some(r) = reason {
                lines.push((r, 2, RED));
            }
            lines.push((text(Text::AskCashier, locale), 1, INK));
            result_screen(&mut f, (text(Text::Declined, locale), RED), Mark::Cross, &lines);
        }
        Screen::Canceled { locale } => {
            let top = band(&mut f, text(Text::Canceled, locale), INK, PAPER);
            centered_lines(&mut f, top + gap, &[(text(Text::AskCashier, locale), 1, INK)]);
        }
        Screen::TimedOut { locale } => {
            let top = band(&mut f, text(Text::TimedOut, locale), INK, PAPER);
            centered_lines(&mut f, top + gap, &[(text(Text::AskCashier, locale), 1, INK)]);
        }
        Screen::Unavailable { locale } => {
            let top = band(&mut f, text(Text::KlarnaUnavailable, locale), INK, PAPER);
            centered_lines(&mut f, top + gap, &[(text(Text::AskCashier, locale), 1, INK)]);
        }
        Screen::Error { reference, locale } => {
            let top = band(&mut f, text(Text::SomethingWentWrong, locale), RED, PAPER);
            let r = format!("{}: {reference}", text(Text::Reference, locale));
            centered_lines(&mut f, top + gap, &[(text(Text::AskCashier, locale), 1, INK), (&r, 1, INK)]);
        }
    }
    f
}

#[cfg(test)]
mod tests;
