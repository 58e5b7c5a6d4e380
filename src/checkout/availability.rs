//! "May the register show the Klarna button for this amount?" — asked before a sale, with
//! the last answers cached (with their age) so a busy till does not ask the acquirer for
//! every keystroke, and Klarna's wording stays displayable while the acquirer is away.
//! Offline, Klarna is never offered.

use super::engine::Checkout;
use crate::backend::BackendError;
use chrono::{DateTime, Utc};
use posagent_acquirer_api::{AvailabilityQuery, InteroperabilityStatus, PaymentOption, PresentationInstruction};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long an answer is reused for the same question.
const FRESH_SECS: i64 = 30;
/// Answers kept.
const CACHE_SIZE: usize = 64;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Source {
    /// Asked the acquirer now.
    Live,
    /// A recent answer to the same question.
    Cache,
}

/// The answer for the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KlarnaAvailability {
    /// Whether to offer Klarna.
    pub available: bool,
    /// Klarna's interoperability status, when known.
    pub status: Option<InteroperabilityStatus>,
    /// Klarna's instruction (`SHOW_KLARNA`, `PRESELECT_KLARNA`, `SHOW_ONLY_KLARNA`,
    /// `HIDE_KLARNA`), when the acquirer gave one.
    pub instruction: Option<PresentationInstruction>,
    /// Why not, when not (`OFFLINE`, `AMOUNT_OUT_OF_RANGE`, …).
    pub reason: Option<String>,
    /// Klarna's payment option for the locale (the last known, even offline, for display).
    pub payment_option: Option<PaymentOption>,
    /// When the acquirer answered.
    pub checked_at: Option<DateTime<Utc>>,
    /// Seconds since then.
    pub age_secs: Option<i64>,
    /// Live or cached.
    pub source: Source,
}

#[derive(Clone)]
struct Entry {
    status: InteroperabilityStatus,
    instruction: Option<PresentationInstruction>,
    reason: Option<String>,
    payment_option: Option<PaymentOption>,
    at: DateTime<Utc>,
}

/// The cache, keyed by (locale, amount).
#[derive(Default)]
pub(super) struct AvailabilityCache {
    entries: Mutex<HashMap<(String, i64), Entry>>,
}

impl AvailabilityCache {
    fn get(&self, key: &(String, i64)) -> Option<Entry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    fn put(&self, key: (String, i64), e: Entry) {
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= CACHE_SIZE && !m.contains_key(&key) {
            if let Some(oldest) = m.iter().min_by_key(|(_, v)| v.at).map(|(k, _)| k.clone()) {
                m.remove(&oldest);
            }
        }
        m.insert(key, e);
    }

    fn wording(&self, locale: &str) -> Option<(PaymentOption, DateTime<Utc>)> {
        let m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        m.iter()
            .filter(|((l, _), e)| l == locale && e.payment_option.is_some())
            .max_by_key(|(_, e)| e.at)
            .and_then(|(_, e)| e.payment_option.clone().map(|d| (d, e.at)))
    }
}

fn answer(e: &Entry, source: Source, now: DateTime<Utc>) -> KlarnaAvailability {
    KlarnaAvailability {
        available: e.status.offers_klarna() && e.instruction != Some(PresentationInstruction::HideKlarna),
        status: Some(e.status),
        instruction: e.instruction,
        reason: e.reason.clone(),
        payment_option: e.payment_option.clone(),
        checked_at: Some(e.at),
        age_secs: Some((now - e.at).num_seconds()),
        source,
    }
}

impl Checkout {
    /// Whether Klarna may be offered for `amount` in the store's country and currency.
    pub async fn klarna_availability(
        &self,
        amount: i64,
        locale: Option<String>,
        interoperability_token: Option<String>,
    ) -> Result<KlarnaAvailability, BackendError> {
        let store = self.store();
        let locale = locale.unwrap_or_else(|| store.locale.clone());
        let key = (locale.clone(), amount);
        let now = Utc::now();
        let cache = self.availability_cache();
        if interoperability_token.is_none() && self.backend().connectivity().is_online() {
            if let Some(e) = cache.get(&key).filter(|e| (now - e.at).num_seconds() < FRESH_SECS) {
                return Ok(answer(&e, Source::Cache, now));
            }
        }
        let q = AvailabilityQuery {
            country: store.country.clone(),
            currency: store.currency,
            amount,
            locale: locale.clone(),
            interoperability_token: interoperability_token.clone(),
        };
        let live = if self.backend().connectivity().should_try() {
            self.backend().availability(&q).await
        } else {
            Err(BackendError::Offline)
        };
        match live {
            Ok(a) => {
                let e = Entry {
                    status: a.status,
                    instruction: a.instruction,
                    reason: a.status_reason,
                    payment_option: a.payment_option,
                    at: now,
                };
                // An answer for one customer's interoperability token is that customer's:
                // it is never served to a query without one.
                if interoperability_token.is_none() {
                    cache.put(key, e.clone());
                }
                Ok(answer(&e, Source::Live, now))
            }
            Err(err) if err.is_unreachable() => {
                let last = cache.wording(&locale);
                Ok(KlarnaAvailability {
                    available: false,
                    status: None,
                    instruction: None,
                    reason: Some("OFFLINE".into()),
                    age_secs: last.as_ref().map(|(_, at)| (now - *at).num_seconds()),
                    checked_at: last.as_ref().map(|(_, at)| *at),
                    payment_option: last.map(|(d, _)| d),
                    source: Source::Cache,
                })
            }
            Err(err) => Err(err),
        }
    }
}
