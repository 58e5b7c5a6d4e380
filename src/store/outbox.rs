//! The outbox table: operations for the acquirer, queued in the same transaction as the
//! sale or return state that produced them, taken in order per group, finished together
//! with the record they update.

use super::returns::{return_in, save_return_in};
use super::sales::{record_in, sale_in};
use super::{Journal, StoreError, corrupt, decode, sqlite};
use crate::domain::{
    Behind, DueOp, Effect, Finish, NewOp, OfflineExposure, OpKind, OpState, QueueSummary, QueuedOp, Subject,
};
use crate::domain::{ReturnRecord, Sale};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// The record after a finished operation changed it (for the event stream).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Patched {
    /// No record changed.
    Nothing,
    /// The sale as now journaled.
    Sale(Box<Sale>),
    /// The return as now journaled.
    Return(Box<ReturnRecord>),
    /// The operation was already finished (an answer applied twice changes nothing).
    Unchanged,
}

/// A capture queued for a sale and not yet taken by the acquirer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCapture {
    /// Its queue id.
    pub id: i64,
    /// Amount, minor units.
    pub amount: i64,
    /// The `payment_capture_reference` it is sent with (how the acquirer's transaction
    /// names it once taken).
    pub reference: Option<String>,
}

/// The captures of sale `sale_id` still queued, inside the caller's connection or
/// transaction.
pub(super) fn pending_captures_in(
    conn: &Connection,
    path: &Path,
    sale_id: &str,
) -> Result<Vec<PendingCapture>, StoreError> {
    let err = sqlite(path);
    let rows: Vec<(i64, i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT id, amount, request FROM outbox WHERE subject_id = ?1 AND kind = 'CAPTURE' AND state = 'PENDING'",
        )
        .map_err(&err)?
        .query_map(params![sale_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(&err)?
        .collect::<Result<_, _>>()
        .map_err(&err)?;
    Ok(rows
        .into_iter()
        .map(|(id, amount, request)| {
            let reference = request
                .and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
                .and_then(|v| v["payment_capture_reference"].as_str().map(str::to_string));
            PendingCapture { id, amount, reference }
        })
        .collect())
}

/// Inserts `op` (PENDING, due at `due_ms`) on `conn` and returns its queue id; an
/// operation whose key is already queued is kept as it is (a retried request queues
/// nothing new) and its id returned.
pub(super) fn enqueue_in(
    conn: &Connection,
    path: &Path,
    op: &NewOp,
    now_ms: i64,
    due_ms: i64,
) -> Result<i64, StoreError> {
    let request = serde_json::to_string(&op.request)
        .map_err(|source| StoreError::Encode { id: op.idempotency_key.clone(), source })?;
    let err = sqlite(path);
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO outbox (group_key, subject_kind, subject_id, kind, idempotency_key,
                 payment_transaction_id, request, amount, currency, state, created_ms, next_attempt_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'PENDING', ?10, ?11, ?10)",
        )
        .map_err(&err)?
        .execute(params![
            op.group,
            op.subject.as_str(),
            op.subject_id,
            op.kind.as_str(),
            op.idempotency_key,
            op.payment_transaction_id,
            request,
            op.amount,
            op.currency,
            now_ms,
            due_ms
        ])
        .map_err(&err)?;
    if inserted == 1 {
        return Ok(conn.last_insert_rowid());
    }
    conn.prepare_cached("SELECT id FROM outbox WHERE idempotency_key = ?1")
        .map_err(&err)?
        .query_row(params![op.idempotency_key], |r| r.get(0))
        .map_err(&err)
}

const QUEUED_COLUMNS: &str = "id, group_key, subject_kind, subject_id, kind, state, idempotency_key, \
     payment_transaction_id, amount, currency, attempts, last_error, created_ms, next_attempt_ms, updated_ms";

/// A value of outbox row `id` this build does not know, carried out of [`queued_row`].
#[derive(Debug, thiserror::Error)]
#[error("unknown {0}")]
struct UnknownValue(String, i64);

fn queued_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueuedOp> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(4)?;
    let state: String = r.get(5)?;
    let bad = |i: usize, v: &str| {
        let e = UnknownValue(v.to_string(), id);
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    };
    Ok(QueuedOp {
        id,
        group: r.get(1)?,
        subject: r.get(2)?,
        subject_id: r.get(3)?,
        kind: OpKind::parse(&kind).ok_or_else(|| bad(4, &kind))?,
        state: OpState::parse(&state).ok_or_else(|| bad(5, &state))?,
        idempotency_key: r.get(6)?,
        payment_transaction_id: r.get(7)?,
        amount: r.get(8)?,
        currency: r.get(9)?,
        attempts: r.get(10)?,
        last_error: r.get(11)?,
        created_ms: r.get(12)?,
        next_attempt_ms: r.get(13)?,
        updated_ms: r.get(14)?,
    })
}

/// The error of a read of [`queued_row`]s: [`StoreError::CorruptRow`] for a value it
/// does not know.
fn queued_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| match e {
        rusqlite::Error::FromSqlConversionFailure(i, t, source) => match source.downcast::<UnknownValue>() {
            Ok(bad) => corrupt("outbox", bad.1.to_string())(*bad),
            Err(source) => sqlite(path)(rusqlite::Error::FromSqlConversionFailure(i, t, source)),
        },
        other => sqlite(path)(other),
    }
}

/// How many of the operations `ids` still hold a request with a card read (an offline
/// authorization not yet forwarded).
fn forwarded_card_reads(tx: &Connection, path: &Path, ids: &[i64]) -> Result<usize, StoreError> {
    let err = sqlite(path);
    let mut n = 0;
    let mut q = tx
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE id = ?1 AND kind = ?2 AND request IS NOT NULL")
        .map_err(&err)?;
    for id in ids {
        let c: i64 = q.query_row(params![id, OpKind::Authorize.as_str()], |r| r.get(0)).map_err(&err)?;
        n += usize::try_from(c).unwrap_or(0);
    }
    Ok(n)
}

/// Finishes operation `finish.id` inside the caller's transaction (see [`Journal::finish_op`]).
fn finish_in(tx: &Connection, path: &Path, finish: Finish) -> Result<Patched, StoreError> {
    let Finish { id, state, result, effect, behind } = finish;
    let err = sqlite(path);
    let row: Option<(String, String, String)> = tx
        .prepare_cached("SELECT subject_id, group_key, state FROM outbox WHERE id = ?1")
        .map_err(&err)?
        .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(&err)?;
    let (subject_id, group, current) = row.ok_or_else(|| StoreError::NotFound(format!("queued operation {id}")))?;
    // An answer applied twice (the register's call and the worker) changes nothing.
    if current != OpState::Pending.as_str() {
        return Ok(Patched::Unchanged);
    }
    let now = crate::domain::now_ms();
    // A forwarded card read is not kept once the acquirer has it.
    let (result_col, error_col) = match state {
        OpState::Done => (Some(result.as_str()), None),
        _ => (None, Some(result.as_str())),
    };
    tx.prepare_cached(
        "UPDATE outbox SET state = ?2, result = ?3, last_error = COALESCE(?4, last_error), updated_ms = ?5,
                    attempts = attempts + 1,
                    request = CASE WHEN ?2 = 'DONE' THEN NULL ELSE request END
             WHERE id = ?1",
    )
    .map_err(&err)?
    .execute(params![id, state.as_str(), result_col, error_col, now])
    .map_err(&err)?;
    if let Behind::Die { why } = behind {
        kill_behind(tx, path, &group, id, &why, now)?;
    }
    patch_subject(tx, path, &subject_id, effect)
}

/// The operations queued after operation `id` in its group die with it (`why` is their
/// refusal), and each record they belong to changes by [`Effect::dropped`], in the same
/// transaction.
fn kill_behind(tx: &Connection, path: &Path, group: &str, id: i64, why: &str, now: i64) -> Result<(), StoreError> {
    let err = sqlite(path);
    let behind: Vec<(i64, String, String, String, i64)> = tx
        .prepare_cached(
            "SELECT id, subject_kind, subject_id, kind, amount FROM outbox
              WHERE group_key = ?1 AND state = 'PENDING' AND id > ?2 ORDER BY id",
        )
        .map_err(&err)?
        .query_map(params![group, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(&err)?
        .collect::<Result<_, _>>()
        .map_err(&err)?;
    tx.execute(
        "UPDATE outbox SET state = 'DEAD', last_error = ?3, updated_ms = ?4
             WHERE group_key = ?1 AND state = 'PENDING' AND id > ?2",
        params![group, id, why, now],
    )
    .map_err(&err)?;
    for (row, subject, subject_id, kind, amount) in behind {
        let subject = Subject::parse(&subject)
            .ok_or_else(|| corrupt("outbox", row.to_string())(format!("unknown subject_kind {subject}")))?;
        let kind =
            OpKind::parse(&kind).ok_or_else(|| corrupt("outbox", row.to_string())(format!("unknown kind {kind}")))?;
        patch_subject(tx, path, &subject_id, Effect::dropped(subject, kind, amount, why))?;
    }
    Ok(())
}

/// Applies `effect` to the sale or return `subject_id` on `conn`.
fn patch_subject(conn: &Connection, path: &Path, subject_id: &str, effect: Effect) -> Result<Patched, StoreError> {
    Ok(match effect {
        Effect::Sale(change) => {
            // A record pruned or lost meanwhile must not block the queue behind it.
            let mut sale = match sale_in(conn, path, subject_id) {
                Err(StoreError::NotFound(_)) => {
                    tracing::warn!(subject_id, "the sale of a finished operation is no longer in the journal");
                    return Ok(Patched::Nothing);
                }
                other => other?,
            };
            let detail = change.apply(&mut sale);
            sale.updated_at = chrono::Utc::now();
            record_in(conn, path, &sale, Some(&detail))?;
            Patched::Sale(Box::new(sale))
        }
        Effect::Return(change) => {
            let mut r = match return_in(conn, path, subject_id) {
                Err(StoreError::NotFound(_)) => {
                    tracing::warn!(subject_id, "the return of a finished operation is no longer in the journal");
                    return Ok(Patched::Nothing);
                }
                other => other?,
            };
            change.apply(&mut r);
            r.updated_at = chrono::Utc::now();
            save_return_in(conn, path, &r)?;
            Patched::Return(Box::new(r))
        }
        _ => Patched::Nothing,
    })
}

/// A change to a journaled sale that may refuse, on seeing the record, with an `E`.
pub type SaleChange<E> = Box<dyn FnOnce(&mut Sale) -> Result<(), E> + Send>;

impl Journal {
    /// Writes the sale's new state, its event and a queued operation in one transaction;
    /// the sync worker leaves the operation alone for `hold_ms` (the caller sends it
    /// itself first). Returns the queue id.
    pub async fn record_and_enqueue(
        &self,
        sale: Sale,
        detail: Option<String>,
        op: NewOp,
        hold_ms: i64,
    ) -> Result<i64, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            record_in(&tx, path, &sale, detail.as_deref())?;
            let now = crate::domain::now_ms();
            let id = enqueue_in(&tx, path, &op, now, now + hold_ms)?;
            tx.commit().map_err(&err)?;
            Ok(id)
        })
        .await
    }

    /// Writes a return and its queued refund in one transaction (see
    /// [`Self::record_and_enqueue`]).
    pub async fn save_return_and_enqueue(&self, r: ReturnRecord, op: NewOp, hold_ms: i64) -> Result<i64, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            save_return_in(&tx, path, &r)?;
            let now = crate::domain::now_ms();
            let id = enqueue_in(&tx, path, &op, now, now + hold_ms)?;
            tx.commit().map_err(&err)?;
            Ok(id)
        })
        .await
    }

    /// Queues `op` on its own (durably, one transaction), due after `hold_ms`; returns
    /// its queue id.
    pub async fn enqueue(&self, op: NewOp, hold_ms: i64) -> Result<i64, StoreError> {
        self.call(move |conn, path| {
            let now = crate::domain::now_ms();
            enqueue_in(conn, path, &op, now, now + hold_ms)
        })
        .await
    }

    /// Changes the journaled sale `id` with `f` (read, changed and written in one
    /// transaction, so no stale copy overwrites a concurrent change), with an event and
    /// optionally an operation queued (held `hold_ms`). Returns the sale and the queue id,
    /// or, leaving everything as it was, the refusal `f` gave on seeing the current record
    /// (so a check and the change it allows are one step: two racing requests cannot both
    /// pass it).
    pub async fn amend_sale<E: Send + 'static>(
        &self,
        id: String,
        detail: String,
        f: SaleChange<E>,
        op: Option<(NewOp, i64)>,
    ) -> Result<Result<(Sale, Option<i64>), E>, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            let mut sale = sale_in(&tx, path, &id)?;
            if let Err(refused) = f(&mut sale) {
                return Ok(Err(refused));
            }
            sale.updated_at = chrono::Utc::now();
            record_in(&tx, path, &sale, Some(&detail))?;
            let queued = match op {
                Some((op, hold_ms)) => {
                    let now = crate::domain::now_ms();
                    Some(enqueue_in(&tx, path, &op, now, now + hold_ms)?)
                }
                None => None,
            };
            tx.commit().map_err(&err)?;
            Ok(Ok((sale, queued)))
        })
        .await
    }

    /// Whether queued operation `id` waits behind another one of its payment (an earlier
    /// operation of its group still pending). If so it is released to the sync worker at
    /// once — which sends a payment's operations one by one, in order — instead of being
    /// sent ahead of them.
    pub async fn queued_behind(&self, id: i64) -> Result<bool, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let behind: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM outbox p, outbox o
                       WHERE o.id = ?1 AND p.group_key = o.group_key AND p.state = 'PENDING' AND p.id < o.id)",
                    params![id],
                    |r| r.get(0),
                )
                .map_err(&err)?;
            if behind {
                conn.execute("UPDATE outbox SET next_attempt_ms = 0 WHERE id = ?1 AND state = 'PENDING'", params![id])
                    .map_err(&err)?;
            }
            Ok(behind)
        })
        .await
    }

    /// The queued operation stored under `idempotency_key`, if any.
    pub async fn op_by_key(&self, idempotency_key: String) -> Result<Option<QueuedOp>, StoreError> {
        self.call(move |conn, path| {
            conn.query_row(
                &format!("SELECT {QUEUED_COLUMNS} FROM outbox WHERE idempotency_key = ?1"),
                params![idempotency_key],
                queued_row,
            )
            .optional()
            .map_err(queued_err(path))
        })
        .await
    }

    /// Drops a waiting operation the acquirer refused while the register waited for it
    /// (the register got the refusal; nothing happened at the acquirer), undoing what
    /// queuing it changed on its record, in one transaction.
    pub async fn discard_op(&self, id: i64, effect: Effect) -> Result<Patched, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            let subject: Option<String> = tx
                .query_row("SELECT subject_id FROM outbox WHERE id = ?1 AND state = 'PENDING'", params![id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(&err)?;
            let Some(subject_id) = subject else { return Ok(Patched::Unchanged) };
            tx.execute("DELETE FROM outbox WHERE id = ?1", params![id]).map_err(&err)?;
            let patched = patch_subject(&tx, path, &subject_id, effect)?;
            tx.commit().map_err(&err)?;
            Ok(patched)
        })
        .await
    }

    /// Takes up to `limit` due operations, the oldest waiting one of each group only, and
    /// leases them for `lease_ms` (a crash while they are out makes them due again).
    pub async fn take_due(&self, limit: usize, now_ms: i64, lease_ms: i64) -> Result<Vec<DueOp>, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            let ops = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT o.id, o.group_key, o.subject_kind, o.subject_id, o.kind, o.idempotency_key,
                                COALESCE(o.payment_transaction_id, json_extract(s.data, '$.payment_transaction_id')),
                                o.request, o.attempts
                         FROM outbox o LEFT JOIN sales s ON s.id = o.group_key
                         WHERE o.state = 'PENDING' AND o.next_attempt_ms <= ?1
                           AND NOT EXISTS (SELECT 1 FROM outbox p
                                           WHERE p.state = 'PENDING' AND p.group_key = o.group_key AND p.id < o.id)
                         ORDER BY o.id LIMIT ?2",
                    )
                    .map_err(&err)?;
                let rows = stmt
                    .query_map(params![now_ms, limit as i64], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, Option<String>>(7)?,
                            r.get::<_, i64>(8)?,
                        ))
                    })
                    .map_err(&err)?;
                let mut ops = vec![];
                for row in rows {
                    let (id, group, subject, subject_id, kind, key, tx_id, request, attempts) = row.map_err(&err)?;
                    let kind = OpKind::parse(&kind)
                        .ok_or_else(|| corrupt("outbox", id.to_string())(format!("unknown kind {kind}")))?;
                    let request = match request {
                        Some(r) => decode("outbox", &id.to_string(), &r)?,
                        None => serde_json::Value::Null,
                    };
                    let subject = Subject::parse(&subject)
                        .ok_or_else(|| corrupt("outbox", id.to_string())(format!("unknown subject_kind {subject}")))?;
                    ops.push(DueOp {
                        id,
                        group,
                        subject,
                        subject_id,
                        kind,
                        idempotency_key: key,
                        payment_transaction_id: tx_id,
                        request,
                        attempts,
                    });
                }
                ops
            };
            {
                let mut lease =
                    tx.prepare_cached("UPDATE outbox SET next_attempt_ms = ?2 WHERE id = ?1").map_err(&err)?;
                for op in &ops {
                    lease.execute(params![op.id, now_ms + lease_ms]).map_err(&err)?;
                }
            }
            tx.commit().map_err(&err)?;
            Ok(ops)
        })
        .await
    }

    /// Finishes an operation as `finish.state` (`result` is the acquirer's answer or the
    /// refusal), applying its effect to its record in the same transaction, and its
    /// `behind` to the operations queued after it in its group. An operation already
    /// finished is left as it is (`Patched::Unchanged`).
    pub async fn finish_op(&self, finish: Finish) -> Result<Patched, StoreError> {
        let id = finish.id;
        let mut all = self.finish_ops(vec![finish]).await?;
        all.pop().ok_or_else(|| StoreError::NotFound(format!("queued operation {id}")))
    }

    /// Finishes several operations in one transaction (one synced commit).
    pub async fn finish_ops(&self, ops: Vec<Finish>) -> Result<Vec<Patched>, StoreError> {
        self.call(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.transaction().map_err(&err)?;
            let mut out = Vec::with_capacity(ops.len());
            let ids: Vec<i64> = ops.iter().filter(|o| o.state == OpState::Done).map(|o| o.id).collect();
            let card_reads = forwarded_card_reads(&tx, path, &ids)?;
            for finish in ops {
                out.push(finish_in(&tx, path, finish)?);
            }
            tx.commit().map_err(&err)?;
            // The forwarded card reads were overwritten (secure_delete zeroes the old
            // cells); their copies in the WAL go with the checkpoint.
            if card_reads > 0 {
                conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(&err)?;
            }
            Ok(out)
        })
        .await
    }

    /// Captures queued for sale `sale_id` and not yet taken (see [`pending_captures_in`]).
    pub async fn queued_captures(&self, sale_id: String) -> Result<Vec<PendingCapture>, StoreError> {
        self.call(move |conn, path| pending_captures_in(conn, path, &sale_id)).await
    }

    /// Puts operation `id` back to wait until `next_attempt_ms` after a failed attempt.
    pub async fn retry_op_later(&self, id: i64, error: String, next_attempt_ms: i64) -> Result<(), StoreError> {
        self.call(move |conn, path| {
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3, updated_ms = ?4
                 WHERE id = ?1 AND state = 'PENDING'",
                params![id, error, next_attempt_ms, crate::domain::now_ms()],
            )
            .map_err(sqlite(path))?;
            Ok(())
        })
        .await
    }

    /// Makes every waiting operation due now (at start-up, or when store IT syncs by hand).
    pub async fn make_all_due(&self) -> Result<(), StoreError> {
        self.call(move |conn, path| {
            conn.execute("UPDATE outbox SET next_attempt_ms = 0 WHERE state = 'PENDING'", []).map_err(sqlite(path))?;
            Ok(())
        })
        .await
    }

    /// Sends a dead operation (and those that died with it) once more. `false` if `id`
    /// is not dead, or its request is gone (a card read is kept only until pruning).
    pub async fn retry_dead_op(&self, id: i64) -> Result<bool, StoreError> {
        self.call(move |conn, path| {
            let n = conn
                .execute(
                    "UPDATE outbox SET state = 'PENDING', next_attempt_ms = 0, updated_ms = ?2
                     WHERE id = ?1 AND state = 'DEAD' AND request IS NOT NULL",
                    params![id, crate::domain::now_ms()],
                )
                .map_err(sqlite(path))?;
            Ok(n == 1)
        })
        .await
    }

    /// Queued operations, newest first, optionally of one state.
    pub async fn queue_list(&self, state: Option<OpState>, limit: usize) -> Result<Vec<QueuedOp>, StoreError> {
        self.call(move |conn, path| {
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
        self.call(move |conn, path| {
            conn.query_row(&format!("SELECT {QUEUED_COLUMNS} FROM outbox WHERE id = ?1"), params![id], queued_row)
                .optional()
                .map_err(queued_err(path))
        })
        .await
    }

    /// Counts by state and the age of the oldest waiting operation.
    pub async fn queue_summary(&self) -> Result<QueueSummary, StoreError> {
        self.call(move |conn, path| {
            conn.query_row(
                "SELECT COALESCE(SUM(state = 'PENDING'), 0), COALESCE(SUM(state = 'DEAD'), 0),
                        COALESCE(SUM(state = 'DONE'), 0), MIN(CASE WHEN state = 'PENDING' THEN created_ms END)
                 FROM outbox",
                [],
                |r| {
                    Ok(QueueSummary {
                        pending: r.get(0)?,
                        dead: r.get(1)?,
                        done: r.get(2)?,
                        oldest_pending_ms: r.get(3)?,
                    })
                },
            )
            .map_err(sqlite(path))
        })
        .await
    }

    /// Offline card approvals not yet forwarded, in `currency`.
    pub async fn offline_exposure(&self, currency: String) -> Result<OfflineExposure, StoreError> {
        self.call(move |conn, path| {
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
        self.call(move |conn, path| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SaleState;
    use crate::domain::now_ms;

    fn sale(id: &str, state: SaleState, age_days: i64) -> Sale {
        let at = chrono::Utc::now() - chrono::TimeDelta::days(age_days);
        let mut s: Sale = serde_json::from_value(serde_json::json!({
            "id": id, "reference": format!("R-{id}"), "state": "CREATED", "method": "CARD", "amount": 100,
            "currency": "SEK", "locale": "sv-SE", "created_at": at, "updated_at": at
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        s.state = state;
        s
    }

    fn plain(id: i64, state: OpState, result: &str) -> Finish {
        Finish { id, state, result: result.into(), effect: Effect::Nothing, behind: Behind::Stay }
    }

    fn op(group: &str, key: &str) -> NewOp {
        NewOp {
            group: group.into(),
            subject: Subject::Sale,
            subject_id: group.into(),
            kind: OpKind::Capture,
            idempotency_key: key.into(),
            payment_transaction_id: Some("krn:1".into()),
            request: serde_json::json!({"amount": 1}),
            amount: 1,
            currency: "SEK".into(),
        }
    }

    #[tokio::test]
    async fn a_refused_offline_payment_takes_its_queued_capture_and_refund_with_it() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::NotFound(e.to_string()))?;
        let j = Journal::open(&dir.path().join("j.db"))?;
        let mut s = sale("pay", SaleState::Approved, 0);
        j.insert_sale(s.clone()).await?;
        let authorize = NewOp { kind: OpKind::Authorize, amount: 1000, ..op("pay", "auth") };
        j.record_and_enqueue(s.clone(), None, authorize, 0).await?;
        s.queued_capture_amount = 400;
        j.record_and_enqueue(s.clone(), None, NewOp { amount: 400, ..op("pay", "cap") }, 0).await?;
        let ret: ReturnRecord = serde_json::from_value(serde_json::json!({
            "id": "ret", "reference": "RET-1", "original_reference": "R-pay", "payment_transaction_id": "",
            "klarna_reference": "", "method": "CARD", "amount": 100, "currency": "SEK", "lines": [],
            "state": "PENDING", "reason": null, "idempotency_key": "ref", "payment_refund_id": null,
            "receipt_printed": false, "receipt_error": null, "locale": "sv-SE",
            "created_at": chrono::Utc::now(), "updated_at": chrono::Utc::now()
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let refund = NewOp {
            subject: Subject::Return,
            subject_id: "ret".into(),
            kind: OpKind::Refund,
            amount: 100,
            ..op("pay", "ref")
        };
        j.save_return_and_enqueue(ret, refund, 0).await?;
        let due = j.take_due(10, now_ms(), 60_000).await?;
        assert_eq!(due.iter().map(|d| d.idempotency_key.as_str()).collect::<Vec<_>>(), ["auth"]);
        let why = "the offline payment it acts on was refused: DO_NOT_HONOR".to_string();
        let dead = Finish { behind: Behind::Die { why }, ..plain(due[0].id, OpState::Dead, "DO_NOT_HONOR") };
        j.finish_op(dead).await?;
        let s = j.sale("pay".into()).await?;
        assert_eq!(s.queued_capture_amount, 0, "the capture died with the payment");
        assert!(s.sync_error.is_some_and(|e| e.contains("DO_NOT_HONOR")));
        let r = j.find_return("ret".into()).await?.unwrap_or_else(|| panic!("return gone"));
        assert_eq!(r.state, crate::domain::ReturnState::Refused);
        assert!(j.take_due(10, now_ms(), 60_000).await?.is_empty(), "nothing behind it is sent");
        Ok(())
    }

    #[tokio::test]
    async fn ops_go_out_in_order_per_group_and_pruning_keeps_what_is_still_needed() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::NotFound(e.to_string()))?;
        let j = Journal::open(&dir.path().join("j.db"))?;
        for (id, age) in [("old", 100), ("old-waiting", 100), ("new", 0)] {
            j.insert_sale(sale(id, SaleState::Approved, age)).await?;
        }
        for (group, key) in [("old", "a1"), ("old", "a2"), ("old-waiting", "b1"), ("new", "c1")] {
            j.record_and_enqueue(
                sale(group, SaleState::Approved, if group == "new" { 0 } else { 100 }),
                None,
                op(group, key),
                0,
            )
            .await?;
        }
        // One per group, oldest first; the second of a group only once the first is done.
        let due = j.take_due(10, now_ms(), 60_000).await?;
        let keys: Vec<&str> = due.iter().map(|d| d.idempotency_key.as_str()).collect();
        assert_eq!(keys, ["a1", "b1", "c1"]);
        assert!(j.take_due(10, now_ms(), 60_000).await?.is_empty(), "leased");
        j.finish_op(plain(due[0].id, OpState::Done, "ok")).await?;
        j.make_all_due().await?;
        let due = j.take_due(10, now_ms(), 60_000).await?;
        let keys: Vec<&str> = due.iter().map(|d| d.idempotency_key.as_str()).collect();
        assert_eq!(keys, ["a2", "b1", "c1"]);
        // A finished operation is not finished again.
        let again = j.finish_op(plain(due[0].id - 1, OpState::Dead, "late")).await?;
        assert!(matches!(again, Patched::Unchanged));
        for d in &due {
            if d.idempotency_key != "b1" {
                j.finish_op(plain(d.id, OpState::Done, "ok")).await?;
            }
        }
        // "old" is final, past retention and has nothing waiting; "old-waiting" still waits.
        let deleted = j.prune(now_ms() - 30 * 24 * 3_600_000).await?;
        assert!(deleted >= 3, "{deleted}");
        assert!(matches!(j.sale("old".into()).await, Err(StoreError::NotFound(_))));
        assert!(j.sale("old-waiting".into()).await.is_ok());
        assert!(j.sale("new".into()).await.is_ok());
        let s = j.queue_summary().await?;
        assert_eq!((s.pending, s.done), (1, 3), "operations done just now are kept: {s:?}");
        j.prune(now_ms() + 1).await?;
        assert_eq!(j.queue_summary().await?.done, 0, "done operations past retention go");
        Ok(())
    }
}
