//! The journal thread and its group commit. Jobs arrive over a bounded channel; a job
//! that finds no other waiting runs on its own, exactly as it is written (its own
//! savepoint or transaction commits it, one fsync under synchronous=FULL). When several
//! grouped jobs are waiting, up to [`GROUP_MAX`] of them run inside one transaction,
//! each in its own savepoint (a job that fails rolls back alone, the others stay), the
//! transaction commits once (one fsync for all of them), and only then is each job
//! told its answer; if that commit fails, every job of the group gets the error, since
//! nothing of theirs is durable. A job marked alone (PRAGMA, VACUUM, a checkpoint,
//! anything that cannot run inside a transaction) ends the group before it and runs by
//! itself, in its place in the order.

use super::{StoreError, sqlite};
use rusqlite::Connection;
use std::path::Path;
use tokio::sync::{mpsc, oneshot};

/// Most jobs in one group (one transaction, one fsync).
pub(super) const GROUP_MAX: usize = 64;

/// How long the journal thread looks for the next job before it sleeps: a register
/// working through a sale sends its writes back to back, and waking a sleeping thread
/// costs more than the write itself on a fast disk.
const SPIN: std::time::Duration = std::time::Duration::from_micros(100);

/// The savepoint each job of a group runs in (prepared once, cached by the connection).
const SAVEPOINT: &str = "SAVEPOINT grouped_job";
const RELEASE: &str = "RELEASE grouped_job";
const ROLLBACK_TO: &str = "ROLLBACK TO grouped_job";

/// Runs one of the statements above.
fn step(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// One job for the journal thread.
pub(super) trait Work: Send {
    /// Whether the job must run outside any transaction.
    fn alone(&self) -> bool;
    /// Runs the job and keeps its answer; whether it succeeded.
    fn run(&mut self, conn: &mut Connection, path: &Path) -> bool;
    /// Tells the caller the kept answer, or `failed` in place of a success (the group's
    /// commit failed: nothing the job wrote is durable).
    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>, path: &Path);
}

/// A job as the channel carries it.
pub(super) type Job = Box<dyn Work>;

/// A call of [`super::Journal::call`] or [`super::Journal::call_grouped`].
pub(super) struct Call<F, R> {
    alone: bool,
    f: Option<F>,
    result: Option<Result<R, StoreError>>,
    tx: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Call<F, R> {
    /// A job for `f`, whose answer goes to `tx`.
    pub(super) fn new(alone: bool, f: F, tx: oneshot::Sender<Result<R, StoreError>>) -> Self {
        Call { alone, f: Some(f), result: None, tx }
    }
}

impl<F, R> Work for Call<F, R>
where
    R: Send,
    F: FnOnce(&mut Connection, &Path) -> Result<R, StoreError> + Send,
{
    fn alone(&self) -> bool {
        self.alone
    }

    fn run(&mut self, conn: &mut Connection, path: &Path) -> bool {
        let Some(f) = self.f.take() else { return false };
        let result = f(conn, path);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>, path: &Path) {
        let answer = match (self.result, failed) {
            // A job that failed tells its own error: it rolled back whatever happened after.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(e)) => Err(sqlite(path)(copy(e))),
            (None, None) => Err(StoreError::Closed),
        };
        let _ = self.tx.send(answer);
    }
}

/// An error like `e` for one more job (rusqlite's errors are not `Clone`).
fn copy(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => rusqlite::Error::SqliteFailure(*code, message.clone()),
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

fn next_job(rx: &mut mpsc::Receiver<Job>) -> Option<Job> {
    let until = std::time::Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            // Yielding, not spinning in place: the task just answered may be woken on
            // this very core (the other one busy), and it is what sends the next job.
            Err(mpsc::error::TryRecvError::Empty) if std::time::Instant::now() < until => std::thread::yield_now(),
            Err(mpsc::error::TryRecvError::Empty) => return rx.blocking_recv(),
        }
    }
}

/// The journal thread: runs jobs until every [`super::Journal`] is dropped.
pub(super) fn serve(mut conn: Connection, path: &Path, mut rx: mpsc::Receiver<Job>) {
    let mut held: Option<Job> = None;
    let mut group: Vec<Job> = Vec::with_capacity(GROUP_MAX);
    while let Some(first) = held.take().or_else(|| next_job(&mut rx)) {
        if first.alone() {
            by_itself(&mut conn, path, first);
            continue;
        }
        group.push(first);
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) if job.alone() => {
                    held = Some(job);
                    break;
                }
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if group.len() == 1 {
            group.drain(..).for_each(|job| by_itself(&mut conn, path, job));
        } else {
            commit_group(&mut conn, path, &mut group);
        }
    }
}

/// Runs `job` on its own: its own statements, savepoint or transaction commit it.
fn by_itself(conn: &mut Connection, path: &Path, mut job: Job) {
    job.run(conn, path);
    job.answer(None, path);
}

/// Runs the waiting `jobs` in one transaction, each in a savepoint, commits once, then
/// answers them all.
fn commit_group(conn: &mut Connection, path: &Path, jobs: &mut Vec<Job>) {
    if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
        // No transaction for the group (the database is busy or failing): each job on
        // its own, as it would have run without the others.
        jobs.drain(..).for_each(|job| by_itself(conn, path, job));
        return;
    }
    let mut ran: Vec<(Job, Option<rusqlite::Error>)> = Vec::with_capacity(jobs.len());
    let mut rest = jobs.drain(..);
    for mut job in rest.by_ref() {
        if let Err(e) = step(conn, SAVEPOINT) {
            ran.push((job, Some(e)));
            continue;
        }
        let ok = job.run(conn, path);
        if conn.is_autocommit() {
            // The job's failure ended the whole transaction (SQLite rolls back on a full
            // disk or an I/O error): what the jobs before it wrote is gone with it.
            let lost = rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the journal's transaction was rolled back by a failing write beside it; nothing was written, try again".into()),
            );
            tracing::error!(error = %lost, "a grouped journal write ended its group's transaction");
            for (job, own) in ran.drain(..) {
                job.answer(Some(own.as_ref().unwrap_or(&lost)), path);
            }
            job.answer(if ok { Some(&lost) } else { None }, path);
            rest.for_each(|job| by_itself(conn, path, job));
            return;
        }
        let end = if ok { step(conn, RELEASE) } else { step(conn, ROLLBACK_TO).and_then(|()| step(conn, RELEASE)) };
        let end = end.err();
        ran.push((job, end));
    }
    drop(rest);
    let commit = conn.execute_batch("COMMIT").err();
    if commit.is_some() && !conn.is_autocommit() {
        // COMMIT can fail and leave the transaction open (a deferred constraint, a busy
        // reader): nothing of it may stay for the next job.
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "cannot roll back a failed group commit of the journal");
        }
    }
    for (job, own) in ran {
        job.answer(own.as_ref().or(commit.as_ref()), path);
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
