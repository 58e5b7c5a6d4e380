//! The journal of a ZVT register's transactions (`zvt_transactions`, migration 2): each
//! written before its result goes to the register, with the receipt and trace numbers
//! that come from its row id; the commit rule's state changes; the lookups by receipt
//! number that a reversal days later needs; and the end of day that closes them.

use super::{Journal, StoreError, corrupt, decode, sqlite};
use crate::domain::{NewZvtTransaction, ZvtDayTotals, ZvtTransaction, day_totals};
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

const TABLE: &str = "zvt_transactions";

fn write(conn: &Connection, path: &Path, t: &ZvtTransaction) -> Result<(), StoreError> {
    let data = serde_json::to_string(t).map_err(|source| StoreError::Encode { id: t.id.to_string(), source })?;
    let state: &'static str = t.state.into();
    conn.prepare_cached("UPDATE zvt_transactions SET state = ?2, data = ?3, updated_at = ?4 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![t.id, state, data, Utc::now().to_rfc3339()]))
        .map_err(sqlite(path))?;
    Ok(())
}

fn rows(
    conn: &Connection,
    path: &Path,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<ZvtTransaction>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite(path))?;
    let found: Vec<(i64, String)> =
        stmt.query_map(args, |r| Ok((r.get(0)?, r.get(1)?))).and_then(Iterator::collect).map_err(sqlite(path))?;
    found.into_iter().map(|(id, data)| decode(TABLE, &id.to_string(), &data)).collect()
}

fn one(conn: &Connection, path: &Path, id: i64) -> Result<ZvtTransaction, StoreError> {
    let data: Option<String> = conn
        .query_row("SELECT data FROM zvt_transactions WHERE id = ?1", params![id], |r| r.get(0))
        .optional()
        .map_err(sqlite(path))?;
    let data = data.ok_or_else(|| StoreError::NotFound(format!("ZVT transaction {id}")))?;
    decode(TABLE, &id.to_string(), &data)
}

impl Journal {
    /// Journals a ZVT transaction: its row gives the receipt and trace numbers, `render`
    /// makes the APDUs that report it from them (the status information and the
    /// receipts), and the row holds both before anything is sent.
    pub async fn zvt_record<F>(&self, new: NewZvtTransaction, render: F) -> Result<ZvtTransaction, StoreError>
    where
        F: FnOnce(&ZvtTransaction) -> Vec<Vec<u8>> + Send + 'static,
    {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let db = conn.savepoint().map_err(&err)?;
            let now = Utc::now();
            let (kind, state): (&'static str, &'static str) = (new.kind.into(), new.state.into());
            db.execute(
                "INSERT INTO zvt_transactions (receipt_no, kind, state, sale_id, data, created_at, updated_at) \
                 VALUES (0, ?1, ?2, ?3, '{}', ?4, ?4)",
                params![kind, state, new.sale_id, now.to_rfc3339()],
            )
            .map_err(&err)?;
            let id = db.last_insert_rowid();
            let mut record = new.into_record(id, vec![], now);
            record.sent = render(&record);
            db.execute("UPDATE zvt_transactions SET receipt_no = ?2 WHERE id = ?1", params![id, record.receipt_no()])
                .map_err(&err)?;
            write(&db, path, &record)?;
            db.commit().map_err(&err)?;
            Ok(record)
        })
        .await
    }

    /// Changes ZVT transaction `id` with `change` and journals it.
    pub async fn zvt_update<F>(&self, id: i64, change: F) -> Result<ZvtTransaction, StoreError>
    where
        F: FnOnce(&mut ZvtTransaction) + Send + 'static,
    {
        self.call_grouped(move |conn, path| {
            let db = conn.savepoint().map_err(sqlite(path))?;
            let mut record = one(&db, path, id)?;
            change(&mut record);
            write(&db, path, &record)?;
            db.commit().map_err(sqlite(path))?;
            Ok(record)
        })
        .await
    }

    /// The most recent transaction with receipt number `receipt_no`, of any kind (numbers
    /// wrap after 9999: the latest is the one a register's receipt names; an older one of
    /// another kind is never it).
    pub async fn zvt_by_receipt(&self, receipt_no: u16) -> Result<Option<ZvtTransaction>, StoreError> {
        self.call_grouped(move |conn, path| {
            let sql = "SELECT id, data FROM zvt_transactions WHERE receipt_no = ?1 ORDER BY id DESC LIMIT 1";
            Ok(rows(conn, path, sql, params![receipt_no])?.pop())
        })
        .await
    }

    /// The most recent ZVT transaction (what a repeat receipt sends again).
    pub async fn zvt_last(&self) -> Result<Option<ZvtTransaction>, StoreError> {
        self.call_grouped(|conn, path| {
            Ok(rows(conn, path, "SELECT id, data FROM zvt_transactions ORDER BY id DESC LIMIT 1", [])?.pop())
        })
        .await
    }

    /// The payments a previous run left under way (`Open`) or with their result not taken
    /// (`Pending`), oldest first.
    pub async fn zvt_unsettled(&self) -> Result<Vec<ZvtTransaction>, StoreError> {
        self.call_grouped(|conn, path| {
            rows(conn, path, "SELECT id, data FROM zvt_transactions WHERE state IN ('OPEN', 'PENDING') ORDER BY id", [])
        })
        .await
    }

    /// The committed payments whose capture was not handed to the checkout yet.
    pub async fn zvt_uncaptured(&self) -> Result<Vec<ZvtTransaction>, StoreError> {
        self.call_grouped(|conn, path| {
            let sql = "SELECT id, data FROM zvt_transactions WHERE state = 'COMMITTED' AND kind = 'PAYMENT' \
                       AND json_extract(data, '$.captured') IS NOT 1 ORDER BY id";
            rows(conn, path, sql, [])
        })
        .await
    }

    /// Closes the ZVT day: every settled transaction no end of day counted yet is counted
    /// by this one (one transaction), and its totals are journaled and returned.
    pub async fn zvt_close_day(&self) -> Result<ZvtDayTotals, StoreError> {
        self.call_grouped(|conn, path| {
            let err = sqlite(path);
            let db = conn.savepoint().map_err(&err)?;
            let sql =
                "SELECT id, data FROM zvt_transactions WHERE end_of_day IS NULL AND state NOT IN ('OPEN', 'PENDING') ORDER BY id";
            let open = rows(&db, path, sql, [])?;
            let now = Utc::now();
            db.execute("INSERT INTO zvt_end_of_day (closed_at, totals) VALUES (?1, '{}')", params![now.to_rfc3339()])
                .map_err(&err)?;
            let seq = db.last_insert_rowid();
            let totals = day_totals(seq, &open, now);
            let json =
                serde_json::to_string(&totals).map_err(|source| StoreError::Encode { id: seq.to_string(), source })?;
            db.execute("UPDATE zvt_end_of_day SET totals = ?2 WHERE seq = ?1", params![seq, json]).map_err(&err)?;
            for row in &open {
                db.execute("UPDATE zvt_transactions SET end_of_day = ?2 WHERE id = ?1", params![row.id, seq])
                    .map_err(&err)?;
            }
            db.commit().map_err(&err)?;
            Ok(totals)
        })
        .await
    }

    /// The last ZVT end of day, if any.
    pub async fn zvt_last_day(&self) -> Result<Option<ZvtDayTotals>, StoreError> {
        self.call_grouped(|conn, path| {
            let row: Option<(i64, String)> = conn
                .query_row("SELECT seq, totals FROM zvt_end_of_day ORDER BY seq DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(sqlite(path))?;
            row.map(|(seq, json)| serde_json::from_str(&json).map_err(corrupt("zvt_end_of_day", seq.to_string())))
                .transpose()
        })
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{ZvtKind, ZvtState};
    use posagent_acquirer_api::Currency;

    fn payment(state: ZvtState, card_type: u16, amount: i64) -> NewZvtTransaction {
        NewZvtTransaction {
            kind: ZvtKind::Payment,
            state,
            sale_id: None,
            return_id: None,
            reverses: None,
            amount,
            currency: Currency::parse("EUR").unwrap(),
            card_type: Some(card_type),
            result: 0,
        }
    }

    #[tokio::test]
    async fn numbers_come_from_the_row_and_a_day_closes_what_settled() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let first = j
            .zvt_record(payment(ZvtState::Pending, 10, 1000), |t| vec![vec![0x04, 0x0F, t.receipt_no() as u8]])
            .await
            .unwrap();
        assert_eq!((first.receipt_no(), first.trace_no(), first.sent.clone()), (1, 1, vec![vec![0x04, 0x0F, 1]]));
        let second = j.zvt_record(payment(ZvtState::Failed, 6, 500), |_| vec![]).await.unwrap();
        assert_eq!(second.receipt_no(), 2);
        assert_eq!(j.zvt_unsettled().await.unwrap(), vec![first.clone()]);
        let day = j.zvt_close_day().await.unwrap();
        assert_eq!(day.receipts, Some((2, 2)), "the pending payment waits for its outcome");
        j.zvt_update(first.id, |t| t.state = ZvtState::Committed).await.unwrap();
        let found = j.zvt_by_receipt(1).await.unwrap().unwrap();
        assert_eq!(found.state, ZvtState::Committed);
        assert!(j.zvt_by_receipt(3).await.unwrap().is_none());
        let day = j.zvt_close_day().await.unwrap();
        assert_eq!((day.seq, day.receipts, day.buckets[4]), (2, Some((1, 1)), (1, 1000)));
        assert_eq!(j.zvt_last_day().await.unwrap(), Some(day));
        assert_eq!(j.zvt_last().await.unwrap().unwrap().id, second.id);
    }
}
