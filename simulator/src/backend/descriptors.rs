//! Klarna's localized wording as the simulated acquirer serves it, after Klarna's
//! payment-descriptor table: the header and short sub-header per market, and the offer
//! for the amount with its amounts filled in (as Klarna does — the terminal never
//! composes credit wording). Poland is Pay in 3, Finland financing; no "interest-free"
//! claims. The terminal never hard-codes any of it.

use posagent_acquirer_api::PaymentDescriptors;

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

/// The badge URL the simulator gives: its own test badge (not Klarna's file), at a
/// stable URL below its public base URL (`super::assets`).
pub fn badge_url(public_base_url: &str) -> String {
    format!("{}{}", public_base_url.trim_end_matches('/'), super::assets::BADGE_SVG_PATH)
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

/// The wording for `locale` and `amount`, falling back to the language, then to en-US.
///
/// Its `badge_url` is the badge's path alone; the simulated acquirer serves it under its
/// base URL ([`badge_url`]).
pub fn for_locale(locale: &str, amount: i64) -> PaymentDescriptors {
    let lang = locale.split(['-', '_']).next().unwrap_or("en");
    let row = TEXTS
        .iter()
        .find(|(l, ..)| l.eq_ignore_ascii_case(locale))
        .or_else(|| TEXTS.iter().find(|(l, ..)| l.split('-').next().is_some_and(|x| x.eq_ignore_ascii_case(lang))))
        .unwrap_or(&TEXTS[0]);
    PaymentDescriptors {
        locale: row.0.to_string(),
        header: row.1.to_string(),
        subheader: row.2.to_string(),
        subheader_enriched: offer(row.0, amount),
        badge_url: super::assets::BADGE_SVG_PATH.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_language_and_english_fallbacks() {
        assert_eq!(for_locale("sv-SE", 10_000).header, "Betala med Klarna");
        assert_eq!(for_locale("de-CH", 10_000).locale, "de-DE");
        assert_eq!(for_locale("ja-JP", 10_000).locale, "en-US");
        for (l, ..) in TEXTS {
            assert_eq!(for_locale(l, 10_000).locale, *l);
            assert!(for_locale(l, 10_000).subheader_enriched.is_some(), "{l}");
            assert!(for_locale(l, 100).subheader_enriched.is_none(), "{l}: no offer under the minimum");
        }
    }

    #[test]
    fn offers_are_klarnas_per_market_with_the_amounts_filled_in() {
        assert_eq!(for_locale("en-US", 5_000).subheader_enriched.as_deref(), Some("Pay in 4 payments of $12.50"));
        assert_eq!(for_locale("pl-PL", 12_000).subheader_enriched.as_deref(), Some("Zapłać w 3 ratach po 40,00 zł"));
        assert_eq!(
            for_locale("fi-FI", 120_000).subheader_enriched.as_deref(),
            Some("Erämaksu alkaen 100,00 €/kuukausi")
        );
        assert_eq!(for_locale("es-ES", 10_000).header, "Pagos flexibles con Klarna");
        for o in OFFERS {
            assert!(!o.text.to_lowercase().contains("interest"), "{}", o.locale);
        }
    }
}
