//! The offline policy: when the acquirer cannot be reached, a card payment is approved
//! by the terminal only under a per-payment floor limit, a total and a count of
//! unforwarded offline payments per currency, and while the oldest of them is younger
//! than a maximum age. Klarna is never approved offline.

use crate::domain::{OfflineExposure, OfflineLimits};

/// Why a card payment is not approved offline: shown to the cashier as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineRefusal {
    /// The store does not take card payments offline.
    #[error("the acquirer is unreachable and this store takes no card payments offline; ask for another tender")]
    Disabled,
    /// Above the floor limit.
    #[error(
        "the acquirer is unreachable and {amount} is above the offline limit of {limit} per payment; ask for another tender"
    )]
    OverFloor {
        /// The payment.
        amount: i64,
        /// The floor limit.
        limit: i64,
    },
    /// The total would pass the limit.
    #[error(
        "the acquirer is unreachable and offline payments waiting to be forwarded would pass {limit} in total; ask for another tender"
    )]
    OverTotal {
        /// The total limit.
        limit: i64,
    },
    /// Too many waiting.
    #[error(
        "the acquirer is unreachable and {limit} offline payments already wait to be forwarded; ask for another tender"
    )]
    TooMany {
        /// The count limit.
        limit: i64,
    },
    /// The read was made in a way not taken offline (a swipe, by default).
    #[error(
        "the acquirer is unreachable and a card read by {mode} is not approved offline here; ask the customer to insert or tap the card, or for another tender"
    )]
    EntryMode {
        /// CHIP, CONTACTLESS or SWIPE.
        mode: String,
    },
    /// An online PIN needs the issuer: it cannot be verified offline.
    #[error(
        "the acquirer is unreachable and this card asks for its PIN to be checked online by the issuer; ask for another tender"
    )]
    OnlinePin,
    /// Contactless without cardholder verification above the limit.
    #[error(
        "the acquirer is unreachable and {amount} is above the offline contactless limit of {limit}; ask the customer to insert the card"
    )]
    OverContactlessLimit {
        /// The payment.
        amount: i64,
        /// The limit.
        limit: i64,
    },
    /// The oldest waiting one is too old.
    #[error(
        "the acquirer has been unreachable too long: an offline payment has waited over {hours} h to be forwarded; call store IT"
    )]
    TooOld {
        /// The age limit.
        hours: i64,
    },
}

impl OfflineRefusal {
    /// The reason code the register gets.
    pub fn code(&self) -> &'static str {
        match self {
            OfflineRefusal::Disabled => "OFFLINE_NOT_ALLOWED",
            OfflineRefusal::OverFloor { .. } => "OFFLINE_FLOOR_LIMIT",
            OfflineRefusal::OverTotal { .. } => "OFFLINE_TOTAL_LIMIT",
            OfflineRefusal::TooMany { .. } => "OFFLINE_COUNT_LIMIT",
            OfflineRefusal::TooOld { .. } => "OFFLINE_TOO_OLD",
            OfflineRefusal::EntryMode { .. } => "OFFLINE_ENTRY_MODE",
            OfflineRefusal::OnlinePin => "OFFLINE_ONLINE_PIN",
            OfflineRefusal::OverContactlessLimit { .. } => "OFFLINE_CVM_LIMIT",
        }
    }
}

impl OfflineLimits {
    /// Whether a card payment of `amount` may be approved offline, given what already
    /// waits to be forwarded in its currency, at `now_ms`.
    pub fn check(&self, amount: i64, waiting: &OfflineExposure, now_ms: i64) -> Result<(), OfflineRefusal> {
        if !self.card_payments {
            return Err(OfflineRefusal::Disabled);
        }
        if amount > self.floor_limit {
            return Err(OfflineRefusal::OverFloor { amount, limit: self.floor_limit });
        }
        if waiting.count >= self.max_count {
            return Err(OfflineRefusal::TooMany { limit: self.max_count });
        }
        if waiting.total.saturating_add(amount) > self.total_limit {
            return Err(OfflineRefusal::OverTotal { limit: self.total_limit });
        }
        if waiting.oldest_ms.is_some_and(|t| now_ms - t > self.max_age_hours * 3_600_000) {
            return Err(OfflineRefusal::TooOld { hours: self.max_age_hours });
        }
        Ok(())
    }

    /// Whether a card read of this kind may be approved offline at all (§8 of
    /// docs/card-reader-protocol.md): never with an online PIN (only the issuer can check
    /// it), only the listed entry modes, contactless without verification up to its limit.
    pub fn check_read(&self, amount: i64, entry_mode: &str, cvm: &str, pin_block: bool) -> Result<(), OfflineRefusal> {
        if pin_block || cvm == "ONLINE_PIN" {
            return Err(OfflineRefusal::OnlinePin);
        }
        if !self.entry_modes.iter().any(|m| m == entry_mode) {
            return Err(OfflineRefusal::EntryMode { mode: entry_mode.to_string() });
        }
        if entry_mode == "CONTACTLESS" && cvm != "CONSUMER_DEVICE" && amount > self.contactless_cvm_limit {
            return Err(OfflineRefusal::OverContactlessLimit { amount, limit: self.contactless_cvm_limit });
        }
        Ok(())
    }

    /// Checks values the types cannot; `Err` names the key.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.floor_limit < 0 {
            return Err(("offline.floor_limit", "must be 0 or more minor units"));
        }
        if self.total_limit < self.floor_limit {
            return Err(("offline.total_limit", "must be at least offline.floor_limit"));
        }
        if self.entry_modes.iter().any(|m| !["CHIP", "CONTACTLESS", "SWIPE"].contains(&m.as_str())) {
            return Err(("offline.entry_modes", "must list only CHIP, CONTACTLESS and SWIPE"));
        }
        if self.contactless_cvm_limit < 0 {
            return Err(("offline.contactless_cvm_limit", "must be 0 or more minor units"));
        }
        if !(0..=10_000).contains(&self.max_count) {
            return Err(("offline.max_count", "must be 0 to 10000"));
        }
        if !(1..=168).contains(&self.max_age_hours) {
            return Err((
                "offline.max_age_hours",
                "must be 1 to 168 (authorizations must reach the acquirer within days)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn waiting(total: i64, count: i64, oldest_hours_ago: Option<i64>) -> OfflineExposure {
        OfflineExposure { total, count, oldest_ms: oldest_hours_ago.map(|h| NOW - h * 3_600_000) }
    }

    #[test]
    fn each_limit_refuses_at_its_edge() {
        let l = OfflineLimits::default();
        let none = waiting(0, 0, None);
        assert_eq!(l.check(20_000, &none, NOW), Ok(()));
        assert_eq!(l.check(20_001, &none, NOW), Err(OfflineRefusal::OverFloor { amount: 20_001, limit: 20_000 }));
        assert_eq!(l.check(10_000, &waiting(190_000, 10, Some(1)), NOW), Ok(()));
        assert_eq!(
            l.check(10_001, &waiting(190_000, 10, Some(1)), NOW),
            Err(OfflineRefusal::OverTotal { limit: 200_000 })
        );
        assert_eq!(l.check(1, &waiting(100, 49, Some(1)), NOW), Ok(()));
        assert_eq!(l.check(1, &waiting(100, 50, Some(1)), NOW), Err(OfflineRefusal::TooMany { limit: 50 }));
        assert_eq!(l.check(1, &waiting(100, 1, Some(24)), NOW), Ok(()));
        assert_eq!(l.check(1, &waiting(100, 1, Some(25)), NOW), Err(OfflineRefusal::TooOld { hours: 24 }));
        let off = OfflineLimits { card_payments: false, ..OfflineLimits::default() };
        assert_eq!(off.check(1, &none, NOW), Err(OfflineRefusal::Disabled));
    }

    #[test]
    fn card_reads_offline_only_as_the_policy_allows() {
        let l = OfflineLimits::default();
        assert_eq!(l.check_read(1_000, "CHIP", "OFFLINE_PIN", false), Ok(()));
        assert_eq!(l.check_read(5_000, "CONTACTLESS", "NONE", false), Ok(()));
        assert_eq!(
            l.check_read(5_001, "CONTACTLESS", "NONE", false),
            Err(OfflineRefusal::OverContactlessLimit { amount: 5_001, limit: 5_000 })
        );
        assert_eq!(l.check_read(15_000, "CONTACTLESS", "CONSUMER_DEVICE", false), Ok(()));
        assert_eq!(
            l.check_read(100, "SWIPE", "SIGNATURE", false),
            Err(OfflineRefusal::EntryMode { mode: "SWIPE".into() })
        );
        assert_eq!(l.check_read(100, "CHIP", "ONLINE_PIN", true), Err(OfflineRefusal::OnlinePin));
        let swipes = OfflineLimits { entry_modes: vec!["SWIPE".into()], ..OfflineLimits::default() };
        assert_eq!(swipes.check_read(100, "SWIPE", "SIGNATURE", false), Ok(()));
        let bad = OfflineLimits { entry_modes: vec!["TAP".into()], ..OfflineLimits::default() };
        assert_eq!(bad.validate().map_err(|e| e.0), Err("offline.entry_modes"));
    }

    #[test]
    fn codes_and_messages_tell_the_cashier_what_to_do() {
        let e = OfflineRefusal::OverFloor { amount: 5, limit: 4 };
        assert_eq!(e.code(), "OFFLINE_FLOOR_LIMIT");
        assert!(e.to_string().contains("another tender"));
        assert!(OfflineLimits::default().validate().is_ok());
        let bad = OfflineLimits { total_limit: 1, ..OfflineLimits::default() };
        assert_eq!(bad.validate().map_err(|e| e.0), Err("offline.total_limit"));
    }
}
