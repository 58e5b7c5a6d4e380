//! The SQLite journal (WAL, synchronous=FULL): every sale and every state change,
//! written before it is acted on, and the idempotency key of every money-changing call,
//! stored before the call is made.
//!
//! One owner thread holds the connection; async code sends it jobs over a bounded
//! channel and awaits the answer, so SQLite never blocks the runtime.

mod events;
mod outbox;
mod reports;
mod returns;
mod sales;

pub use events::EventCursor;
pub use outbox::{Patched, PendingCapture};
pub use sales::{SaleEvent, operation_key};

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot};

/// Jobs waiting for the journal thread before senders wait.
const QUEUE_DEPTH: usize = 256;

/// A journal failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused (disk full, read-only, corrupt…).
    #[error("journal database error: {source}; check disk space and that {path} is writable by the service user")]
    Sqlite {
        /// Database file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored record does not parse.
    #[error("journal record {id} is unreadable: {source}; run `posagent doctor`")]
    Corrupt {
        /// Record id.
        id: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// The record does not exist.
    #[error("no sale {0}")]
    NotFound(String),
    /// A column holds a value this build does not know (a journal written by a newer
    /// posagent, or damaged).
    #[error(
        "journal table {table} holds {column} = {value:?}, which this posagent does not know; keep the journal file for support and run `posagent doctor`"
    )]
    UnknownValue {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What it holds.
        value: String,
    },
    /// The journal thread is gone (the daemon is shutting down).
    #[error("the journal is closed; the daemon is shutting down")]
    Closed,
}

type Job = Box<dyn FnOnce(&mut Connection, &Path) + Send>;

/// Handle to the journal thread.
#[derive(Clone)]
pub struct Journal {
    jobs: mpsc::Sender<Job>,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite { path: path.to_path_buf(), source }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sales (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_state ON sales(state);
CREATE TABLE IF NOT EXISTS sale_events (
    sale_id TEXT NOT NULL REFERENCES sales(id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (sale_id, seq)
);
CREATE TABLE IF NOT EXISTS operations (
    sale_id TEXT NOT NULL REFERENCES sales(id),
    operation TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sale_id, operation)
);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    original_reference TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS day_closures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    closed_at TEXT NOT NULL,
    report TEXT NOT NULL
);
-- Where the terminal is in the acquirer's event stream: the last event applied, with its
-- id and time, so a stream that started over (a new acquirer environment) is noticed.
CREATE TABLE IF NOT EXISTS event_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
PRAGMA user_version = 1;
";

/// The journal holds card payments' records: it is created readable by the service
/// user only (SQLite gives its WAL and shared-memory files the same mode), and an
/// existing one readable by others is tightened, with a warning.
fn private_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                tracing::warn!(path = %path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "the journal was readable by others; setting mode 0600");
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            }
            Ok(_) => {}
            Err(_) => {
                let _ = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
            }
        }
    }
}

/// How long the journal thread looks for the next job before it sleeps: a register
/// working through a sale sends its writes back to back, and waking a sleeping thread
/// costs more than the write itself on a fast disk.
const SPIN: std::time::Duration = std::time::Duration::from_micros(100);

fn next_job(rx: &mut mpsc::Receiver<Job>) -> Option<Job> {
    let until = std::time::Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) if std::time::Instant::now() < until => std::hint::spin_loop(),
            Err(mpsc::error::TryRecvError::Empty) => return rx.blocking_recv(),
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and starts its thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        private_file(path);
        let err = sqlite(path);
        let mut conn = Connection::open(path).map_err(&err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(&err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(&err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(&err)?;
        // Deleted or overwritten content (a forwarded card read) is zeroed, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON").map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(&err)?;
        conn.execute_batch(SCHEMA).map_err(&err)?;
        conn.execute_batch(outbox::OUTBOX_SCHEMA).map_err(&err)?;
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                while let Some(job) = next_job(&mut rx) {
                    job(&mut conn, &path);
                }
            })
            .map_err(|e| StoreError::Sqlite {
                path: PathBuf::new(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok(Journal { jobs })
    }

    /// Copies the WAL into the database file and truncates it.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.call(|conn, path| conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(sqlite(path))).await
    }

    /// Runs `f` on the journal thread and returns its answer.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn, path| {
            let _ = tx.send(f(conn, path));
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}
