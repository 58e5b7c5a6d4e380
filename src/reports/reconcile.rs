//! The reconciliation of a day: what this terminal approved and refunded against what the
//! acquirer settles, entry by entry.

use super::{ReportError, Reports};
use crate::domain::ReturnState;
use crate::domain::SaleState;
use chrono::{DateTime, NaiveDate, Utc};
use posagent_acquirer_api::settlement::SettlementType;
use serde::Serialize;

/// Which side lacks an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DifferenceKind {
    /// The terminal has it; the acquirer does not settle it.
    MissingAtAcquirer,
    /// The acquirer settles it; the terminal has no record of it.
    MissingLocally,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Which side lacks it.
    pub kind: DifferenceKind,
    /// `SALE` or `RETURN`.
    #[serde(rename = "type")]
    pub entry_type: &'static str,
    /// Sale reference.
    pub reference: String,
    /// Transaction.
    pub payment_transaction_id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
}

/// The reconciliation of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Entries both sides agree on.
    pub matched: usize,
    /// Every difference.
    pub differences: Vec<Difference>,
}

type Key = (&'static str, String, i64);

impl Reports {
    /// Compares the day's approved sales and refunded returns with the acquirer's
    /// settlement report of that day.
    pub async fn reconcile(&self, date: NaiveDate) -> Result<Reconciliation, ReportError> {
        let start =
            date.and_hms_opt(0, 0, 0).map(|t| DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)).unwrap_or_default();
        let on_day = |t: &DateTime<Utc>| t.date_naive() == date;
        let mut local: Vec<(Key, String, String)> = vec![];
        for s in self.journal.sales_since(start).await? {
            if s.state == SaleState::Approved && on_day(&s.updated_at) && s.captured_amount > 0 {
                if let Some(tx) = &s.payment_transaction_id {
                    local.push((
                        ("SALE", tx.clone(), s.captured_amount),
                        s.reference.clone(),
                        s.currency.code().to_string(),
                    ));
                }
            }
        }
        for r in self.journal.returns_since(start).await? {
            if r.state == ReturnState::Refunded && on_day(&r.updated_at) {
                local.push((
                    ("RETURN", r.payment_transaction_id.clone(), r.amount),
                    r.original_reference.clone(),
                    r.currency.code().to_string(),
                ));
            }
        }
        let report = self.backend.settlement(date).await?;
        // Captures of one transaction are summed (a LATER sale may be captured in parts);
        // refunds stay one entry each, like the terminal's returns.
        let mut remote: Vec<(Key, String, String)> = vec![];
        for e in &report.entries {
            if e.kind == SettlementType::Sale {
                if let Some(existing) =
                    remote.iter_mut().find(|(k, ..)| k.0 == "SALE" && k.1 == e.payment_transaction_id)
                {
                    existing.0.2 += e.amount;
                    continue;
                }
                remote.push((
                    ("SALE", e.payment_transaction_id.clone(), e.amount),
                    e.reference.clone(),
                    e.currency.clone(),
                ));
            } else {
                remote.push((
                    ("RETURN", e.payment_transaction_id.clone(), e.amount),
                    e.reference.clone(),
                    e.currency.clone(),
                ));
            }
        }
        let mut matched = 0;
        let mut differences = vec![];
        for (key, reference, currency) in local {
            if let Some(i) = remote.iter().position(|(k, ..)| *k == key) {
                remote.swap_remove(i);
                matched += 1;
            } else {
                differences.push(Difference {
                    kind: DifferenceKind::MissingAtAcquirer,
                    entry_type: key.0,
                    reference,
                    payment_transaction_id: key.1,
                    amount: key.2,
                    currency,
                });
            }
        }
        for (key, reference, currency) in remote {
            differences.push(Difference {
                kind: DifferenceKind::MissingLocally,
                entry_type: key.0,
                reference,
                payment_transaction_id: key.1,
                amount: key.2,
                currency,
            });
        }
        Ok(Reconciliation { date, matched, differences })
    }
}
