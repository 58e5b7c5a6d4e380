//! The outbox table: operations for the acquirer, queued in the same transaction as the
//! sale or return state that produced them, taken in order per group, finished together
//! with the record they update.

use super::returns::{insert_return_in, return_in, save_return_in};
use super::sales::{record_in, sale_in};
use super::{Journal, StoreError, corrupt, decode, sqlite};
use crate::domain::{Behind, DueOp, Effect, Finish, NewOp, OpKind, OpState, QueuedOp, Subject};
use crate::domain::{ReturnRecord, Sale};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

mod queries;
#[cfg(test)]
mod tests;

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

/// The stored form of `op`'s request, made by the caller before its job goes to the
/// journal thread (so the encoding runs beside the commits of others, not between them).
fn encode_request(op: &NewOp) -> Result<String, StoreError> {
    serde_json::to_string(&op.request).map_err(|source| StoreError::Encode { id: op.idempotency_key.clone(), source })
}

/// Inserts `op` (PENDING, due at `due_ms`) with its `request` (from [`encode_request`])
/// on `conn` and returns its queue id; an operation whose key is already queued is kept
/// as it is (a retried request queues nothing new) and its id returned.
pub(super) fn enqueue_in(
    conn: &Connection,
    path: &Path,
    (op, request): (&NewOp, &str),
    now_ms: i64,
    due_ms: i64,
) -> Result<i64, StoreError> {
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
        let request = encode_request(&op)?;
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
            record_in(&tx, path, &sale, detail.as_deref())?;
            let now = crate::domain::now_ms();
            let id = enqueue_in(&tx, path, (&op, &request), now, now + hold_ms)?;
            tx.commit().map_err(&err)?;
            Ok(id)
        })
        .await
    }

    /// Writes a new return and its queued refund in one transaction (see
    /// [`Self::record_and_enqueue`]); for a return already journaled (a register asking
    /// again) both stay as stored, and the refund's queue id is returned: the caller's
    /// copy may predate what the sync worker wrote (a refund it finished meanwhile).
    pub async fn save_return_and_enqueue(&self, r: ReturnRecord, op: NewOp, hold_ms: i64) -> Result<i64, StoreError> {
        let request = encode_request(&op)?;
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
            insert_return_in(&tx, path, &r)?;
            let now = crate::domain::now_ms();
            let id = enqueue_in(&tx, path, (&op, &request), now, now + hold_ms)?;
            tx.commit().map_err(&err)?;
            Ok(id)
        })
        .await
    }

    /// Queues `op` on its own (durably, one transaction), due after `hold_ms`; returns
    /// its queue id.
    pub async fn enqueue(&self, op: NewOp, hold_ms: i64) -> Result<i64, StoreError> {
        let request = encode_request(&op)?;
        self.call_grouped(move |conn, path| {
            let now = crate::domain::now_ms();
            enqueue_in(conn, path, (&op, &request), now, now + hold_ms)
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
        let op = op.map(|(op, hold_ms)| encode_request(&op).map(|request| (op, request, hold_ms))).transpose()?;
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
            let mut sale = sale_in(&tx, path, &id)?;
            if let Err(refused) = f(&mut sale) {
                return Ok(Err(refused));
            }
            sale.updated_at = chrono::Utc::now();
            record_in(&tx, path, &sale, Some(&detail))?;
            let queued = match op {
                Some((op, request, hold_ms)) => {
                    let now = crate::domain::now_ms();
                    Some(enqueue_in(&tx, path, (&op, &request), now, now + hold_ms)?)
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
        self.call_grouped(move |conn, path| {
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
        self.call_grouped(move |conn, path| {
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
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
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
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
            let ops = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT o.id, o.group_key, o.subject_kind, o.subject_id, o.kind, o.idempotency_key,
                                COALESCE(o.payment_transaction_id, json_extract(s.data, '$.payment_transaction_id')),
                                o.request, o.attempts
                         FROM outbox o INDEXED BY outbox_pending LEFT JOIN sales s ON s.id = o.group_key
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

    /// Finishes several operations in one transaction (one synced commit), then
    /// checkpoints the WAL if card reads were forwarded.
    pub async fn finish_ops(&self, ops: Vec<Finish>) -> Result<Vec<Patched>, StoreError> {
        let (out, card_reads) = self.finish_batch(ops).await?;
        // The forwarded card reads were overwritten (secure_delete zeroes the old cells);
        // their copies in the WAL go with the checkpoint, once the commit is durable.
        if card_reads > 0 {
            self.checkpoint().await?;
        }
        Ok(out)
    }

    /// [`Self::finish_ops`] without the checkpoint: also returns how many forwarded card
    /// reads it overwrote, whose copies stay in the WAL until the caller checkpoints
    /// ([`Self::checkpoint`]; the sync worker does once for several batches).
    pub async fn finish_batch(&self, ops: Vec<Finish>) -> Result<(Vec<Patched>, usize), StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let tx = conn.savepoint().map_err(&err)?;
            let mut out = Vec::with_capacity(ops.len());
            let ids: Vec<i64> = ops.iter().filter(|o| o.state == OpState::Done).map(|o| o.id).collect();
            let card_reads = forwarded_card_reads(&tx, path, &ids)?;
            for finish in ops {
                out.push(finish_in(&tx, path, finish)?);
            }
            tx.commit().map_err(&err)?;
            Ok((out, card_reads))
        })
        .await
    }

    /// Captures queued for sale `sale_id` and not yet taken (see [`pending_captures_in`]).
    pub async fn queued_captures(&self, sale_id: String) -> Result<Vec<PendingCapture>, StoreError> {
        self.call_grouped(move |conn, path| pending_captures_in(conn, path, &sale_id)).await
    }

    /// Puts operation `id` back to wait until `next_attempt_ms` after a failed attempt.
    pub async fn retry_op_later(&self, id: i64, error: String, next_attempt_ms: i64) -> Result<(), StoreError> {
        self.call_grouped(move |conn, path| {
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
        self.call_grouped(move |conn, path| {
            conn.execute("UPDATE outbox SET next_attempt_ms = 0 WHERE state = 'PENDING'", []).map_err(sqlite(path))?;
            Ok(())
        })
        .await
    }

    /// Sends a dead operation (and those that died with it) once more. `false` if `id`
    /// is not dead, or its request is gone (a card read is kept only until pruning).
    pub async fn retry_dead_op(&self, id: i64) -> Result<bool, StoreError> {
        self.call_grouped(move |conn, path| {
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
}
