//! ISO 4217 currencies with their minor-unit exponent; amounts are integer minor units.
//! posagent formats more currencies than the acquirer settles (KWD, its one three-decimal
//! currency, is formatted but not settled): the wire takes only the settled ones.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest amount the acquirer and Klarna accept, in minor units (`int32` max).
pub const MAX_AMOUNT: i64 = 2_147_483_647;

use crate::currencies::CURRENCIES;

/// The currencies the acquirer settles, the only ones on the wire: Klarna Network's
/// (AUD CAD CHF CZK DKK EUR GBP HUF MXN NOK NZD PLN RON SEK USD) and, for cards only, ISK
/// and JPY. docs/acquirer-api.yaml's `Currency` lists exactly these.
pub const SETTLED_CURRENCIES: &[&str] = &[
    "AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HUF", "ISK", "JPY", "MXN", "NOK", "NZD", "PLN", "RON", "SEK",
    "USD",
];

/// A validated ISO 4217 alphabetic currency code (upper case on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// A currency code posagent does not handle (not ISO 4217, or not one of its currencies).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a currency posagent handles; use an ISO 4217 code from its list: {list}", list = supported())]
pub struct CurrencyError(pub String);

/// A currency the wire does not take: unknown, or one posagent formats but the acquirer
/// does not settle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettledCurrencyError {
    /// Not a currency posagent handles at all.
    #[error(transparent)]
    Unknown(#[from] CurrencyError),
    /// Formatted by posagent, but not settled by the acquirer (no Klarna market has it).
    #[error(
        "`{0}` is not a currency the acquirer settles (posagent formats it, but no Klarna market uses it); \
         use one of: {list}",
        list = SETTLED_CURRENCIES.join(", ")
    )]
    NotSettled(String),
}

/// The codes posagent handles, comma-separated.
fn supported() -> String {
    CURRENCIES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
}

/// ISO 4217 numeric codes of the currencies posagent handles.
const ISO_4217_NUMERIC: &[(&str, u16)] = &[
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

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency { code: *b"EUR", exponent: 2 };
    /// Swedish krona.
    pub const SEK: Currency = Currency { code: *b"SEK", exponent: 2 };
    /// US dollar.
    pub const USD: Currency = Currency { code: *b"USD", exponent: 2 };

    /// Parses a code such as `"EUR"` (lower case is accepted, as in Klarna's own fixtures):
    /// any currency posagent formats, settled or not. What comes from or goes to the wire
    /// is read with [`Currency::parse_settled`].
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let upper = code.to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|(c, exponent)| {
                let b = c.as_bytes();
                Currency { code: [b[0], b[1], b[2]], exponent: *exponent }
            })
            .ok_or_else(|| CurrencyError(code.to_string()))
    }

    /// Parses a code the acquirer settles ([`SETTLED_CURRENCIES`]); what serde reads.
    pub fn parse_settled(code: &str) -> Result<Self, SettledCurrencyError> {
        let currency = Currency::parse(code)?;
        if currency.is_settled() { Ok(currency) } else { Err(SettledCurrencyError::NotSettled(code.to_string())) }
    }

    /// Whether the acquirer settles this currency (it may then be on the wire).
    pub fn is_settled(&self) -> bool {
        SETTLED_CURRENCIES.contains(&self.code())
    }

    /// The ISO 4217 number (`978` for EUR), as card data and ZVT carry a currency; 0 for
    /// none (every currency posagent handles has one: a unit test checks).
    pub fn numeric(&self) -> u16 {
        ISO_4217_NUMERIC.iter().find(|(c, _)| *c == self.code()).map_or(0, |(_, n)| *n)
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The bytes come from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of decimal places of the minor unit (2 for EUR, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = SettledCurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse_settled(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_currency_has_its_iso_number() {
        for (code, _) in CURRENCIES {
            assert_ne!(Currency::parse(code).map(|c| c.numeric()).unwrap_or(0), 0, "{code}");
        }
        assert_eq!((Currency::EUR.numeric(), Currency::SEK.numeric(), Currency::USD.numeric()), (978, 752, 840));
    }

    #[test]
    fn parses_known_codes_case_insensitively() {
        let eur = Currency::parse("eur").map_err(|e| e.to_string());
        assert_eq!(eur.map(|c| (c.code().to_string(), c.exponent())), Ok(("EUR".into(), 2)));
        assert_eq!(Currency::parse("JPY").map(|c| c.exponent()), Ok(0));
        assert_eq!(Currency::parse("KWD").map(|c| c.exponent()), Ok(3));
    }

    #[test]
    fn rejects_unknown_codes() {
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("XYZ").is_err());
        let message = Currency::parse("BTC").map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(message.contains("not a currency posagent handles") && message.contains("KWD"), "{message}");
        assert!(serde_json::from_str::<Currency>("\"ABC\"").is_err());
    }

    #[test]
    fn the_wire_takes_only_settled_currencies() {
        for code in SETTLED_CURRENCIES {
            let parsed = serde_json::from_value::<Currency>(serde_json::json!(code)).map(|c| c.is_settled());
            assert_eq!(parsed.map_err(|e| e.to_string()), Ok(true), "{code}");
        }
        // KWD is formatted (three decimals) but settled nowhere: the wire refuses it.
        assert!(Currency::parse("KWD").is_ok_and(|c| !c.is_settled()));
        let refused = serde_json::from_str::<Currency>("\"KWD\"").map_err(|e| e.to_string());
        assert!(refused.as_ref().is_err_and(|e| e.contains("not a currency the acquirer settles")), "{refused:?}");
        assert!(matches!(Currency::parse_settled("kwd"), Err(SettledCurrencyError::NotSettled(_))));
        assert!(matches!(Currency::parse_settled("BTC"), Err(SettledCurrencyError::Unknown(_))));
        let formatted_only: Vec<&str> =
            CURRENCIES.iter().map(|(c, _)| *c).filter(|c| !SETTLED_CURRENCIES.contains(c)).collect();
        assert_eq!(formatted_only, ["KWD"]);
    }

    #[test]
    fn constants_match_the_table() {
        for c in [Currency::EUR, Currency::SEK, Currency::USD] {
            assert_eq!(Currency::parse(c.code()).ok(), Some(c));
        }
    }

    #[test]
    fn serializes_as_code() {
        let c = Currency::parse("sek").map_err(|e| e.to_string());
        assert_eq!(c.map(|c| serde_json::to_string(&c).ok()), Ok(Some("\"SEK\"".to_string())));
    }
}
