//! What the end-of-day reports read from the journal: sales and returns changed since a
//! moment, and the day closures (Z reports).

use super::{Journal, StoreError, corrupt, decode, sqlite};
use crate::domain::{ReturnRecord, Sale};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::de::DeserializeOwned;

impl Journal {
    /// Records of `table` (sales or returns) created at or after `since`, oldest first.
    async fn created_since<T: DeserializeOwned + Send + 'static>(
        &self,
        table: &'static str,
        since: DateTime<Utc>,
    ) -> Result<Vec<T>, StoreError> {
        self.call_grouped(move |conn, path| {
            let err = sqlite(path);
            let sql = format!("SELECT id, data FROM {table} WHERE created_at >= ?1 ORDER BY created_at");
            let mut st = conn.prepare(&sql).map_err(&err)?;
            let rows = st
                .query_map(params![since.to_rfc3339()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(&err)?;
            let mut out = vec![];
            for row in rows {
                let (id, data) = row.map_err(&err)?;
                out.push(decode(table, &id, &data)?);
            }
            Ok(out)
        })
        .await
    }

    /// Sales created at or after `since`.
    pub async fn sales_since(&self, since: DateTime<Utc>) -> Result<Vec<Sale>, StoreError> {
        self.created_since("sales", since).await
    }

    /// Returns created at or after `since`.
    pub async fn returns_since(&self, since: DateTime<Utc>) -> Result<Vec<ReturnRecord>, StoreError> {
        self.created_since("returns", since).await
    }

    /// When the day was last closed, if ever.
    pub async fn last_closure(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.call_grouped(|conn, path| {
            let last: Option<(i64, String)> = conn
                .query_row("SELECT seq, closed_at FROM day_closures ORDER BY seq DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(sqlite(path))?;
            let Some((seq, at)) = last else { return Ok(None) };
            let at = DateTime::parse_from_rfc3339(&at).map_err(corrupt("day_closures", seq.to_string()))?;
            Ok(Some(at.with_timezone(&Utc)))
        })
        .await
    }

    /// Records a day closure with its report; returns its number.
    pub async fn close_day(&self, at: DateTime<Utc>, report: String) -> Result<i64, StoreError> {
        self.call_grouped(move |conn, path| {
            conn.execute(
                "INSERT INTO day_closures (closed_at, report) VALUES (?1, ?2)",
                params![at.to_rfc3339(), report],
            )
            .map_err(sqlite(path))?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }
}
