//! Amounts in minor units formatted per locale and currency as CLDR has them (the tables
//! in `cldr_data`, generated from ICU), without floats. The spaces inside an amount are
//! no-break spaces, as in CLDR: a wrapped line never splits an amount.

use super::cldr_data::{AFFIXES, Affixes, NUMBERS, Numbers};
use posagent_acquirer_api::Currency;

/// The locale's data: the exact locale, else its language's first market in the table
/// (`de-LU` → `de-DE`), else `en-US`.
fn numbers(locale: &str) -> &'static Numbers {
    let lang = locale.split('-').next().unwrap_or("en");
    NUMBERS
        .iter()
        .find(|n| n.locale.eq_ignore_ascii_case(locale))
        .or_else(|| NUMBERS.iter().find(|n| n.locale.split('-').next() == Some(lang)))
        .unwrap_or(&NUMBERS[0])
}

/// The locale's decimal separator (CLDR), e.g. for tax rates: `12,5 %` in sv-SE.
pub fn decimal_separator(locale: &str) -> &'static str {
    numbers(locale).decimal
}

fn affixes(locale: &'static str, currency: &str) -> Option<&'static Affixes> {
    AFFIXES.iter().find(|a| a.locale == locale && a.currency == currency)
}

/// `digits` grouped by the locale's rule (primary group, then secondary groups) with
/// `group` between groups.
fn grouped(digits: &str, n: &Numbers, group: &str) -> String {
    let len = digits.len();
    let (primary, secondary) = (usize::from(n.primary.max(1)), usize::from(n.secondary.max(1)));
    if len < primary + usize::from(n.min_grouping.max(1)) {
        return digits.to_string();
    }
    // Where separators go, counted from the right: after `primary`, then every `secondary`.
    let mut cuts = vec![];
    let mut at = primary;
    while at < len {
        cuts.push(len - at);
        at += secondary;
    }
    let mut out = String::with_capacity(len + cuts.len() * group.len());
    for (i, ch) in digits.char_indices() {
        if cuts.contains(&i) {
            out.push_str(group);
        }
        out.push(ch);
    }
    out
}

/// Formats `amount` minor units of `currency` for `locale` as CLDR does: `1.234,50 €`
/// (de-DE), `$1,234.50` (en-US), `1 234,50 kr` (sv-SE, no-break spaces), `CHF 1'234.50`
/// (de-CH), `€ -25,00` (nl-NL); the currency's own minor units (0 for JPY, 3 for KWD).
pub fn format_amount(amount: i64, currency: Currency, locale: &str) -> String {
    let n = numbers(locale);
    let code = currency.code();
    let affixes = affixes(n.locale, code);
    let (decimal, group) = affixes.map_or((n.decimal, n.group), |a| (a.decimal, a.group));
    let exp = u32::from(currency.exponent());
    let unit = 10u64.pow(exp);
    let abs = amount.unsigned_abs();
    let mut number = grouped(&(abs / unit).to_string(), n, group);
    if exp > 0 {
        number.push_str(decimal);
        number.push_str(&format!("{:0width$}", abs % unit, width = exp as usize));
    }
    let (prefix, suffix) = match affixes {
        Some(a) if amount < 0 => (a.negative.0.to_string(), a.negative.1.to_string()),
        Some(a) => (a.positive.0.to_string(), a.positive.1.to_string()),
        // A currency outside the table: its code before the number, as CLDR's root does.
        None if amount < 0 => (format!("-{code}\u{A0}"), String::new()),
        None => (format!("{code}\u{A0}"), String::new()),
    };
    format!("{prefix}{number}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|_| panic!("currency {code}"))
    }

    #[test]
    fn formats_per_locale_as_cldr() {
        assert_eq!(format_amount(123_450, c("EUR"), "de-DE"), "1.234,50\u{A0}€");
        assert_eq!(format_amount(123_450, c("USD"), "en-US"), "$1,234.50");
        assert_eq!(format_amount(123_450, c("SEK"), "sv-SE"), "1\u{A0}234,50\u{A0}kr");
        assert_eq!(format_amount(-2_500, c("SEK"), "sv-SE"), "\u{2212}25,00\u{A0}kr");
        assert_eq!(format_amount(123_450, c("GBP"), "en-GB"), "£1,234.50");
        assert_eq!(format_amount(5, c("EUR"), "fr-FR"), "0,05\u{A0}€");
        assert_eq!(format_amount(123_456_789, c("EUR"), "fr-FR"), "1\u{202F}234\u{202F}567,89\u{A0}€");
        assert_eq!(format_amount(1234, c("JPY"), "en-US"), "¥1,234");
        assert_eq!(format_amount(-250, c("EUR"), "de-DE"), "-2,50\u{A0}€");
        assert_eq!(format_amount(100_000_000, c("EUR"), "nl-NL"), "€\u{A0}1.000.000,00");
        assert_eq!(format_amount(-2_500, c("EUR"), "nl-NL"), "€\u{A0}-25,00");
        assert_eq!(format_amount(123_457, c("CHF"), "de-CH"), "CHF\u{A0}1'234.57");
        assert_eq!(format_amount(1_234_500, c("KWD"), "en-US"), "KWD\u{A0}1,234.500");
        assert_eq!(format_amount(123_450, c("SEK"), "en-US"), "SEK\u{A0}1,234.50");
    }

    #[test]
    fn minimum_grouping_digits_leave_four_digits_whole() {
        assert_eq!(format_amount(123_450, c("EUR"), "es-ES"), "1234,50\u{A0}€");
        assert_eq!(format_amount(1_234_550, c("EUR"), "es-ES"), "12.345,50\u{A0}€");
        assert_eq!(format_amount(123_450, c("PLN"), "pl-PL"), "1234,50\u{A0}zł");
    }

    #[test]
    fn an_unknown_market_takes_its_language_then_english() {
        assert_eq!(format_amount(123_450, c("EUR"), "de-LU"), format_amount(123_450, c("EUR"), "de-DE"));
        assert_eq!(format_amount(123_450, c("USD"), "xx-XX"), "$1,234.50");
    }

    #[test]
    fn the_extremes_format() {
        assert_eq!(format_amount(i64::MIN, c("USD"), "en-US"), "-$92,233,720,368,547,758.08");
        assert_eq!(format_amount(0, c("ISK"), "en-US"), "ISK\u{A0}0");
    }
}
