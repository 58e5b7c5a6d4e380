//! Klarna's localized wording as the simulated acquirer serves it (from Klarna's
//! payment-descriptor guidelines). The terminal never hard-codes any of it.

use posagent_acquirer_api::{InstalmentOffer, PaymentDescriptors};

/// (locale, header, subheader, scan instruction)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("en-US", "Pay with Klarna", "Pay now, in 30 days, or in 4 payments.", "Scan to pay with Klarna"),
    ("en-GB", "Pay with Klarna", "Pay in full today, later, or in 3 instalments.", "Scan to pay with Klarna"),
    ("de-DE", "Flexibel bezahlen", "Sofort, später oder in Raten bezahlen.", "Scannen und mit Klarna bezahlen"),
    ("de-AT", "Flexibel bezahlen", "Sofort, später oder in Raten bezahlen.", "Scannen und mit Klarna bezahlen"),
    ("sv-SE", "Betala med Klarna", "Betala direkt, senare eller dela upp.", "Skanna för att betala med Klarna"),
    (
        "fr-FR",
        "Paiements flexibles avec Klarna",
        "Payez maintenant, plus tard ou en 3 fois.",
        "Scannez pour payer avec Klarna",
    ),
    ("nl-NL", "Betaal met Klarna", "Nu betalen, later betalen of in 3 delen.", "Scan om te betalen met Klarna"),
    ("es-ES", "Paga con Klarna", "Paga ahora, después o a plazos.", "Escanea para pagar con Klarna"),
    ("it-IT", "Paga con Klarna", "Paga ora, dopo 30 giorni o in 3 rate.", "Scansiona per pagare con Klarna"),
    ("da-DK", "Betal med Klarna", "Betal nu, senere eller del betalingen op.", "Scan for at betale med Klarna"),
    ("nb-NO", "Betal med Klarna", "Betal nå, senere eller del opp betalingen.", "Skann for å betale med Klarna"),
    ("fi-FI", "Maksa Klarnalla", "Maksa heti, myöhemmin tai erissä.", "Skannaa ja maksa Klarnalla"),
    ("pl-PL", "Zapłać z Klarna", "Zapłać teraz, później lub w ratach.", "Zeskanuj, aby zapłacić z Klarna"),
];

/// (language, instalments, text with `{schedule}`)
const INSTALMENTS: &[(&str, u32, &str)] = &[
    ("en-US", 4, "Pay in 4 interest-free payments: {schedule}"),
    ("en-GB", 3, "Pay in 3 interest-free instalments: {schedule}"),
    ("de", 3, "In 3 zinsfreien Raten: {schedule}"),
    ("sv", 3, "Dela upp i 3 räntefria delbetalningar: {schedule}"),
    ("fr", 3, "Payez en 3 fois sans frais : {schedule}"),
    ("nl", 3, "Betaal in 3 renteloze termijnen: {schedule}"),
    ("es", 3, "Paga en 3 plazos sin intereses: {schedule}"),
    ("it", 3, "Paga in 3 rate senza interessi: {schedule}"),
    ("da", 3, "Del betalingen op i 3 rentefrie rater: {schedule}"),
    ("nb", 3, "Del opp i 3 rentefrie avdrag: {schedule}"),
    ("fi", 3, "Maksa 3 korottomassa erässä: {schedule}"),
    ("pl", 4, "Zapłać w 4 nieoprocentowanych ratach: {schedule}"),
];

/// (language, in-store acceptance mark)
const ACCEPTANCE: &[(&str, &str)] = &[
    ("en", "Klarna accepted here"),
    ("de", "Klarna wird hier akzeptiert"),
    ("sv", "Vi tar emot Klarna"),
    ("fr", "Klarna accepté ici"),
    ("nl", "Klarna wordt hier geaccepteerd"),
    ("es", "Aquí se acepta Klarna"),
    ("it", "Qui si accetta Klarna"),
    ("da", "Klarna accepteres her"),
    ("nb", "Klarna godtas her"),
    ("fi", "Klarna käy täällä"),
    ("pl", "Akceptujemy Klarna"),
];

/// Smallest amount (minor units) for which instalments are offered.
const INSTALMENT_MIN: i64 = 3_500;

fn instalments(locale: &str, amount: i64) -> Option<InstalmentOffer> {
    if amount < INSTALMENT_MIN {
        return None;
    }
    let lang = locale.split('-').next().unwrap_or("en");
    INSTALMENTS
        .iter()
        .find(|(l, ..)| *l == locale)
        .or_else(|| INSTALMENTS.iter().find(|(l, ..)| *l == lang))
        .map(|(_, count, text)| InstalmentOffer { count: *count, text: (*text).to_string() })
}

/// Klarna's badge, as served by Klarna's CDN.
pub const BADGE_URL: &str = "https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg";

/// The wording for `locale` and `amount`, falling back to the language, then to en-US.
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
        scan_instruction: row.3.to_string(),
        badge_url: BADGE_URL.to_string(),
        instalments: instalments(row.0, amount),
        acceptance_text: ACCEPTANCE.iter().find(|(l, _)| row.0.starts_with(l)).map(|(_, t)| (*t).to_string()),
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
        for l in [
            "en-US", "en-GB", "de-DE", "de-AT", "sv-SE", "fr-FR", "nl-NL", "es-ES", "it-IT", "da-DK", "nb-NO", "fi-FI",
            "pl-PL",
        ] {
            assert_eq!(for_locale(l, 10_000).locale, l);
            assert!(for_locale(l, 10_000).instalments.is_some_and(|i| i.text.contains("{schedule}")), "{l}");
            assert!(for_locale(l, 10_000).acceptance_text.is_some_and(|t| t.contains("Klarna")), "{l}");
        }
    }
}
