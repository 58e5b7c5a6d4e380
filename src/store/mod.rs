//! The SQLite journal (WAL, synchronous=FULL): every sale and every state change,
//! written before it is acted on, and the idempotency key of every money-changing call,
//! stored before the call is made.
//!
//! Its schema is versioned by numbered migrations ([`migrations`]), applied on open.
//! One owner thread holds the connection; async code sends it jobs over a bounded
//! channel and awaits the answer, so SQLite never blocks the runtime. Writers waiting
//! together share one commit (group commit, the `group` module): each is answered only once its
//! write is durable.

mod events;
mod group;
pub mod migrations;
mod outbox;
mod reports;
mod returns;
mod sales;
mod staff;
mod zvt;

pub use events::EventCursor;
pub use outbox::{Patched, PendingCapture};
pub use sales::{SaleEvent, SaleFilter, operation_key};
pub use staff::{Credentials, NewAction};

use group::{Call, Job};
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
    /// A record could not be turned into its stored form (nothing was written).
    #[error("record {id} cannot be written to the journal: {source}")]
    Encode {
        /// Record id.
        id: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A stored row does not decode: the journal row is damaged (edited by hand, a disk
    /// fault); the record it holds cannot be read or changed.
    #[error(
        "the journal row {id} of table {table} is damaged ({source}): the record it holds cannot be read or changed on this terminal; keep the journal file (posagent.db in the data directory) as it is and give a copy to support, and do not edit or delete the row"
    )]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// The row's key (`sale_id/seq` for a sale event).
        id: String,
        /// What does not decode.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The journal was written by a newer posagent (a downgrade): refused untouched.
    #[error(
        "the journal at {path} was written by a newer posagent (schema {found}, this build knows {known}): install that version again or restore a backup; nothing was changed"
    )]
    NewerSchema {
        /// Database file.
        path: PathBuf,
        /// Its schema version (`user_version`).
        found: i64,
        /// The newest this build knows.
        known: usize,
    },
    /// A schema migration failed: rolled back, the journal is as it was.
    #[error(
        "cannot bring the journal at {path} from schema {from} to {to}: {cause}; nothing was changed (the migration was rolled back): check disk space and that the file is writable by the service user, and keep the file for support if it goes on",
        cause = migrations::cause(.source)
    )]
    Migration {
        /// Database file.
        path: PathBuf,
        /// Its schema version before.
        from: i64,
        /// The version it was to reach.
        to: usize,
        /// Cause (boxed: the library's error is large).
        #[source]
        source: Box<rusqlite_migration::Error>,
    },
    /// The record does not exist.
    #[error("no sale {0}")]
    NotFound(String),
    /// The journal thread is gone (the daemon is shutting down).
    #[error("the journal is closed; the daemon is shutting down")]
    Closed,
}

/// Handle to the journal thread.
#[derive(Clone)]
pub struct Journal {
    jobs: mpsc::Sender<Job>,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite { path: path.to_path_buf(), source }
}

/// The error for row `id` of `table` that does not decode.
fn corrupt<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    table: &'static str,
    id: impl Into<String>,
) -> impl FnOnce(E) -> StoreError {
    let id = id.into();
    move |source| StoreError::CorruptRow { table, id, source: source.into() }
}

/// Decodes the JSON `data` of row `id` of `table`.
fn decode<T: serde::de::DeserializeOwned>(table: &'static str, id: &str, data: &str) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(corrupt(table, id))
}

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

impl Journal {
    /// Opens (creating if needed) the journal at `path`, brings it to this build's schema
    /// ([`migrations`]) and starts its thread. A journal of a newer schema is refused
    /// before anything is written to it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        private_file(path);
        let err = sqlite(path);
        let mut conn = Connection::open(path).map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(&err)?;
        // Before the pragmas: a newer journal is refused untouched (journal_mode writes).
        migrations::refuse_newer(&conn, path, migrations::LATEST)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(&err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(&err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(&err)?;
        // Deleted or overwritten content (a forwarded card read) is zeroed, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON").map_err(&err)?;
        migrations::migrate(&mut conn, path)?;
        let (jobs, rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let path = path.to_path_buf();
        std::thread::Builder::new().name("journal".into()).spawn(move || group::serve(conn, &path, rx)).map_err(
            |e| StoreError::Sqlite {
                path: PathBuf::new(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            },
        )?;
        Ok(Journal { jobs })
    }

    /// Copies the WAL into the database file and truncates it.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.call(|conn, path| conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(sqlite(path))).await
    }

    /// Runs `f` on the journal thread, by itself and outside any transaction, and returns
    /// its answer: for what cannot run inside a transaction (PRAGMA, VACUUM, a
    /// checkpoint) or begins its own with `conn.transaction()`.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<R, StoreError> + Send + 'static,
    {
        self.send(true, f).await
    }

    /// Runs `f` on the journal thread with group commit and returns its answer once what
    /// it wrote is durable. Alone in the queue it runs as [`Self::call`] would; with other
    /// grouped jobs waiting it runs inside their shared transaction, in its own savepoint,
    /// and is answered after that transaction's one commit (the module `group`). So `f`
    /// makes its atomic changes in `conn.savepoint()` (which nests), never in
    /// `conn.transaction()`, and runs no PRAGMA or VACUUM.
    pub(crate) async fn call_grouped<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<R, StoreError> + Send + 'static,
    {
        self.send(false, f).await
    }

    async fn send<R, F>(&self, alone: bool, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Box::new(Call::new(alone, f, tx))).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}
