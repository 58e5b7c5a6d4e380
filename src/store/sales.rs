//! Sales in the journal: insert, transition (row + event in one transaction), read,
//! and the idempotency keys of backend operations.

use super::{Journal, StoreError, corrupt, decode, sqlite};
use crate::domain::{Operation, Sale, SaleState};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::PaymentMethod;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

/// Namespace of posagent's idempotency keys (UUIDv5).
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5a1e_9f1c_3b7d_4e2a_8c60_d1f0_0b5e_7a01);

/// The idempotency key of `operation` on `sale_id` at `terminal`: deterministic, so a
/// retry after a crash re-uses it.
pub fn operation_key(terminal: &str, sale_id: &str, operation: &Operation) -> String {
    Uuid::new_v5(&KEY_NAMESPACE, format!("{terminal}/{sale_id}/{operation}").as_bytes()).to_string()
}

/// One journaled state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleEvent {
    /// Order within the sale.
    pub seq: i64,
    /// State entered.
    pub state: SaleState,
    /// What happened.
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Which sales [`Journal::sales`] lists: each bound is left out when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleFilter {
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub before: Option<DateTime<Utc>>,
    /// In this state.
    pub state: Option<SaleState>,
    /// By this method.
    pub method: Option<PaymentMethod>,
    /// At most this many.
    pub limit: usize,
}

/// A method as the journal's rows hold it.
fn method_name(m: PaymentMethod) -> String {
    serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn encode(sale: &Sale) -> Result<String, StoreError> {
    serde_json::to_string(sale).map_err(|source| StoreError::Encode { id: sale.id.clone(), source })
}

/// Writes `sale` and an event inside the caller's transaction.
pub(super) fn record_in(
    tx: &rusqlite::Connection,
    path: &std::path::Path,
    sale: &Sale,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    let err = sqlite(path);
    let data = encode(sale)?;
    let n = tx
        .prepare_cached("UPDATE sales SET state = ?2, data = ?3, updated_at = ?4 WHERE id = ?1")
        .map_err(&err)?
        .execute(params![sale.id, sale.state.as_str(), data, sale.updated_at.to_rfc3339()])
        .map_err(&err)?;
    if n != 1 {
        return Err(StoreError::NotFound(sale.id.clone()));
    }
    tx.prepare_cached(
        "INSERT INTO sale_events (sale_id, seq, state, detail, at)
         SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 FROM sale_events WHERE sale_id = ?1",
    )
    .map_err(&err)?
    .execute(params![sale.id, sale.state.as_str(), detail, sale.updated_at.to_rfc3339()])
    .map_err(&err)?;
    Ok(())
}

/// Reads a sale by id inside the caller's transaction.
pub(super) fn sale_in(tx: &rusqlite::Connection, path: &std::path::Path, id: &str) -> Result<Sale, StoreError> {
    let data: Option<String> = tx
        .prepare_cached("SELECT data FROM sales WHERE id = ?1")
        .map_err(sqlite(path))?
        .query_row(params![id], |r| r.get(0))
        .optional()
        .map_err(sqlite(path))?;
    let data = data.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    decode("sales", id, &data)
}

impl Journal {
    /// Inserts a new sale and its first event in one transaction.
    pub async fn insert_sale(&self, sale: Sale) -> Result<(), StoreError> {
        self.insert_sale_keyed(sale, None).await.map(|_| ())
    }

    /// Inserts a new sale and its first event, and with `first_key` (terminal and
    /// operation) the idempotency key of the first money-changing call it will make, in
    /// one transaction: one synced commit where there were two on a sale's way to its
    /// first call. Returns the key stored.
    pub async fn insert_sale_keyed(
        &self,
        sale: Sale,
        first_key: Option<(&str, &Operation)>,
    ) -> Result<Option<String>, StoreError> {
        let key = first_key.map(|(terminal, op)| (operation_key(terminal, &sale.id, op), op.name()));
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let data = encode(&sale)?;
            let tx = conn.savepoint().map_err(&err)?;
            tx.execute(
                "INSERT INTO sales (id, reference, state, data, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![sale.id, sale.reference, sale.state.as_str(), data, sale.created_at.to_rfc3339()],
            )
            .map_err(&err)?;
            tx.execute(
                "INSERT INTO sale_events (sale_id, seq, state, detail, at) VALUES (?1, 1, ?2, NULL, ?3)",
                params![sale.id, sale.state.as_str(), sale.created_at.to_rfc3339()],
            )
            .map_err(&err)?;
            if let Some((key, operation)) = &key {
                tx.execute(
                    "INSERT OR IGNORE INTO operations (sale_id, operation, idempotency_key, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![sale.id, operation, key, sale.created_at.to_rfc3339()],
                )
                .map_err(&err)?;
            }
            tx.commit().map_err(&err)?;
            Ok(key.map(|(k, _)| k))
        })
        .await
    }

    /// Writes the sale's new state and an event, atomically and durably.
    pub async fn record(&self, sale: Sale, detail: Option<String>) -> Result<(), StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
            record_in(&tx, path, &sale, detail.as_deref())?;
            tx.commit().map_err(&err)
        })
        .await
    }

    /// Reads a sale by id or by reference.
    pub async fn sale(&self, id_or_reference: String) -> Result<Sale, StoreError> {
        self.call_grouped(move |conn, path| {
            let data: Option<(String, String)> = conn
                .query_row(
                    "SELECT id, data FROM sales WHERE id = ?1 OR reference = ?1",
                    params![id_or_reference],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sqlite(path))?;
            let (id, data) = data.ok_or_else(|| StoreError::NotFound(id_or_reference.clone()))?;
            decode("sales", &id, &data)
        })
        .await
    }

    /// Sales not yet in a final state, and approved sales whose receipt has not come out
    /// yet, changed within `receipt_window` (resumed after a restart).
    pub async fn open_sales(&self) -> Result<Vec<Sale>, StoreError> {
        self.resumable_sales(chrono::TimeDelta::hours(1)).await
    }

    async fn resumable_sales(&self, receipt_window: chrono::TimeDelta) -> Result<Vec<Sale>, StoreError> {
        let since = chrono::Utc::now() - receipt_window;
        let finals: Vec<&'static str> = SaleState::ALL.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect();
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let mut stmt = conn.prepare("SELECT id, state, data FROM sales ORDER BY created_at").map_err(&err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .map_err(&err)?;
            let mut out = vec![];
            for row in rows {
                let (id, state, data) = row.map_err(&err)?;
                if !finals.contains(&state.as_str()) {
                    out.push(decode("sales", &id, &data)?);
                } else if state == SaleState::Approved.as_str() {
                    // Its receipt was held when the daemon stopped: print it now, unless
                    // the customer is long gone.
                    let sale: Sale = decode("sales", &id, &data)?;
                    if !sale.receipt_printed && sale.updated_at >= since {
                        out.push(sale);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// When the last sale was created (RFC 3339), by row order: one row read.
    pub async fn last_sale_created_at(&self) -> Result<Option<String>, StoreError> {
        self.call_grouped(move |conn, path| {
            conn.query_row("SELECT created_at FROM sales ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))
                .optional()
                .map_err(sqlite(path))
        })
        .await
    }

    /// Sales that pass `filter`, newest first (by creation: the row order). Creation
    /// times compare as the RFC 3339 text they are stored as, all in UTC. A sale whose
    /// customer is still choosing has no method yet (its row's is provisional).
    pub async fn sales(&self, filter: SaleFilter) -> Result<Vec<Sale>, StoreError> {
        let since = filter.since.map(|t| t.to_rfc3339());
        let before = filter.before.map(|t| t.to_rfc3339());
        let state = filter.state.map(SaleState::as_str);
        let method = filter.method.map(method_name);
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, data FROM sales
                     WHERE (?1 IS NULL OR created_at >= ?1) AND (?2 IS NULL OR created_at < ?2)
                       AND (?3 IS NULL OR state = ?3)
                       AND (?4 IS NULL OR (json_extract(data, '$.method') = ?4
                            AND COALESCE(json_extract(data, '$.choice.chosen'), 1) = 1))
                     ORDER BY rowid DESC LIMIT ?5",
                )
                .map_err(&err)?;
            let rows = stmt
                .query_map(params![since, before, state, method, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(&err)?;
            let mut out = vec![];
            for row in rows {
                let (id, data) = row.map_err(&err)?;
                out.push(decode("sales", &id, &data)?);
            }
            Ok(out)
        })
        .await
    }

    /// The events of a sale in order.
    pub async fn events(&self, sale_id: String) -> Result<Vec<SaleEvent>, StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let mut stmt = conn
                .prepare("SELECT seq, state, detail, at FROM sale_events WHERE sale_id = ?1 ORDER BY seq")
                .map_err(&err)?;
            let rows = stmt
                .query_map(params![sale_id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(&err)?;
            let mut out = vec![];
            for row in rows {
                let (seq, state, detail, at) = row.map_err(&err)?;
                let row = format!("{sale_id}/{seq}");
                let state = SaleState::parse(&state)
                    .ok_or_else(|| corrupt("sale_events", row.as_str())(format!("unknown state {state}")))?;
                let at = DateTime::parse_from_rfc3339(&at).map_err(corrupt("sale_events", row))?.with_timezone(&Utc);
                out.push(SaleEvent { seq, state, detail, at });
            }
            Ok(out)
        })
        .await
    }

    /// Stores (or finds) the idempotency key of `operation` on a sale, before the call is made.
    pub async fn operation_key(
        &self,
        terminal: &str,
        sale_id: &str,
        operation: &Operation,
    ) -> Result<String, StoreError> {
        let key = operation_key(terminal, sale_id, operation);
        let (sale_id, operation, k) = (sale_id.to_string(), operation.name(), key.clone());
        self.call_grouped(move |conn, path| {
            conn.execute(
                "INSERT OR IGNORE INTO operations (sale_id, operation, idempotency_key, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![sale_id, operation, k, Utc::now().to_rfc3339()],
            )
            .map_err(sqlite(path))?;
            Ok(())
        })
        .await?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let key = |t, s, op: Operation| operation_key(t, s, &op);
        assert_eq!(key("t", "s", Operation::Authorize), key("t", "s", Operation::Authorize));
        assert_ne!(key("t", "s", Operation::Authorize), key("t", "s", Operation::AuthorizeFinal));
        assert_ne!(key("t", "s1", Operation::Authorize), key("t", "s2", Operation::Authorize));
    }

    /// The keys made before operations were an enum, byte for byte: a journal written
    /// then resumes under the keys it already sent to the acquirer.
    #[test]
    fn keys_are_those_already_sent() {
        use crate::domain::{CaptureKey, ReadDigest};
        let ksn = [0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x01];
        let pinned = [
            (Operation::Authorize, "548400cb-d904-51c2-a5f1-81f262cc3f71"),
            (Operation::AuthorizeFinal, "788a5469-9ea5-587c-99ae-820ff1359808"),
            (Operation::AuthorizeRead(ReadDigest::of(&ksn)), "eeeb0b37-b9e1-5175-9d43-d76c71c328d3"),
            (Operation::Cancel, "cd8f09ae-8981-58a4-b641-1ca5112c9ec4"),
            (Operation::Reverse, "3eb32806-d701-5ec3-96ad-bfffe70fe32b"),
            (Operation::Capture(CaptureKey::Register("REG-1".into())), "1e107173-19ac-504f-8c56-e0c1c299c996"),
            (Operation::Capture(CaptureKey::Next { before: 0, amount: 500 }), "6b7fd0d1-66fe-5bed-b4e9-4dc1f1da518f"),
            (Operation::Void(None), "4d7b4195-01fd-5043-955a-d861ead4e628"),
            (Operation::Void(Some("REG-2".into())), "05de0da8-93df-5d1b-bbdf-fb7095cafc7d"),
            (Operation::Refund, "618fba91-aaef-5f4c-8cec-9fb82c8cc709"),
        ];
        for (op, key) in pinned {
            assert_eq!(operation_key("TERM-1", "sale-1", &op), key, "{op}");
        }
    }
}
