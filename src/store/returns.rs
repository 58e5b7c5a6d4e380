//! Returns in the journal: written before the refund is asked for, updated after.

use super::{Journal, StoreError, decode, sqlite};
use crate::domain::ReturnRecord;
use rusqlite::{OptionalExtension, params};

fn encode(r: &ReturnRecord) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|source| StoreError::Encode { id: r.id.clone(), source })
}

/// Inserts or updates a return on `conn` (a connection or a transaction).
pub(super) fn save_return_in(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    r: &ReturnRecord,
) -> Result<(), StoreError> {
    write_return_in(
        conn,
        path,
        r,
        "DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at",
    )
}

/// Inserts a new return inside the caller's transaction; one already journaled is left
/// as it is stored (a caller's copy may be older than what the sync worker wrote).
pub(super) fn insert_return_in(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    r: &ReturnRecord,
) -> Result<(), StoreError> {
    write_return_in(conn, path, r, "DO NOTHING")
}

/// Inserts `r`; a row of the same id gets `on_conflict` (an `ON CONFLICT(id)` action).
fn write_return_in(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    r: &ReturnRecord,
    on_conflict: &'static str,
) -> Result<(), StoreError> {
    let data = encode(r)?;
    let sql = format!(
        "INSERT INTO returns (id, reference, original_reference, state, data, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) {on_conflict}"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.execute(params![
                r.id,
                r.reference,
                r.original_reference,
                r.state.as_str(),
                data,
                r.created_at.to_rfc3339(),
                r.updated_at.to_rfc3339()
            ])
        })
        .map_err(sqlite(path))?;
    Ok(())
}

/// Reads a return by id inside the caller's transaction.
pub(super) fn return_in(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    id: &str,
) -> Result<ReturnRecord, StoreError> {
    let data: Option<String> = conn
        .query_row("SELECT data FROM returns WHERE id = ?1", params![id], |r| r.get(0))
        .optional()
        .map_err(sqlite(path))?;
    let data = data.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    decode("returns", id, &data)
}

impl Journal {
    /// Inserts a new return, or updates it.
    pub async fn save_return(&self, r: ReturnRecord) -> Result<(), StoreError> {
        self.call_grouped(move |conn, path| save_return_in(conn, path, &r)).await
    }

    /// Changes the journaled return `id` with `f`, in one step on the stored record (never
    /// from a copy a slower caller holds, which could undo what the sync worker wrote).
    pub async fn amend_return(
        &self,
        id: String,
        f: impl FnOnce(&mut ReturnRecord) + Send + 'static,
    ) -> Result<ReturnRecord, StoreError> {
        self.call_grouped(move |conn, path| {
            let tx = conn.savepoint().map_err(sqlite(path))?;
            let mut r = return_in(&tx, path, &id)?;
            f(&mut r);
            r.updated_at = chrono::Utc::now();
            save_return_in(&tx, path, &r)?;
            tx.commit().map_err(sqlite(path))?;
            Ok(r)
        })
        .await
    }

    /// A return by id or reference.
    pub async fn find_return(&self, id_or_reference: String) -> Result<Option<ReturnRecord>, StoreError> {
        self.call_grouped(move |conn, path| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT id, data FROM returns WHERE id = ?1 OR reference = ?1",
                    params![id_or_reference],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sqlite(path))?;
            row.map(|(id, data)| decode("returns", &id, &data)).transpose()
        })
        .await
    }
}

impl Journal {
    /// The returns of one original purchase, oldest first.
    pub async fn returns_of(&self, original_reference: String) -> Result<Vec<ReturnRecord>, StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let mut stmt = conn
                .prepare("SELECT id, data FROM returns WHERE original_reference = ?1 ORDER BY created_at")
                .map_err(&err)?;
            let rows = stmt
                .query_map(params![original_reference], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(&err)?;
            let mut out = vec![];
            for row in rows {
                let (id, data) = row.map_err(&err)?;
                out.push(decode("returns", &id, &data)?);
            }
            Ok(out)
        })
        .await
    }
}
