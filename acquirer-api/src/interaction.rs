//! Klarna's `interaction_expiry`: how long the customer has to complete a payment request.

use serde::{Deserialize, Serialize};

/// Klarna's `interaction_expiry`: the payment request's lifetime as an ISO 8601 duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InteractionExpiry {
    /// ISO 8601 duration of whole hours, minutes and seconds, `PT15M` to `PT48H`
    /// (e.g. `PT900S`).
    #[cfg_attr(feature = "openapi", schema(pattern = r"^PT(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?$", max_length = 32))]
    pub duration: String,
}

/// Shortest payment request lifetime Klarna accepts, seconds (15 minutes).
pub const MIN_INTERACTION_EXPIRY_SECS: u32 = 15 * 60;
/// Longest payment request lifetime Klarna accepts, seconds (48 hours).
pub const MAX_INTERACTION_EXPIRY_SECS: u32 = 48 * 3600;

impl InteractionExpiry {
    /// The shortest lifetime Klarna accepts that covers `secs`, as `PT{n}S`.
    pub fn covering(secs: u64) -> Self {
        let secs = secs.clamp(MIN_INTERACTION_EXPIRY_SECS.into(), MAX_INTERACTION_EXPIRY_SECS.into());
        InteractionExpiry { duration: format!("PT{secs}S") }
    }

    /// The duration in seconds; `None` when it is not `PT[nH][nM][nS]` (at least one part,
    /// digits only) or overflows.
    pub fn seconds(&self) -> Option<u64> {
        let mut rest = self.duration.strip_prefix("PT").filter(|r| !r.is_empty())?;
        let mut total: u64 = 0;
        for (unit, factor) in [('H', 3600u64), ('M', 60), ('S', 1)] {
            if let Some(at) = rest.find(unit) {
                let digits = &rest[..at];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
                    return None;
                }
                total = total.checked_add(digits.parse::<u64>().ok()?.checked_mul(factor)?)?;
                rest = &rest[at + 1..];
            }
        }
        rest.is_empty().then_some(total)
    }

    /// Whether Klarna would take it: a well-formed duration of 15 minutes to 48 hours.
    pub fn is_valid(&self) -> bool {
        self.seconds().is_some_and(|s| {
            (u64::from(MIN_INTERACTION_EXPIRY_SECS)..=u64::from(MAX_INTERACTION_EXPIRY_SECS)).contains(&s)
        })
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::InteractionExpiry;

    fn e(d: &str) -> InteractionExpiry {
        InteractionExpiry { duration: d.into() }
    }

    #[test]
    fn durations_klarna_takes() {
        assert_eq!(e("PT15M").seconds(), Some(900));
        assert_eq!(e("PT1H30M").seconds(), Some(5400));
        assert_eq!(e("PT900S").seconds(), Some(900));
        assert!(e("PT48H").is_valid() && e("PT15M").is_valid());
        for bad in ["PT14M59S", "PT48H1S", "PT", "P1D", "PT-5M", "PT5", "PTM", "PT1M1H", "pt15m", "PT99999999999H"] {
            assert!(!e(bad).is_valid(), "{bad}");
        }
        assert_eq!(InteractionExpiry::covering(120).duration, "PT900S");
        assert_eq!(InteractionExpiry::covering(3600).duration, "PT3600S");
        assert_eq!(InteractionExpiry::covering(u64::MAX).duration, "PT172800S");
    }
}
