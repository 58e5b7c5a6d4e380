//! Klarna's payment option as the simulated acquirer serves it, in the shape of Klarna's
//! Payment Presentation API, after Klarna's payment-descriptor table: the header and
//! short sub-header per market, and the offer for the amount with its amounts filled in
//! (as Klarna does — the terminal never composes credit wording). Poland is Pay in 3,
//! Finland financing; no "interest-free" claims. The terminal never hard-codes any of it.
//!
//! Klarna's public material has no per-market text of its payment button: the simulator
//! serves the header as the button's text. Each option's id names the market, currency
//! and amount it was made for, so an authorization can be checked to carry the option the
//! customer saw ([`option_id`]).

use posagent_acquirer_api::{
    EnrichedSubheader, PaymentOption, PresentationIcon, PresentationSubheader, PresentationText,
};

/// (locale, header, short subheader)
const TEXTS: &[(&str, &str, &str)] = &[
    ("en-US", "Pay with Klarna", "Pay now, in 30 days, or in 4 payments."),
    ("en-GB", "Pay with Klarna", "Pay in full today, later, or in 3 instalments."),
    ("de-DE", "Flexibel bezahlen", "Sofort, später oder in Raten bezahlen."),
    ("de-AT", "Flexibel bezahlen", "Sofort, später oder in Raten bezahlen."),
    ("sv-SE", "Betala med Klarna", "Betala direkt, senare eller dela upp."),
    ("fr-FR", "Paiements flexibles avec Klarna", "Payez maintenant, plus tard ou en 3 fois."),
    ("nl-NL", "Betaal met Klarna", "Nu betalen, later betalen of in 3 delen."),
    ("es-ES", "Pagos flexibles con Klarna", "Paga ahora, después o a plazos."),
    ("it-IT", "Pagamenti flessibili con Klarna", "Paga ora, dopo 30 giorni o in 3 rate."),
    ("da-DK", "Betal med Klarna", "Betal nu, senere eller del betalingen op."),
    ("nb-NO", "Betal med Klarna", "Betal nå, senere eller del opp betalingen."),
    ("fi-FI", "Maksa Klarnalla", "Maksa heti, myöhemmin tai erissä."),
    ("pl-PL", "Elastyczne płatności z Klarną", "Zapłać teraz, później lub w 3 ratach."),
];

/// How a market's offer reads: `{n}` instalments of `{x}`, or financing from `{x}` a month.
struct Offer {
    locale: &'static str,
    /// Payments the amount is split in (financing: months the monthly amount is quoted for).
    count: i64,
    text: &'static str,
}

const OFFERS: &[Offer] = &[
    Offer { locale: "en-US", count: 4, text: "Pay in 4 payments of {x}" },
    Offer { locale: "en-GB", count: 3, text: "Pay in 3 instalments of {x}" },
    Offer { locale: "de-DE", count: 3, text: "In 3 Raten à {x}" },
    Offer { locale: "de-AT", count: 3, text: "In 3 Raten à {x}" },
    Offer { locale: "sv-SE", count: 3, text: "Dela upp i 3 betalningar à {x}" },
    Offer { locale: "fr-FR", count: 3, text: "Payez en 3 fois {x}" },
    Offer { locale: "nl-NL", count: 3, text: "Betaal in 3 termijnen van {x}" },
    Offer { locale: "es-ES", count: 3, text: "Paga en 3 plazos de {x}" },
    Offer { locale: "it-IT", count: 3, text: "Paga in 3 rate da {x}" },
    Offer { locale: "da-DK", count: 3, text: "Del i 3 rater á {x}" },
    Offer { locale: "nb-NO", count: 3, text: "Del opp i 3 avdrag à {x}" },
    Offer { locale: "fi-FI", count: 12, text: "Erämaksu alkaen {x}/kuukausi" },
    Offer { locale: "pl-PL", count: 3, text: "Zapłać w 3 ratach po {x}" },
];

/// Smallest amount (minor units) for which an offer is made.
const OFFER_MIN: i64 = 3_500;

/// Klarna's icons as the simulator serves them: its own test images (not Klarna's files),
/// at stable URLs below its public base URL (`super::assets`).
fn icons(public_base_url: &str) -> PresentationIcon {
    let base = public_base_url.trim_end_matches('/');
    PresentationIcon {
        alt: "Klarna".into(),
        badge_image_url: format!("{base}{}", super::assets::BADGE_SVG_PATH),
        rectangle_image_url: format!("{base}{}", super::assets::BADGE_PNG_PATH),
        square_image_url: format!("{base}{}", super::assets::SQUARE_SVG_PATH),
    }
}

/// The id of the option served for `locale`'s market, `currency` and `amount`: opaque to
/// the terminal, stable for the same question, different for another amount.
pub fn option_id(locale: &str, currency: &str, amount: i64) -> String {
    format!("krn:payment:eu1:payment-option:{}-{}-{amount}", served_locale(locale).to_ascii_lowercase(), currency)
}

/// The market table's locale served for `locale`: the exact one, else one of its
/// language, else en-US.
pub fn served_locale(locale: &str) -> &'static str {
    row(locale).0
}

fn row(locale: &str) -> &'static (&'static str, &'static str, &'static str) {
    let lang = locale.split(['-', '_']).next().unwrap_or("en");
    TEXTS
        .iter()
        .find(|(l, ..)| l.eq_ignore_ascii_case(locale))
        .or_else(|| TEXTS.iter().find(|(l, ..)| l.split('-').next().is_some_and(|x| x.eq_ignore_ascii_case(lang))))
        .unwrap_or(&TEXTS[0])
}

/// `minor` (2 decimals) as the market writes it in Klarna's offers.
fn market_amount(locale: &str, minor: i64) -> String {
    let (whole, cents) = (minor / 100, minor % 100);
    match locale {
        "en-US" => format!("${whole}.{cents:02}"),
        "en-GB" => format!("£{whole}.{cents:02}"),
        "nl-NL" => format!("€ {whole},{cents:02}"),
        "sv-SE" | "nb-NO" => format!("{whole},{cents:02} kr"),
        "da-DK" => format!("{whole},{cents:02} kr."),
        "pl-PL" => format!("{whole},{cents:02} zł"),
        _ => format!("{whole},{cents:02} €"),
    }
}

/// The offer for `amount` in `locale`'s market, amounts filled in (each payment rounded
/// up to a minor unit, as a quote).
fn offer(locale: &str, amount: i64) -> Option<String> {
    if amount < OFFER_MIN {
        return None;
    }
    let o = OFFERS.iter().find(|o| o.locale == locale)?;
    let each = (amount + o.count - 1) / o.count;
    Some(o.text.replace("{x}", &market_amount(locale, each)))
}

/// Klarna's payment option for `locale`, `currency` and `amount`, falling back to the
/// language, then to en-US; its icons below `public_base_url`.
pub fn for_locale(public_base_url: &str, locale: &str, currency: &str, amount: i64) -> PaymentOption {
    let row = row(locale);
    PaymentOption {
        payment_option_id: option_id(row.0, currency, amount),
        header: PresentationText::from(row.1),
        subheader: PresentationSubheader {
            short: PresentationText::from(row.2),
            enriched: offer(row.0, amount).map(|text| EnrichedSubheader { text, link: None }),
        },
        icon: icons(public_base_url),
        payment_button: PresentationText::from(row.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_language_and_english_fallbacks() {
        let b = "http://127.0.0.1:1";
        assert_eq!(for_locale(b, "sv-SE", "SEK", 10_000).header.text, "Betala med Klarna");
        assert_eq!(served_locale("de-CH"), "de-DE");
        assert_eq!(served_locale("ja-JP"), "en-US");
        for (l, ..) in TEXTS {
            assert_eq!(served_locale(l), *l);
            assert!(for_locale(b, l, "EUR", 10_000).offer().is_some(), "{l}");
            assert!(for_locale(b, l, "EUR", 100).offer().is_none(), "{l}: no offer under the minimum");
        }
        let o = for_locale(b, "sv-SE", "SEK", 10_000);
        assert_eq!(o.icon.badge_image_url, "http://127.0.0.1:1/assets/klarna-badge.svg");
        assert_ne!(o.payment_option_id, for_locale(b, "sv-SE", "SEK", 10_001).payment_option_id);
        assert_eq!(o.payment_option_id, option_id("sv-SE", "SEK", 10_000));
    }

    #[test]
    fn offers_are_klarnas_per_market_with_the_amounts_filled_in() {
        assert_eq!(for_locale("", "en-US", "USD", 5_000).offer(), Some("Pay in 4 payments of $12.50"));
        assert_eq!(for_locale("", "pl-PL", "PLN", 12_000).offer(), Some("Zapłać w 3 ratach po 40,00 zł"));
        assert_eq!(for_locale("", "fi-FI", "EUR", 120_000).offer(), Some("Erämaksu alkaen 100,00 €/kuukausi"));
        assert_eq!(for_locale("", "es-ES", "EUR", 10_000).header.text, "Pagos flexibles con Klarna");
        for o in OFFERS {
            assert!(!o.text.to_lowercase().contains("interest"), "{}", o.locale);
        }
    }
}
