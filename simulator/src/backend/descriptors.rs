//! Klarna's localized wording as the simulated acquirer serves it (from Klarna's
//! payment-descriptor guidelines). The terminal never hard-codes any of it.

use posagent_acquirer_api::PaymentDescriptors;

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

/// Klarna's badge, as served by Klarna's CDN.
pub const BADGE_URL: &str = "https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg";

/// The wording for `locale`, falling back to the language, then to en-US.
pub fn for_locale(locale: &str) -> PaymentDescriptors {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_language_and_english_fallbacks() {
        assert_eq!(for_locale("sv-SE").header, "Betala med Klarna");
        assert_eq!(for_locale("de-CH").locale, "de-DE");
        assert_eq!(for_locale("ja-JP").locale, "en-US");
        for l in [
            "en-US", "en-GB", "de-DE", "de-AT", "sv-SE", "fr-FR", "nl-NL", "es-ES", "it-IT", "da-DK", "nb-NO", "fi-FI",
            "pl-PL",
        ] {
            assert_eq!(for_locale(l).locale, l);
        }
    }
}
