//! ISO 4217 numeric codes, as ZVT carries currencies (BMP 49, 2 bytes BCD), of the
//! currencies posagent sells in.

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

/// `number` as ZVT's 2 BCD bytes (`978` → `09 78`).
pub fn bcd(number: u16) -> [u8; 2] {
    let d = |n: u16| u8::try_from(n % 10).unwrap_or(0);
    [(d(number / 1000) << 4) | d(number / 100), (d(number / 10) << 4) | d(number)]
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
        assert_eq!(bcd(978), [0x09, 0x78]);
        assert_eq!(bcd(36), [0x00, 0x36]);
        for (code, n) in NUMERIC {
            assert_eq!(numeric(Currency::parse(code).unwrap()), *n, "{code}");
        }
    }
}
