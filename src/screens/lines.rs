//! Screens as text for 2×20 character line displays (terminals without a graphic
//! display): the amount on top, what to do below. The Klarna QR code itself cannot be
//! shown there; it is printed on a slip (see `checkout::flow`), and the display says so.

use super::Screen;
use crate::locale::{Label, Text, label, text};

/// Left text and right text on one line of `cols` characters; the right one (an amount)
/// wins when both do not fit.
fn spread(left: &str, right: &str, cols: usize) -> String {
    let (l, r) = (left.chars().count(), right.chars().count());
    if l + 1 + r <= cols { format!("{left}{}{right}", " ".repeat(cols - l - r)) } else { format!("{right:>cols$}") }
}

/// `text` centred in `cols` characters; a longer text keeps the words that fit (a
/// single word longer than the line is cut).
fn center(text: &str, cols: usize) -> String {
    let n = text.chars().count();
    if n > cols {
        let mut kept = String::new();
        for word in super::draw::words(text) {
            let len = kept.chars().count() + usize::from(!kept.is_empty()) + word.chars().count();
            if len > cols {
                break;
            }
            if !kept.is_empty() {
                kept.push(' ');
            }
            kept.push_str(word);
        }
        if kept.is_empty() {
            return text.chars().take(cols).collect();
        }
        return center(&kept, cols);
    }
    format!("{}{text}", " ".repeat((cols - n) / 2))
}

/// `text` over two lines, broken between words (a word longer than a line is cut).
fn wrap2(text: &str, cols: usize) -> [String; 2] {
    let mut lines: Vec<String> = vec![String::new()];
    for word in super::draw::words(text) {
        let word: String = word.chars().take(cols).collect();
        let Some(last) = lines.last_mut() else { break };
        let len = last.chars().count();
        if len == 0 {
            *last = word;
        } else if len + 1 + word.chars().count() <= cols {
            last.push(' ');
            last.push_str(&word);
        } else if lines.len() < 2 {
            lines.push(word);
        } else {
            break;
        }
    }
    let second = lines.get(1).map(|l| center(l, cols)).unwrap_or_default();
    [center(&lines[0], cols), second]
}

/// The lines of `screen` on a display `cols` characters wide (two lines).
pub fn text_lines(screen: &Screen, cols: usize) -> [String; 2] {
    match screen {
        Screen::Idle { store_name, klarna_acceptance, .. } => match klarna_acceptance.as_deref() {
            // Too long for one line: the acceptance mark takes both, whole words.
            Some(mark) if mark.chars().count() > cols => wrap2(mark, cols),
            mark => [center(store_name, cols), center(mark.unwrap_or(""), cols)],
        },
        Screen::ChooseMethod { amount, klarna, card, locale } => {
            let mut methods: Vec<&str> = vec![];
            if let Some(k) = klarna {
                methods.push(&k.header);
            }
            if *card {
                methods.push(text(Text::PayByCard, locale));
            }
            // The methods' own words, else their names ("Klarna / Kort"), never a cut word.
            let joined = methods.join(" / ");
            let short = [klarna.as_ref().map(|_| "Klarna"), card.then(|| label(Label::Card, locale))];
            let names = short.into_iter().flatten().collect::<Vec<_>>().join(" / ");
            let second = if joined.chars().count() <= cols { joined } else { names };
            [spread(text(Text::Total, locale), amount, cols), center(&second, cols)]
        }
        Screen::Qr { amount, seconds_left, locale, .. } => {
            let left = (*seconds_left).max(0);
            let clock = format!("{}:{:02}", left / 60, left % 60);
            [spread(text(Text::Total, locale), amount, cols), spread(text(Text::ScanSlip, locale), &clock, cols)]
        }
        Screen::InProgress { amount, locale, .. } => {
            [spread(text(Text::Total, locale), amount, cols), center(text(Text::PaymentInProgress, locale), cols)]
        }
        Screen::PresentCard { amount, pin, notice, locale } => {
            let short = text(if *pin { Text::InsertCardPinShort } else { Text::PresentCardShort }, locale);
            // The reader's notice when it fits the line (a try-again beats the prompt).
            let ask = notice.map(|n| text(n, locale)).filter(|t| t.chars().count() <= cols).unwrap_or(short);
            [spread(text(Text::Total, locale), amount, cols), center(ask, cols)]
        }
        Screen::Preparing { amount, locale } => {
            [spread(text(Text::Total, locale), amount, cols), center(text(Text::OneMoment, locale), cols)]
        }
        Screen::Approved { amount, locale } => {
            [center(text(Text::Approved, locale), cols), spread(text(Text::Total, locale), amount, cols)]
        }
        Screen::Declined { amount, reason, locale } => match reason {
            Some(r) if r.chars().count() <= cols => [center(text(Text::Declined, locale), cols), center(r, cols)],
            // A longer reason takes both lines (it says the payment was declined).
            Some(r) => wrap2(r, cols),
            None => [center(text(Text::Declined, locale), cols), spread(text(Text::Total, locale), amount, cols)],
        },
        Screen::Canceled { locale } => wrap2(text(Text::Canceled, locale), cols),
        Screen::TimedOut { locale } => wrap2(text(Text::TimedOut, locale), cols),
        Screen::Unavailable { locale } => wrap2(text(Text::KlarnaUnavailable, locale), cols),
        Screen::Error { reference, payment_request_id, locale } => {
            // Klarna's payment request id when there is one (support asks for it), else the
            // sale's reference. An id is longer than the line: its end tells it apart.
            let id = payment_request_id.as_deref().unwrap_or(reference);
            let n = id.chars().count();
            let tail: String = id.chars().skip(n.saturating_sub(cols)).collect();
            [center(text(Text::SomethingWentWrong, locale), cols), center(&tail, cols)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::KlarnaOption;

    fn lines(s: &Screen) -> [String; 2] {
        text_lines(s, 20)
    }

    #[test]
    fn each_screen_fits_two_lines_of_twenty() {
        let l = "de-DE".to_string();
        let qr = Screen::Qr {
            amount: "1.234,50 €".into(),
            header: "Flexibel bezahlen".into(),
            subheader: String::new(),
            instruction: String::new(),
            offer: None,
            url: "https://x".into(),
            badge: None,
            seconds_left: 598,
            payment_request_id: None,
            locale: l.clone(),
        };
        assert_eq!(lines(&qr), ["Summe     1.234,50 €", "Beleg scannen   9:58"]);
        let choose = Screen::ChooseMethod {
            amount: "12,50 €".into(),
            klarna: Some(KlarnaOption { header: "Flexibel bezahlen".into(), detail: String::new(), badge: None }),
            card: true,
            locale: l.clone(),
        };
        // Too long with Klarna's own words: the methods' names, never a cut word.
        assert_eq!(lines(&choose), ["Summe        12,50 €", "   Klarna / Karte"]);
        let idle = Screen::Idle {
            store_name: "Beispiel-Laden".into(),
            klarna_acceptance: Some("Klarna accepted here".into()),
            badge: None,
            locale: l.clone(),
        };
        assert_eq!(lines(&idle), ["   Beispiel-Laden", "Klarna accepted here"]);
        let long = Screen::Idle {
            store_name: "Beispiel-Laden".into(),
            klarna_acceptance: Some("Klarna wird hier akzeptiert".into()),
            badge: None,
            locale: l.clone(),
        };
        assert_eq!(lines(&long).map(|l| l.trim().to_string()), ["Klarna wird hier", "akzeptiert"]);
        let error = Screen::Error {
            reference: "T01-3F2A".into(),
            payment_request_id: Some("krn:payment:eu1:request:6debe89e".into()),
            locale: l.clone(),
        };
        assert_eq!(lines(&error)[1], "eu1:request:6debe89e", "the id's end");
        let card_error = Screen::Error { reference: "T01-3F2A".into(), payment_request_id: None, locale: l.clone() };
        assert_eq!(lines(&card_error)[1].trim(), "T01-3F2A", "the sale's reference");
        assert_eq!(center("a very long reference text", 20).trim(), "a very long", "whole words only");
        let issuer = Screen::Declined {
            amount: "$9.90".into(),
            reason: Some("Declined by the card issuer".into()),
            locale: "en-US".into(),
        };
        let declined = lines(&issuer);
        assert_eq!([declined[0].trim(), declined[1].trim()], ["Declined by the card", "issuer"]);
        let funds = Screen::Declined {
            amount: "$9.90".into(),
            reason: Some("Insufficient funds".into()),
            locale: "en-US".into(),
        };
        assert_eq!(lines(&funds)[1].trim(), "Insufficient funds");
        let gone = lines(&Screen::Unavailable { locale: "en-US".into() });
        assert_eq!([gone[0].trim(), gone[1].trim()], ["Klarna is not", "available for this"]);
        assert_eq!(
            lines(&Screen::PresentCard { amount: "$9.90".into(), pin: false, notice: None, locale: "en-US".into() })[1],
            " Present your card"
        );
    }

    #[test]
    fn a_long_amount_wins_over_its_label() {
        assert_eq!(spread("Total", "1 234 567,50 kr", 20), "     1 234 567,50 kr");
        assert_eq!(spread("Total", "234 567,50 kr", 20), "Total  234 567,50 kr");
        assert_eq!(spread("Summe", "12 345 678 901,00 kr", 20), "12 345 678 901,00 kr");
    }
}
