//! Amounts in minor units formatted per locale and currency, without floats.

use posagent_acquirer_api::Currency;

struct Style {
    decimal: char,
    group: &'static str,
    symbol_first: bool,
    space: bool,
}

fn style(locale: &str) -> Style {
    let lang = locale.split('-').next().unwrap_or("en");
    match (lang, locale) {
        (_, "de-AT") | (_, "nl-NL") => Style { decimal: ',', group: ".", symbol_first: true, space: true },
        ("en", _) => Style { decimal: '.', group: ",", symbol_first: true, space: false },
        ("de" | "it" | "es" | "da", _) => Style { decimal: ',', group: ".", symbol_first: false, space: true },
        ("sv" | "fr" | "fi" | "nb" | "pl" | "cs", _) => {
            Style { decimal: ',', group: " ", symbol_first: false, space: true }
        }
        _ => Style { decimal: '.', group: ",", symbol_first: true, space: false },
    }
}

fn symbol(currency: &Currency) -> &str {
    match currency.code() {
        "EUR" => "€",
        "USD" | "AUD" | "CAD" | "NZD" | "MXN" => "$",
        "GBP" => "£",
        "SEK" | "NOK" | "ISK" => "kr",
        "DKK" => "kr.",
        "PLN" => "zł",
        "CZK" => "Kč",
        "HUF" => "Ft",
        "RON" => "lei",
        "JPY" => "¥",
        other => other,
    }
}

/// Formats `amount` minor units of `currency` for `locale`, e.g. `1.234,50 €` (de-DE),
/// `$1,234.50` (en-US), `1 234,50 kr` (sv-SE); no decimals where the currency has none.
pub fn format_amount(amount: i64, currency: Currency, locale: &str) -> String {
    let st = style(locale);
    let exp = u32::from(currency.exponent());
    let unit = 10u64.pow(exp);
    let abs = amount.unsigned_abs();
    let (major, minor) = (abs / unit, abs % unit);
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push_str(st.group);
        }
        grouped.push(ch);
    }
    let mut number = grouped;
    if exp > 0 {
        number.push(st.decimal);
        number.push_str(&format!("{minor:0width$}", width = exp as usize));
    }
    let sign = if amount < 0 { "-" } else { "" };
    let sym = symbol(&currency);
    let sp = if st.space { " " } else { "" };
    if st.symbol_first { format!("{sign}{sym}{sp}{number}") } else { format!("{sign}{number}{sp}{sym}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|_| panic!("currency {code}"))
    }

    #[test]
    fn formats_per_locale() {
        assert_eq!(format_amount(123_450, c("EUR"), "de-DE"), "1.234,50 €");
        assert_eq!(format_amount(123_450, c("USD"), "en-US"), "$1,234.50");
        assert_eq!(format_amount(123_450, c("SEK"), "sv-SE"), "1 234,50 kr");
        assert_eq!(format_amount(123_450, c("GBP"), "en-GB"), "£1,234.50");
        assert_eq!(format_amount(5, c("EUR"), "fr-FR"), "0,05 €");
        assert_eq!(format_amount(1_234_567, c("PLN"), "pl-PL"), "12 345,67 zł");
        assert_eq!(format_amount(1234, c("JPY"), "en-US"), "¥1,234");
        assert_eq!(format_amount(-250, c("EUR"), "de-DE"), "-2,50 €");
        assert_eq!(format_amount(100_000_000, c("EUR"), "nl-NL"), "€ 1.000.000,00");
    }
}
