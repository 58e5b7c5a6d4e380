//! Reading the outbox: the queue for the register and `/metrics`, the offline exposure,
//! and pruning what is done.

use super::{QUEUED_COLUMNS, queued_err, queued_row};
use crate::domain::{OfflineExposure, OpState, QueueSummary, QueuedOp};
use crate::store::{Journal, StoreError, sqlite};
use rusqlite::{OptionalExtension, params};

impl Journal {
    /// Queued operations, newest first, optionally of one state.
    pub async fn queue_list(&self, state: Option<OpState>, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let sql = format!(
                "SELECT {QUEUED_COLUMNS} FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2"
            );
            let mut stmt = conn.prepare(&sql).map_err(&err)?;
            let rows = stmt.query_map(params![state.map(OpState::as_str), limit as i64], queued_row).map_err(&err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(queued_err(path))
        })
        .await
    }

    /// One queued operation.
    pub async fn queued_op(&self, id: i64) -> Result<Option<QueuedOp>, StoreError> {
        self.call_grouped(move |conn, path| {
            conn.query_row(&format!("SELECT {QUEUED_COLUMNS} FROM outbox WHERE id = ?1"), params![id], queued_row)
                .optional()
                .map_err(queued_err(path))
        })
        .await
    }

    /// Counts by state and the age of the oldest waiting operation, from the indexes
    /// alone (no operation's row is read).
    pub async fn queue_summary(&self) -> Result<QueueSummary, StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let (pending, oldest_pending_ms) = conn
                .prepare_cached(
                    "SELECT COUNT(*), MIN(created_ms) FROM outbox INDEXED BY outbox_pending WHERE state = 'PENDING'",
                )
                .map_err(&err)?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&err)?;
            let count = |state: OpState| -> Result<i64, StoreError> {
                conn.prepare_cached("SELECT COUNT(*) FROM outbox INDEXED BY outbox_by_state WHERE state = ?1")
                    .map_err(&err)?
                    .query_row(params![state.as_str()], |r| r.get(0))
                    .map_err(&err)
            };
            Ok(QueueSummary { pending, dead: count(OpState::Dead)?, done: count(OpState::Done)?, oldest_pending_ms })
        })
        .await
    }

    /// Offline card approvals not yet forwarded, in `currency`.
    pub async fn offline_exposure(&self, currency: String) -> Result<OfflineExposure, StoreError> {
        self.call_grouped(move |conn, path| {
            conn.query_row(
                "SELECT COALESCE(SUM(amount), 0), COUNT(*), MIN(created_ms) FROM outbox
                 WHERE kind = 'AUTHORIZE' AND state = 'PENDING' AND currency = ?1",
                params![currency],
                |r| Ok(OfflineExposure { total: r.get(0)?, count: r.get(1)?, oldest_ms: r.get(2)? }),
            )
            .map_err(sqlite(path))
        })
        .await
    }

    /// Offline card approvals not yet forwarded, per currency (for `/metrics`).
    pub async fn offline_exposure_by_currency(&self) -> Result<Vec<(String, OfflineExposure)>, StoreError> {
        self.call_grouped(move |conn, path| {
            let mut stmt = conn
                .prepare(
                    "SELECT currency, COALESCE(SUM(amount), 0), COUNT(*), MIN(created_ms) FROM outbox
                     WHERE kind = 'AUTHORIZE' AND state = 'PENDING' AND currency IS NOT NULL
                     GROUP BY currency ORDER BY currency",
                )
                .map_err(sqlite(path))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, OfflineExposure { total: r.get(1)?, count: r.get(2)?, oldest_ms: r.get(3)? }))
                })
                .map_err(sqlite(path))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sqlite(path))
        })
        .await
    }

    /// Deletes operations done before `before_ms`, the card reads of offline payments
    /// refused before then, and final sales (with their events and keys) and returns last
    /// changed before then that no waiting or dead operation still needs; then
    /// checkpoints the WAL. Returns the rows deleted or cleared.
    pub async fn prune(&self, before_ms: i64) -> Result<usize, StoreError> {
        let before = chrono::DateTime::from_timestamp_millis(before_ms).unwrap_or_default().to_rfc3339();
        let finals: Vec<&'static str> =
            crate::domain::SaleState::ALL.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect();
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            let mut n = tx
                .execute("DELETE FROM outbox WHERE state = 'DONE' AND updated_ms < ?1", params![before_ms])
                .map_err(&err)?;
            // A refused offline payment keeps its record, not its card read.
            n += tx
                .execute(
                    "UPDATE outbox SET request = NULL WHERE state = 'DEAD' AND kind = 'AUTHORIZE'
                       AND request IS NOT NULL AND updated_ms < ?1",
                    params![before_ms],
                )
                .map_err(&err)?;
            let old_sales = format!(
                "SELECT id FROM sales WHERE updated_at < ?1 AND state IN ({}) AND NOT EXISTS
                   (SELECT 1 FROM outbox o WHERE o.group_key = sales.id AND o.state != 'DONE')",
                finals.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",")
            );
            for table in ["sale_events", "operations"] {
                n += tx
                    .execute(&format!("DELETE FROM {table} WHERE sale_id IN ({old_sales})"), params![before])
                    .map_err(&err)?;
            }
            n += tx.execute(&format!("DELETE FROM sales WHERE id IN ({old_sales})"), params![before]).map_err(&err)?;
            n += tx
                .execute(
                    "DELETE FROM returns WHERE updated_at < ?1 AND state != 'PENDING' AND NOT EXISTS
                       (SELECT 1 FROM outbox o WHERE o.subject_id = returns.id AND o.state != 'DONE')",
                    params![before],
                )
                .map_err(&err)?;
            tx.commit().map_err(&err)?;
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(&err)?;
            Ok(n)
        })
        .await
    }
}
