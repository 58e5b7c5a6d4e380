//! Instalment schedules in minor units: the instalments always sum exactly to the total;
//! any remainder goes on the first payment.

use super::money::format_amount;
use posagent_acquirer_api::{Currency, InstalmentOffer};

/// Splits `total` into `count` instalments (first one carries the remainder).
pub fn split(total: i64, count: u32) -> Vec<i64> {
    let n = i64::from(count.max(1));
    let (base, rem) = (total / n, total % n);
    (0..n).map(|i| if i == 0 { base + rem } else { base }).collect()
}

/// "4 × 12,50 €", or "12,51 € + 3 × 12,50 €" when the first payment is larger; a count
/// stays on the line of its amount (no-break spaces around ×).
pub fn schedule_text(total: i64, count: u32, currency: Currency, locale: &str) -> String {
    let parts = split(total, count);
    let fmt = |v: i64| format_amount(v, currency, locale);
    match parts.as_slice() {
        [first, rest @ ..] if rest.iter().all(|r| r == first) => format!("{}\u{A0}×\u{A0}{}", parts.len(), fmt(*first)),
        [first, rest @ ..] => format!("{} + {}\u{A0}×\u{A0}{}", fmt(*first), rest.len(), fmt(rest[0])),
        [] => fmt(total),
    }
}

/// Klarna's instalment wording with the schedule filled in.
pub fn offer_text(offer: &InstalmentOffer, total: i64, currency: Currency, locale: &str) -> String {
    offer.text.replace("{schedule}", &schedule_text(total, offer.count, currency, locale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instalments_sum_exactly() {
        for total in [1, 3, 4, 5_000, 5_001, 5_003, 123_457, 2_147_483_647] {
            for count in [2, 3, 4, 6, 12] {
                let parts = split(total, count);
                assert_eq!(parts.len(), count as usize);
                assert_eq!(parts.iter().sum::<i64>(), total, "{total}/{count}");
                assert!(parts.windows(2).all(|w| w[0] >= w[1]));
            }
        }
    }

    #[test]
    fn wording_per_locale() {
        assert_eq!(schedule_text(5_000, 4, Currency::EUR, "de-DE"), "4\u{A0}×\u{A0}12,50\u{A0}€");
        assert_eq!(schedule_text(5_001, 4, Currency::USD, "en-US"), "$12.51 + 3\u{A0}×\u{A0}$12.50");
        let offer = InstalmentOffer { count: 4, text: "Pay in 4 interest-free payments: {schedule}".into() };
        assert_eq!(
            offer_text(&offer, 5_000, Currency::USD, "en-US"),
            "Pay in 4 interest-free payments: 4\u{A0}×\u{A0}$12.50"
        );
    }
}
