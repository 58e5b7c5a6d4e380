//! The reconciliation of a day: what this terminal approved and refunded against what the
//! acquirer settles, entry by entry; with the acquirer's totals of the day (fees, the VAT
//! on them, chargebacks, payout), which are shown, not compared: a fee is no difference.

use super::{ReportError, Reports};
use crate::domain::ReturnState;
use crate::domain::SaleState;
use chrono::{DateTime, NaiveDate, Utc};
use posagent_acquirer_api::settlement::{SettlementReport, SettlementTotal, SettlementType};
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
    /// The acquirer's totals per currency, with fees and payout.
    pub settlement: Vec<SettlementTotal>,
}

/// What both sides must agree on: `SALE` or `RETURN`, the transaction, the amount.
type Key = (&'static str, String, i64);

/// One side's entry: its key, and the reference and currency shown with a difference.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: Key,
    reference: String,
    currency: String,
}

impl Entry {
    fn difference(self, kind: DifferenceKind) -> Difference {
        let (entry_type, payment_transaction_id, amount) = self.key;
        Difference {
            kind,
            entry_type,
            reference: self.reference,
            payment_transaction_id,
            amount,
            currency: self.currency,
        }
    }
}

impl Reports {
    /// Compares the day's approved sales and refunded returns with the acquirer's
    /// settlement report of that day.
    pub async fn reconcile(&self, date: NaiveDate) -> Result<Reconciliation, ReportError> {
        let local = self.local_entries(date).await?;
        let report = self.backend.settlement(date).await?;
        let (matched, differences) = compare(local, settled_entries(&report));
        Ok(Reconciliation { date, matched, differences, settlement: report.totals })
    }

    /// The day's approved sales (their captured amount) and refunded returns.
    async fn local_entries(&self, date: NaiveDate) -> Result<Vec<Entry>, ReportError> {
        let start =
            date.and_hms_opt(0, 0, 0).map(|t| DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)).unwrap_or_default();
        let on_day = |t: &DateTime<Utc>| t.date_naive() == date;
        let mut local = vec![];
        for s in self.journal.sales_since(start).await? {
            if s.state == SaleState::Approved && on_day(&s.updated_at) && s.captured_amount > 0 {
                if let Some(tx) = &s.payment_transaction_id {
                    local.push(Entry {
                        key: ("SALE", tx.clone(), s.captured_amount),
                        reference: s.reference.clone(),
                        currency: s.currency.code().to_string(),
                    });
                }
            }
        }
        for r in self.journal.returns_since(start).await? {
            if r.state == ReturnState::Refunded && on_day(&r.updated_at) {
                local.push(Entry {
                    key: ("RETURN", r.payment_transaction_id.clone(), r.amount),
                    reference: r.original_reference.clone(),
                    currency: r.currency.code().to_string(),
                });
            }
        }
        Ok(local)
    }
}

/// The acquirer's settled entries. Captures of one transaction are summed (a LATER sale
/// may be captured in parts); refunds stay one entry each, like the terminal's returns.
fn settled_entries(report: &SettlementReport) -> Vec<Entry> {
    let mut remote: Vec<Entry> = vec![];
    for e in &report.entries {
        let sale = e.kind == SettlementType::Sale;
        if sale {
            if let Some(existing) = remote.iter_mut().find(|x| x.key.0 == "SALE" && x.key.1 == e.payment_transaction_id)
            {
                existing.key.2 += e.amount;
                continue;
            }
        }
        remote.push(Entry {
            key: (if sale { "SALE" } else { "RETURN" }, e.payment_transaction_id.clone(), e.amount),
            reference: e.reference.clone(),
            currency: e.currency.clone(),
        });
    }
    remote
}

/// Pairs equal entries; what is left on either side is a difference.
fn compare(local: Vec<Entry>, mut remote: Vec<Entry>) -> (usize, Vec<Difference>) {
    let mut matched = 0;
    let mut differences = vec![];
    for entry in local {
        if let Some(i) = remote.iter().position(|r| r.key == entry.key) {
            remote.swap_remove(i);
            matched += 1;
        } else {
            differences.push(entry.difference(DifferenceKind::MissingAtAcquirer));
        }
    }
    differences.extend(remote.into_iter().map(|e| e.difference(DifferenceKind::MissingLocally)));
    (matched, differences)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &'static str, tx: &str, amount: i64) -> Entry {
        Entry { key: (kind, tx.into(), amount), reference: format!("R-{tx}"), currency: "SEK".into() }
    }

    #[test]
    fn equal_entries_match_and_the_rest_are_differences_on_their_side() {
        let local = vec![entry("SALE", "t1", 100), entry("SALE", "t2", 200), entry("RETURN", "t1", 50)];
        let remote = vec![entry("RETURN", "t1", 50), entry("SALE", "t1", 100), entry("SALE", "t2", 199)];
        let (matched, differences) = compare(local, remote);
        assert_eq!(matched, 2);
        let got: Vec<_> = differences.iter().map(|d| (d.kind, d.entry_type, d.amount)).collect();
        assert_eq!(
            got,
            [(DifferenceKind::MissingAtAcquirer, "SALE", 200), (DifferenceKind::MissingLocally, "SALE", 199)]
        );
    }

    #[test]
    fn a_refund_and_a_sale_of_one_transaction_do_not_match_each_other() {
        let (matched, differences) = compare(vec![entry("SALE", "t1", 50)], vec![entry("RETURN", "t1", 50)]);
        assert_eq!((matched, differences.len()), (0, 2));
    }
}
