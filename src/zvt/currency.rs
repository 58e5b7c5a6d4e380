//! ISO 4217 numeric codes, as ZVT carries currencies (BMP 49, 2 bytes BCD: the codec
//! writes them), of the currencies posagent sells in.

use posagent_acquirer_api::Currency;

const NUMERIC: &[(&str, u16)] = &[
    ("AUD", 36),
    ("CAD", 124),
    ("CHF", 756),
    ("CZK", 203),
    ("DKK", 208),
    ("EUR", 978),
    ("GBP", 826),
    ("HUF", 348),
    ("ISK", 352),
    ("JPY", 392),
    ("KWD", 414),
    ("MXN", 484),
    ("NOK", 578),
    ("NZD", 554),
    ("PLN", 985),
    ("RON", 946),
    ("SEK", 752),
    ("USD", 840),
];

/// The ISO 4217 number of `currency` (0 for one without: none of posagent's).
pub fn numeric(currency: Currency) -> u16 {
    NUMERIC.iter().find(|(c, _)| *c == currency.code()).map_or(0, |(_, n)| *n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_their_iso_numbers_in_bcd() {
        assert_eq!(numeric(Currency::EUR), 978);
        assert_eq!(numeric(Currency::SEK), 752);
        assert_eq!(numeric(Currency::parse("CHF").unwrap()), 756);
        for (code, n) in NUMERIC {
            assert_eq!(numeric(Currency::parse(code).unwrap()), *n, "{code}");
        }
    }
}
