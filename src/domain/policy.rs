//! The store's offline limits, as configured and as the checkout reads them (reloaded
//! without a restart).

use serde::Deserialize;
use std::sync::{Arc, RwLock};

/// The offline limits in force, shared by the checkout and replaced on reload.
pub type SharedLimits = Arc<RwLock<OfflineLimits>>;

/// `[offline]` in the store config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineLimits {
    /// Whether card payments may be approved offline at all.
    #[serde(default = "yes")]
    pub card_payments: bool,
    /// Largest single offline card payment, minor units.
    #[serde(default = "default_floor")]
    pub floor_limit: i64,
    /// Most unforwarded offline card payments in total per currency, minor units.
    #[serde(default = "default_total")]
    pub total_limit: i64,
    /// Most unforwarded offline card payments.
    #[serde(default = "default_count")]
    pub max_count: i64,
    /// No offline approvals once the oldest unforwarded one is this old, in hours.
    #[serde(default = "default_age")]
    pub max_age_hours: i64,
    /// How a card may have been read for an offline approval (`CHIP`, `CONTACTLESS`,
    /// `SWIPE`); a swipe is not taken offline unless listed.
    #[serde(default = "default_entry_modes")]
    pub entry_modes: Vec<String>,
    /// Largest offline contactless payment without cardholder verification, minor
    /// units (a phone or watch that verified the customer may go up to the floor limit).
    #[serde(default = "default_contactless_limit")]
    pub contactless_cvm_limit: i64,
}

fn default_entry_modes() -> Vec<String> {
    vec!["CHIP".into(), "CONTACTLESS".into()]
}
fn default_contactless_limit() -> i64 {
    5_000
}

fn yes() -> bool {
    true
}
fn default_floor() -> i64 {
    20_000
}
fn default_total() -> i64 {
    200_000
}
fn default_count() -> i64 {
    50
}
fn default_age() -> i64 {
    24
}

impl Default for OfflineLimits {
    fn default() -> Self {
        OfflineLimits {
            card_payments: yes(),
            floor_limit: default_floor(),
            total_limit: default_total(),
            max_count: default_count(),
            max_age_hours: default_age(),
            entry_modes: default_entry_modes(),
            contactless_cvm_limit: default_contactless_limit(),
        }
    }
}
