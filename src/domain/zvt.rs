//! A ZVT register's transaction as the terminal journals it: the payment, reversal or
//! refund, the receipt and trace numbers the register printed, whether the register took
//! the result (the ZVT commit rule), and the bytes to send again on a repeat receipt.

use chrono::{DateTime, Utc};
use posagent_acquirer_api::Currency;
use serde::{Deserialize, Serialize};

/// Receipt numbers run 0001–9999, then 0001 again.
pub const RECEIPT_NUMBERS: i64 = 9999;
/// Trace numbers run 000001–999999, then 000001 again.
pub const TRACE_NUMBERS: i64 = 999_999;

/// What a ZVT transaction was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ZvtKind {
    /// An Authorization (06 01).
    Payment,
    /// A Reversal (06 30) of an earlier payment.
    Reversal,
    /// A Refund (06 31) against an earlier sale.
    Refund,
}

/// Where a ZVT transaction is in the commit rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ZvtState {
    /// A payment under way: its sale started, no result yet (a restart finds it here and
    /// cancels or voids the sale: the register is gone).
    Open,
    /// The result is being sent; the register has not acknowledged it and its receipts.
    Pending,
    /// The register took the result: the transaction counts.
    Committed,
    /// The register did not take an approved payment's result: the payment was reversed.
    Reversed,
    /// Not approved (declined, aborted, refused): nothing counts.
    Failed,
}

/// One journaled ZVT transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZvtTransaction {
    /// Row id: the receipt and trace numbers count from it.
    pub id: i64,
    /// What it was.
    pub kind: ZvtKind,
    /// Where it is.
    pub state: ZvtState,
    /// The sale paid, reversed or refunded.
    pub sale_id: Option<String>,
    /// The return of a refund.
    pub return_id: Option<String>,
    /// The receipt number of the payment a reversal reversed.
    pub original_receipt_no: Option<u16>,
    /// The trace number of the payment a reversal reversed.
    pub original_trace_no: Option<u32>,
    /// Amount, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// The ZVT card-type id reported (Klarna: the configured one).
    pub card_type: Option<u16>,
    /// The result code reported (`00` approved).
    pub result: u8,
    /// The APDUs sent for it — the status information and the receipts — in order, for
    /// a repeat receipt.
    #[serde(default)]
    pub sent: Vec<Vec<u8>>,
    /// The reversal of this payment (the commit rule's, or a register's 06 30).
    #[serde(default)]
    pub reversed_by: Option<i64>,
    /// A committed payment's capture was handed to the checkout (journaled and sent, or
    /// queued): a restart before it captures again, under the same key.
    #[serde(default)]
    pub captured: bool,
    /// When it was journaled.
    pub created_at: DateTime<Utc>,
}

impl ZvtTransaction {
    /// The receipt number (`87`).
    pub fn receipt_no(&self) -> u16 {
        receipt_number_of(self.id)
    }

    /// The trace number (`0B`).
    pub fn trace_no(&self) -> u32 {
        u32::try_from((self.id - 1).rem_euclid(TRACE_NUMBERS) + 1).unwrap_or(1)
    }
}

/// The receipt number of row `id`.
pub fn receipt_number_of(id: i64) -> u16 {
    u16::try_from((id - 1).rem_euclid(RECEIPT_NUMBERS) + 1).unwrap_or(1)
}

/// A transaction to journal; its row id and numbers come from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewZvtTransaction {
    /// What it is.
    pub kind: ZvtKind,
    /// Where it starts: `Pending` for an approval the register must take, `Failed` else.
    pub state: ZvtState,
    /// The sale.
    pub sale_id: Option<String>,
    /// The return of a refund.
    pub return_id: Option<String>,
    /// The payment a reversal reversed: (row id, receipt number, trace number).
    pub reverses: Option<(i64, u16, u32)>,
    /// Amount, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// The card-type id reported.
    pub card_type: Option<u16>,
    /// The result code reported.
    pub result: u8,
}

impl NewZvtTransaction {
    /// The record under row `id`, with the APDUs `sent`.
    pub fn into_record(self, id: i64, sent: Vec<Vec<u8>>, now: DateTime<Utc>) -> ZvtTransaction {
        ZvtTransaction {
            id,
            kind: self.kind,
            state: self.state,
            sale_id: self.sale_id,
            return_id: self.return_id,
            original_receipt_no: self.reverses.map(|r| r.1),
            original_trace_no: self.reverses.map(|r| r.2),
            amount: self.amount,
            currency: self.currency,
            card_type: self.card_type,
            result: self.result,
            sent,
            reversed_by: None,
            captured: false,
            created_at: now,
        }
    }
}

/// The totals one end of day reported, per ZVT bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZvtDayTotals {
    /// The end of day's number.
    pub seq: i64,
    /// The first and last receipt numbers it counted (none: nothing to count).
    pub receipts: Option<(u16, u16)>,
    /// Per bucket (girocard, JCB, Eurocard, American Express, VISA, Diners, others): the
    /// number of payments and their total net of refunds, minor units.
    pub buckets: [(u32, i64); 7],
    /// When it was closed.
    pub closed_at: DateTime<Utc>,
}

/// The end-of-day bucket (BMP 60's order: girocard, JCB, Eurocard, American Express,
/// VISA, Diners, others) of ZVT card-type `id` [PA00P015 §12]; Klarna and everything
/// else are "others".
pub fn day_bucket(card_type: Option<u16>) -> usize {
    match card_type {
        Some(5) => 0,
        Some(14) => 1,
        Some(6) => 2,
        Some(8) => 3,
        Some(10 | 11 | 13) => 4,
        Some(12) => 5,
        _ => 6,
    }
}

/// The totals of `rows` (the transactions an end of day closes), as the acquirer booked
/// them that day: a payment the register took (committed, or reversed later by a 06 30)
/// counted in its bucket; a 06 30 reversal and a refund taken off their bucket's total;
/// a payment the commit rule voided, and what failed, count nothing.
pub fn day_totals(seq: i64, rows: &[ZvtTransaction], closed_at: DateTime<Utc>) -> ZvtDayTotals {
    let mut buckets = [(0u32, 0i64); 7];
    for row in rows {
        let bucket = &mut buckets[day_bucket(row.card_type)];
        let taken = row.state == ZvtState::Committed || (row.state == ZvtState::Reversed && row.reversed_by.is_some());
        match row.kind {
            ZvtKind::Payment if taken => *bucket = (bucket.0 + 1, bucket.1 + row.amount),
            ZvtKind::Reversal | ZvtKind::Refund if row.state == ZvtState::Committed => bucket.1 -= row.amount,
            _ => {}
        }
    }
    let receipts = rows.first().zip(rows.last()).map(|(first, last)| (first.receipt_no(), last.receipt_no()));
    ZvtDayTotals { seq, receipts, buckets, closed_at }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_count_from_the_row_and_wrap() {
        assert_eq!(receipt_number_of(1), 1);
        assert_eq!(receipt_number_of(9999), 9999);
        assert_eq!(receipt_number_of(10_000), 1);
        let mut t = NewZvtTransaction {
            kind: ZvtKind::Payment,
            state: ZvtState::Pending,
            sale_id: None,
            return_id: None,
            reverses: None,
            amount: 1,
            currency: Currency::parse("EUR").unwrap(),
            card_type: None,
            result: 0,
        }
        .into_record(999_999, vec![], Utc::now());
        assert_eq!((t.receipt_no(), t.trace_no()), (99, 999_999));
        t.id = 1_000_000;
        assert_eq!(t.trace_no(), 1);
    }

    fn row(id: i64, kind: ZvtKind, state: ZvtState, card_type: Option<u16>, amount: i64) -> ZvtTransaction {
        NewZvtTransaction {
            kind,
            state,
            sale_id: None,
            return_id: None,
            reverses: None,
            amount,
            currency: Currency::parse("EUR").unwrap(),
            card_type,
            result: 0,
        }
        .into_record(id, vec![], Utc::now())
    }

    #[test]
    fn a_day_counts_committed_payments_net_of_refunds_per_bucket() {
        let mut reversed = row(9, ZvtKind::Payment, ZvtState::Reversed, Some(254), 400);
        reversed.reversed_by = Some(10);
        let rows = [
            row(6, ZvtKind::Payment, ZvtState::Reversed, Some(254), 900),
            row(7, ZvtKind::Payment, ZvtState::Committed, Some(10), 1000),
            row(8, ZvtKind::Payment, ZvtState::Committed, Some(254), 2500),
            reversed,
            row(10, ZvtKind::Reversal, ZvtState::Committed, Some(254), 400),
            row(11, ZvtKind::Payment, ZvtState::Failed, Some(6), 700),
            row(12, ZvtKind::Refund, ZvtState::Committed, Some(254), 500),
            row(13, ZvtKind::Payment, ZvtState::Committed, Some(5), 300),
        ];
        let t = day_totals(3, &rows, Utc::now());
        assert_eq!(t.receipts, Some((6, 13)));
        // Klarna: 2500 + 400 (taken, reversed by 06 30) - 400 (that reversal) - 500 (refund);
        // the 900 the commit rule voided counts nothing.
        assert_eq!(t.buckets, [(1, 300), (0, 0), (0, 0), (0, 0), (1, 1000), (0, 0), (2, 2000)]);
        assert_eq!(day_totals(4, &[], Utc::now()).receipts, None);
    }
}
