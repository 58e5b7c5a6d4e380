//! The journal's side of following the acquirer's event stream: the cursor (the last
//! event applied) and applying a transaction's news to its sale, both in one transaction.

use super::sales::{record_in, sale_in};
use super::{Journal, StoreError, corrupt, sqlite};
use crate::domain::Sale;
use chrono::{DateTime, Utc};
use posagent_acquirer_api::PaymentTransaction;
use rusqlite::{OptionalExtension, params};

/// The last event of the acquirer's stream the terminal applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCursor {
    /// Its position in the stream.
    pub seq: u64,
    /// Its id.
    pub event_id: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

impl Journal {
    /// Where the terminal is in the acquirer's event stream (`None`: at the start).
    pub async fn event_cursor(&self) -> Result<Option<EventCursor>, StoreError> {
        self.call_grouped(|conn, path| {
            let row: Option<(i64, String, String)> = conn
                .query_row("SELECT seq, event_id, occurred_at FROM event_cursor WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(sqlite(path))?;
            let Some((seq, event_id, at)) = row else { return Ok(None) };
            Ok(Some(EventCursor {
                seq: u64::try_from(seq).map_err(corrupt("event_cursor", "1"))?,
                event_id,
                occurred_at: DateTime::parse_from_rfc3339(&at)
                    .map_err(corrupt("event_cursor", "1"))?
                    .with_timezone(&Utc),
            }))
        })
        .await
    }

    /// Takes in what the acquirer reports of transactions (a page of its event stream,
    /// in order) for those that are the terminal's sales, and moves the cursor to
    /// `cursor` (`None`: back to the start of the stream) — in one transaction, so a page
    /// is applied once. Returns the sales that changed, each as it now is.
    pub async fn apply_acquirer_events(
        &self,
        cursor: Option<EventCursor>,
        transactions: Vec<PaymentTransaction>,
    ) -> Result<Vec<Sale>, StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let db = conn.savepoint().map_err(&err)?;
            let mut changed: Vec<Sale> = vec![];
            for tx in transactions {
                let id: Option<String> = db
                    .prepare_cached("SELECT id FROM sales WHERE reference = ?1")
                    .map_err(&err)?
                    .query_row(params![tx.payment_transaction_reference], |r| r.get(0))
                    .optional()
                    .map_err(&err)?;
                let Some(id) = id else { continue };
                let mut sale = sale_in(&db, path, &id)?;
                let followed = sale.follow_transaction(&tx);
                let taken = settle_taken_captures(&db, path, &mut sale, &tx)?;
                let detail = match (followed, taken) {
                    (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                    (a, b) => a.or(b),
                };
                if let Some(detail) = detail {
                    sale.updated_at = Utc::now();
                    record_in(&db, path, &sale, Some(&detail))?;
                    changed.retain(|s| s.id != sale.id);
                    changed.push(sale);
                }
            }
            match cursor {
                Some(c) => db
                    .execute(
                        "INSERT INTO event_cursor (id, seq, event_id, occurred_at) VALUES (1, ?1, ?2, ?3)
                         ON CONFLICT(id) DO UPDATE SET seq = ?1, event_id = ?2, occurred_at = ?3",
                        params![i64::try_from(c.seq).unwrap_or(i64::MAX), c.event_id, c.occurred_at.to_rfc3339()],
                    )
                    .map_err(&err)?,
                None => db.execute("DELETE FROM event_cursor", []).map_err(&err)?,
            };
            db.commit().map_err(&err)?;
            Ok(changed)
        })
        .await
    }
}

/// Captures queued for `sale` that the acquirer's transaction already holds (sent, the
/// answer lost, then a restart): finished here, in the same transaction, so the sale
/// never counts one capture as both captured and queued; the sync worker then finds them
/// finished and leaves them. A capture is the sale's own by the reference it was sent
/// with. Returns what was settled, for the journal.
fn settle_taken_captures(
    db: &rusqlite::Connection,
    path: &std::path::Path,
    sale: &mut Sale,
    tx: &PaymentTransaction,
) -> Result<Option<String>, StoreError> {
    let err = sqlite(path);
    let taken: std::collections::HashSet<&str> =
        tx.payment_captures.iter().filter_map(|c| c.payment_capture_reference.as_deref()).collect();
    if taken.is_empty() || sale.queued_capture_amount == 0 {
        return Ok(None);
    }
    let queued = super::outbox::pending_captures_in(db, path, &sale.id)?;
    let mut settled = vec![];
    for super::outbox::PendingCapture { id, amount, reference } in queued {
        if !reference.is_some_and(|r| taken.contains(r.as_str())) {
            continue;
        }
        db.prepare_cached(
            "UPDATE outbox SET state = 'DONE', result = 'taken by the acquirer (seen in its event stream)',
                    request = NULL, updated_ms = ?2 WHERE id = ?1 AND state = 'PENDING'",
        )
        .map_err(&err)?
        .execute(params![id, crate::domain::now_ms()])
        .map_err(&err)?;
        sale.queued_capture_amount = (sale.queued_capture_amount - amount).max(0);
        settled.push(amount.to_string());
    }
    Ok((!settled.is_empty()).then(|| format!("queued capture of {} taken by the acquirer", settled.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SaleState;
    use posagent_acquirer_api::TransactionState;

    fn tx(captured: i64, refunded: i64, state: &str) -> PaymentTransaction {
        serde_json::from_value(serde_json::json!({
            "payment_transaction_id": "krn:payment:eu1:transaction:1", "payment_transaction_reference": "R-1",
            "klarna_reference": "K1", "method": "KLARNA", "state": state, "amount": 100, "currency": "SEK",
            "captured_amount": captured, "refunded_amount": refunded,
            "created_at": "2026-11-26T00:00:00Z", "expires_at": "2026-12-24T00:00:00Z"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn cursor(seq: u64) -> Option<EventCursor> {
        Some(EventCursor { seq, event_id: format!("e{seq}"), occurred_at: Utc::now() })
    }

    #[tokio::test]
    async fn news_of_a_transaction_only_moves_its_sale_forward_and_the_cursor_with_it() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::NotFound(e.to_string()))?;
        let j = Journal::open(&dir.path().join("j.db"))?;
        let mut s: Sale = serde_json::from_value(serde_json::json!({
            "id": "s1", "reference": "R-1", "state": "APPROVED", "method": "KLARNA", "amount": 100,
            "currency": "SEK", "locale": "sv-SE", "created_at": Utc::now(), "updated_at": Utc::now(),
            "payment_transaction_id": "krn:payment:eu1:transaction:1", "transaction_state": "AUTHORIZED"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        s.state = SaleState::Approved;
        j.insert_sale(s).await?;
        assert_eq!(j.event_cursor().await?, None);

        // Captured, then refunded; an older report read afterwards changes nothing.
        let changed =
            j.apply_acquirer_events(cursor(2), vec![tx(100, 0, "COMPLETED"), tx(100, 30, "COMPLETED")]).await?;
        assert_eq!(changed.len(), 1, "one sale, as it ends up");
        assert_eq!(
            (changed[0].captured_amount, changed[0].refunded_amount, changed[0].transaction_state),
            (100, 30, Some(TransactionState::Completed))
        );
        assert!(j.apply_acquirer_events(cursor(3), vec![tx(0, 0, "AUTHORIZED")]).await?.is_empty());
        let s = j.sale("s1".into()).await?;
        assert_eq!((s.captured_amount, s.refunded_amount), (100, 30));
        assert_eq!(j.event_cursor().await?.map(|c| c.seq), Some(3));

        // Another terminal's transaction is not ours; the cursor can go back to the start.
        let mut other = tx(100, 0, "COMPLETED");
        other.payment_transaction_reference = "ELSEWHERE".into();
        assert!(j.apply_acquirer_events(None, vec![other]).await?.is_empty());
        assert_eq!(j.event_cursor().await?, None);
        Ok(())
    }
}
