//! Klarna's markets as the simulated acquirer knows them: country → local currency and
//! the amount range an acquirer offers Klarna for (Mollie-like defaults, in minor units).

/// One market where Klarna is available in store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Market {
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// ISO 4217 local currency (Klarna only supports the local currency of each country).
    pub currency: &'static str,
    /// Smallest amount, minor units.
    pub min_amount: i64,
    /// Largest amount, minor units.
    pub max_amount: i64,
}

const fn m(country: &'static str, currency: &'static str, min_amount: i64, max_amount: i64) -> Market {
    Market { country, currency, min_amount, max_amount }
}

/// Countries and currencies Klarna supports in store.
pub const MARKETS: &[Market] = &[
    m("AT", "EUR", 100, 1_000_000),
    m("AU", "AUD", 100, 200_000),
    m("BE", "EUR", 100, 1_000_000),
    m("CA", "CAD", 100, 1_000_000),
    m("CH", "CHF", 100, 500_000),
    m("CZ", "CZK", 100, 10_000_000),
    m("DE", "EUR", 100, 1_000_000),
    m("DK", "DKK", 100, 10_000_000),
    m("ES", "EUR", 100, 400_000),
    m("FI", "EUR", 100, 1_000_000),
    m("FR", "EUR", 100, 1_000_000),
    m("GB", "GBP", 100, 400_000),
    m("IE", "EUR", 100, 400_000),
    m("IT", "EUR", 100, 400_000),
    m("NL", "EUR", 100, 1_400_000),
    m("NO", "NOK", 100, 10_000_000),
    m("PL", "PLN", 100, 2_000_000),
    m("PT", "EUR", 100, 400_000),
    m("SE", "SEK", 100, 15_000_000),
    m("US", "USD", 100, 1_000_000),
];

/// Why Klarna is not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Klarna does not operate in this country with this currency.
    CountryCurrency,
    /// The amount is outside the range offered.
    Amount,
}

impl Unavailable {
    /// The `status_reason` code.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::CountryCurrency => "COUNTRY_CURRENCY_NOT_SUPPORTED",
            Unavailable::Amount => "AMOUNT_OUT_OF_RANGE",
        }
    }
}

/// Checks whether Klarna is available for this purchase.
pub fn check(country: &str, currency: &str, amount: i64) -> Result<Market, Unavailable> {
    let market = MARKETS
        .iter()
        .find(|mk| mk.country.eq_ignore_ascii_case(country) && mk.currency.eq_ignore_ascii_case(currency))
        .ok_or(Unavailable::CountryCurrency)?;
    if amount < market.min_amount || amount > market.max_amount {
        return Err(Unavailable::Amount);
    }
    Ok(*market)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_currency_and_range() {
        assert!(check("SE", "SEK", 10_000).is_ok());
        assert!(check("se", "sek", 10_000).is_ok());
        assert_eq!(check("SE", "EUR", 10_000), Err(Unavailable::CountryCurrency));
        assert_eq!(check("JP", "JPY", 10_000), Err(Unavailable::CountryCurrency));
        assert_eq!(check("DE", "EUR", 99), Err(Unavailable::Amount));
        assert_eq!(check("DE", "EUR", 1_000_001), Err(Unavailable::Amount));
    }
}
