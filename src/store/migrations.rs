//! The journal's schema as numbered migrations (`rusqlite_migration`, on SQLite's
//! `user_version`): a journal at version N has had migrations 1 to N applied.
//!
//! Migration 1 is the schema posagent 0.1.0 created, which set `user_version = 1` itself:
//! a journal written by that release is at version 1 as it is, and nothing is re-created.
//! A fresh journal gets every migration. Opening one brings it to [`LATEST`] in one
//! transaction: a migration that fails leaves the journal as it was
//! ([`StoreError::Migration`]). A journal of a newer schema than this build knows (a
//! downgrade) is refused before anything is written ([`StoreError::NewerSchema`]).
//!
//! To add a migration: write `src/store/migrations/NNN_what.sql` (the next number, one
//! SQL string, no `PRAGMA user_version`: the library sets it) and append its
//! `include_str!` to [`STEPS`]. Never edit or reorder a released one; a journal in the
//! field has run it already. The pragmas of [`super::Journal::open`] are in force while
//! it runs, `foreign_keys = ON` among them, and a pragma cannot change inside the
//! transaction: a table rebuilt by copying must keep its references valid.
//! `tests/it/journal_migration.rs` opens the 0.1.0 journal of `tests/fixtures/` with every
//! migration.

use super::{StoreError, sqlite};
use rusqlite::Connection;
use rusqlite_migration::{M, MigrationDefinitionError, Migrations};
use std::path::Path;

/// The migrations in order; the journal's schema version is how many have run.
const STEPS: &[&str] = &[
    include_str!("migrations/001_journal_0_1_0.sql"),
    include_str!("migrations/002_zvt.sql"),
    include_str!("migrations/003_outbox_pending.sql"),
    include_str!("migrations/004_staff.sql"),
];

/// The schema version this build writes.
pub const LATEST: usize = STEPS.len();

/// Brings the journal on `conn` (the file `path`) to [`LATEST`].
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    migrate_with(conn, path, STEPS)
}

/// The schema version of the journal on `conn` (its `user_version`).
pub(super) fn version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sqlite(path))
}

/// The journal's schema version, or [`StoreError::NewerSchema`] if it is past `known`
/// (read only: nothing is written).
pub(super) fn refuse_newer(conn: &Connection, path: &Path, known: usize) -> Result<i64, StoreError> {
    let found = version(conn, path)?;
    if usize::try_from(found).map_or(true, |v| v > known) {
        return Err(StoreError::NewerSchema { path: path.to_path_buf(), found, known });
    }
    Ok(found)
}

/// Refuses a journal newer than `steps`, then applies the migrations it has not had, in
/// one transaction.
fn migrate_with(conn: &mut Connection, path: &Path, steps: &[&'static str]) -> Result<(), StoreError> {
    let found = refuse_newer(conn, path, steps.len())?;
    let newer = || StoreError::NewerSchema { path: path.to_path_buf(), found, known: steps.len() };
    let migrations = Migrations::from_iter(steps.iter().copied().map(M::up));
    migrations.to_latest(conn).map_err(|source| match source {
        rusqlite_migration::Error::MigrationDefinition(MigrationDefinitionError::DatabaseTooFarAhead) => newer(),
        source => {
            StoreError::Migration { path: path.to_path_buf(), from: found, to: steps.len(), source: Box::new(source) }
        }
    })
}

/// What a failed migration says, without the SQL it ran.
pub(super) fn cause(e: &rusqlite_migration::Error) -> String {
    match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => err.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn open(path: &Path) -> Result<Connection, rusqlite::Error> {
        Connection::open(path)
    }

    fn tables(conn: &Connection) -> Result<Vec<String>, rusqlite::Error> {
        let mut st = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
        st.query_map([], |r| r.get(0))?.collect()
    }

    #[test]
    fn the_migrations_validate() -> R {
        Migrations::from_iter(STEPS.iter().copied().map(M::up)).validate()?;
        Ok(())
    }

    #[tokio::test]
    async fn a_fresh_journal_gets_every_migration() -> R {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("j.db");
        drop(super::super::Journal::open(&path)?);
        let conn = open(&path)?;
        assert_eq!(version(&conn, &path)?, i64::try_from(LATEST)?);
        let expected = ["day_closures", "event_cursor", "operations", "outbox", "returns", "sale_events", "sales"];
        let found = tables(&conn)?;
        assert!(expected.iter().all(|t| found.contains(&t.to_string())), "{found:?}");
        Ok(())
    }

    #[test]
    fn a_journal_of_0_1_0_is_at_version_1_and_keeps_its_rows() -> R {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("j.db");
        let mut conn = open(&path)?;
        // What 0.1.0 ran on open: its schema, then user_version = 1 by hand.
        conn.execute_batch(STEPS[0])?;
        conn.execute_batch("PRAGMA user_version = 1;")?;
        conn.execute("INSERT INTO day_closures (closed_at, report) VALUES ('t', 'r')", [])?;
        migrate(&mut conn, &path)?;
        assert_eq!(version(&conn, &path)?, i64::try_from(LATEST)?);
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM day_closures", [], |r| r.get(0))?;
        assert_eq!(n, 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_newer_journal_is_refused_with_what_to_do_and_left_unchanged() -> R {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("j.db");
        {
            let conn = open(&path)?;
            conn.execute_batch(STEPS[0])?;
            conn.execute_batch(&format!("PRAGMA user_version = {};", LATEST + 1))?;
        }
        let before = std::fs::read(&path)?;
        let e = match super::super::Journal::open(&path) {
            Ok(_) => return Err("a newer journal opened".into()),
            Err(e) => e,
        };
        assert!(
            matches!(e, StoreError::NewerSchema { found, known, .. } if found == i64::try_from(LATEST + 1)? && known == LATEST),
            "{e:?}"
        );
        let message = e.to_string();
        for says in [
            path.display().to_string(),
            "newer posagent".into(),
            "restore a backup".into(),
            "nothing was changed".into(),
        ] {
            assert!(message.contains(&says), "{message}");
        }
        assert_eq!(std::fs::read(&path)?, before, "the file is as it was");
        Ok(())
    }

    #[test]
    fn a_failing_migration_leaves_the_journal_as_it_was() -> R {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("j.db");
        let mut conn = open(&path)?;
        migrate(&mut conn, &path)?;
        conn.execute("INSERT INTO day_closures (closed_at, report) VALUES ('t', 'r')", [])?;
        let broken = "CREATE TABLE added (x); DROP TABLE day_closures; INSERT INTO nowhere VALUES (1);";
        let steps: Vec<&'static str> = STEPS.iter().copied().chain([broken]).collect();
        let (at, next) = (i64::try_from(LATEST)?, LATEST + 1);
        let e = match migrate_with(&mut conn, &path, &steps) {
            Ok(()) => return Err("the broken migration ran".into()),
            Err(e) => e,
        };
        assert!(matches!(e, StoreError::Migration { from, to, .. } if from == at && to == next), "{e:?}");
        assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
        assert!(e.to_string().contains("no such table: nowhere"), "{e}");
        assert_eq!(version(&conn, &path)?, at, "still at the version before");
        let found = tables(&conn)?;
        assert!(found.contains(&"day_closures".into()) && !found.contains(&"added".into()), "{found:?}");
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM day_closures", [], |r| r.get(0))?;
        assert_eq!(n, 1, "rolled back whole");
        Ok(())
    }
}
