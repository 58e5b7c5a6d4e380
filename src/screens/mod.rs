//! Customer-display screens drawn with embedded-graphics into a [`Frame`] of any size
//! from 240×320 to 1280×800, portrait or landscape. Klarna's wording arrives in the
//! screen data (from the acquirer); the terminal's own texts come from `locale`.

mod draw;

use crate::locale::{Text, text};
use draw::{GREEN, HAlign, INK, PAPER, PINK, Pen, RED, fill, fitting_scale, qr_code, text_block};
use posagent_drivers::display::Frame;

/// What the customer display shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Screen {
    /// Between sales.
    Idle {
        /// Store name.
        store_name: String,
        /// Klarna's header from the last availability answer, if any.
        klarna_header: Option<String>,
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
        /// Whole minutes left before the terminal gives up.
        minutes_left: i64,
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
        /// Locale.
        locale: String,
    },
    /// Canceled.
    Canceled {
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

fn band(
    frame: &mut Frame,
    title: &str,
    color: embedded_graphics::pixelcolor::Rgb888,
    ink: embedded_graphics::pixelcolor::Rgb888,
) -> u32 {
    let (w, h) = (frame.width(), frame.height());
    let margin = w / 20;
    let base = (h / 6).clamp(48, 120);
    let scale = fitting_scale(title, w - 2 * margin, 3).min((base / 24).max(1));
    // A title that must wrap makes the band taller rather than being cut.
    let th = draw::measure(title, w - 2 * margin, scale) - draw::GLYPH.1 * scale / 4;
    let band_h = base.max(th + 16);
    fill(frame, 0, 0, w, band_h, color);
    let pen = Pen { scale, color: ink, align: HAlign::Center };
    text_block(frame, title, (margin, band_h.saturating_sub(th) / 2), w - 2 * margin, pen);
    band_h
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

/// Draws `screen` into a new `width`×`height` frame.
pub fn render(screen: &Screen, width: u32, height: u32) -> Frame {
    let mut f = Frame::new(width, height, PAPER);
    let gap = height / 12;
    match screen {
        Screen::Idle { store_name, klarna_header, locale } => {
            let top = band(&mut f, text(Text::Welcome, locale), PINK, INK);
            let mut lines: Vec<(&str, u32, _)> = vec![(store_name.as_str(), 3, INK)];
            if let Some(h) = klarna_header {
                lines.push((h.as_str(), 2, INK));
            }
            centered_lines(&mut f, top + gap, &lines);
        }
        Screen::Qr { amount, header, subheader, instruction, offer, url, minutes_left, locale } => {
            let top = band(&mut f, header, PINK, INK);
            let expires = format!("{} {} min", text(Text::ExpiresIn, locale), (*minutes_left).max(0));
            let margin = (width.min(height) / 24).max(4);
            if width >= height {
                let side = (height - top - 2 * margin).min(width * 11 / 20);
                qr_code(&mut f, url, margin, top + margin, side);
                let tx = 2 * margin + side;
                let tw = width.saturating_sub(tx + margin);
                let mut y = top + margin;
                let small = Pen { scale: 1, color: INK, align: HAlign::Left };
                let big = Pen { scale: fitting_scale(amount, tw, 4), ..small };
                y += text_block(&mut f, amount, (tx, y), tw, big) + margin;
                // The countdown sits at the bottom; Klarna's texts go above it while they fit.
                let bottom = height.saturating_sub(draw::measure(&expires, tw, 1) + margin);
                for extra in [Some(instruction), Some(subheader), offer.as_ref()].into_iter().flatten() {
                    if y + draw::measure(extra, tw, 1) <= bottom {
                        y += text_block(&mut f, extra, (tx, y), tw, small) + margin / 2;
                    }
                }
                text_block(&mut f, &expires, (tx, bottom.max(y)), tw, small);
            } else {
                // Portrait: the amount and the countdown always; the QR code as large as
                // the rest allows (at least 60 % of the width); then what else fits below.
                let tw = width - 2 * margin;
                let amount_scale = fitting_scale(amount, tw, 3);
                let must = draw::measure(amount, tw, amount_scale) + draw::measure(&expires, tw, 1) + 3 * margin;
                let side = (height.saturating_sub(top + must + margin)).min(tw).max(width * 3 / 5);
                qr_code(&mut f, url, (width - side) / 2, top + margin, side);
                let mut y = top + 2 * margin + side;
                let center = |scale| Pen { scale, color: INK, align: HAlign::Center };
                y += text_block(&mut f, amount, (margin, y), tw, center(amount_scale)) + margin;
                let bottom = height.saturating_sub(draw::measure(&expires, tw, 1) + margin);
                for extra in std::iter::once(instruction).chain(offer.iter()) {
                    if y + draw::measure(extra, tw, 1) <= bottom {
                        y += text_block(&mut f, extra, (margin, y), tw, center(1));
                    }
                }
                text_block(&mut f, &expires, (margin, bottom), tw, center(1));
            }
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
        Screen::PresentCard { amount, locale } => {
            let top = band(&mut f, text(Text::AmountToPay, locale), INK, PAPER);
            centered_lines(&mut f, top + gap, &[(amount, 4, INK), (text(Text::PresentCard, locale), 2, INK)]);
        }
        Screen::Approved { amount, locale } => {
            let top = band(&mut f, text(Text::Approved, locale), GREEN, PAPER);
            centered_lines(&mut f, top + gap, &[(amount, 4, INK), (text(Text::ThankYou, locale), 2, INK)]);
        }
        Screen::Declined { amount, locale } => {
            let top = band(&mut f, text(Text::Declined, locale), RED, PAPER);
            centered_lines(&mut f, top + gap, &[(amount, 3, INK), (text(Text::AskCashier, locale), 1, INK)]);
        }
        Screen::Canceled { locale } => {
            let top = band(&mut f, text(Text::Canceled, locale), INK, PAPER);
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
