//! The staff in the journal: cashiers with their PIN's hash and failed sign-ins, and the
//! console's actions (journaled before they are done, their answer's status after).

use super::{Journal, StoreError, corrupt, sqlite};
use crate::domain::{Cashier, Role, StaffAction};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// A cashier with what signing in checks.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The cashier.
    pub cashier: Cashier,
    /// The PIN's argon2id hash (PHC string).
    pub pin_hash: String,
    /// Failed sign-ins since the last good one.
    pub failed_sign_ins: u32,
    /// Until when sign-in is refused after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
}

/// An action about to be done at the console.
#[derive(Debug, Clone)]
pub struct NewAction {
    /// Who.
    pub cashier: String,
    /// Approved by.
    pub approved_by: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub subject: Option<String>,
}

fn time(text: &str, table: &'static str, id: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(corrupt(table, id))
}

fn credentials_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CredentialsRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
}

/// A `cashiers` row as read.
type CredentialsRow = (String, String, String, String, bool, u32, Option<String>);

fn decode_credentials(
    (id, name, role, pin_hash, active, failed_sign_ins, locked_until): CredentialsRow,
) -> Result<Credentials, StoreError> {
    let role = Role::parse(&role).ok_or_else(|| corrupt("cashiers", &id)(format!("role `{role}` is not known")))?;
    let locked_until = locked_until.as_deref().map(|t| time(t, "cashiers", &id)).transpose()?;
    Ok(Credentials { cashier: Cashier { id, name, role, active }, pin_hash, failed_sign_ins, locked_until })
}

fn action_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ActionRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
}

/// A `staff_actions` row as read.
type ActionRow = (i64, String, String, Option<String>, String, Option<String>, Option<u16>);

fn decode_action(
    (seq, at, cashier, approved_by, action, subject, status): ActionRow,
) -> Result<StaffAction, StoreError> {
    let at = time(&at, "staff_actions", &seq.to_string())?;
    Ok(StaffAction { seq, at, cashier, approved_by, action, subject, status })
}

const CREDENTIALS: &str = "SELECT id, name, role, pin_hash, active, failed_sign_ins, locked_until FROM cashiers";
const ACTIONS: &str = "SELECT seq, at, cashier, approved_by, action, subject, status FROM staff_actions";

impl Journal {
    /// Adds a cashier or changes one; `pin_hash` `None` keeps the stored PIN (a new
    /// cashier without one is [`StoreError::NotFound`]: nothing is written).
    pub async fn put_cashier(&self, cashier: Cashier, pin_hash: Option<String>) -> Result<bool, StoreError> {
        self.call_grouped(move |conn, path| {
            let now = Utc::now().to_rfc3339();
            let tx = conn.savepoint().map_err(sqlite(path))?;
            let exists: bool = tx
                .query_row("SELECT 1 FROM cashiers WHERE id = ?1", params![cashier.id], |_| Ok(true))
                .optional()
                .map_err(sqlite(path))?
                .unwrap_or(false);
            match (exists, pin_hash) {
                (false, None) => return Err(StoreError::NotFound(cashier.id)),
                (false, Some(hash)) => tx.execute(
                    "INSERT INTO cashiers (id, name, role, pin_hash, active, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    params![cashier.id, cashier.name, cashier.role.as_str(), hash, cashier.active, now],
                ),
                // A new PIN clears the failures and the lock it was set for.
                (true, Some(hash)) => tx.execute(
                    "UPDATE cashiers SET name = ?2, role = ?3, pin_hash = ?4, active = ?5, updated_at = ?6,
                     failed_sign_ins = 0, locked_until = NULL WHERE id = ?1",
                    params![cashier.id, cashier.name, cashier.role.as_str(), hash, cashier.active, now],
                ),
                (true, None) => tx.execute(
                    "UPDATE cashiers SET name = ?2, role = ?3, active = ?4, updated_at = ?5 WHERE id = ?1",
                    params![cashier.id, cashier.name, cashier.role.as_str(), cashier.active, now],
                ),
            }
            .map_err(sqlite(path))?;
            tx.commit().map_err(sqlite(path))?;
            Ok(!exists)
        })
        .await
    }

    /// Every cashier, by number.
    pub async fn cashiers(&self) -> Result<Vec<Cashier>, StoreError> {
        self.call_grouped(|conn, path| {
            let mut stmt =
                conn.prepare_cached(&format!("{CREDENTIALS} ORDER BY CAST(id AS INTEGER)")).map_err(sqlite(path))?;
            let rows = stmt.query_map([], credentials_row).map_err(sqlite(path))?;
            rows.map(|r| r.map_err(sqlite(path)).and_then(decode_credentials).map(|c| c.cashier)).collect()
        })
        .await
    }

    /// A cashier with their PIN's hash and failures, if there is one of that number.
    pub async fn credentials(&self, id: String) -> Result<Option<Credentials>, StoreError> {
        self.call_grouped(move |conn, path| {
            let row = conn
                .query_row(&format!("{CREDENTIALS} WHERE id = ?1"), params![id], credentials_row)
                .optional()
                .map_err(sqlite(path))?;
            row.map(decode_credentials).transpose()
        })
        .await
    }

    /// Records a sign-in's outcome: a good one clears the failures; a failed one counts,
    /// and the `lock_after`th in a row locks the cashier until `now + lock_for`.
    pub async fn record_sign_in(
        &self,
        id: String,
        good: bool,
        lock_after: u32,
        lock_for: chrono::Duration,
    ) -> Result<(), StoreError> {
        self.call_grouped(move |conn, path| {
            let sql = if good {
                "UPDATE cashiers SET failed_sign_ins = 0, locked_until = NULL WHERE id = ?1"
            } else {
                "UPDATE cashiers SET failed_sign_ins = failed_sign_ins + 1,
                 locked_until = CASE WHEN failed_sign_ins + 1 >= ?2 THEN ?3 ELSE locked_until END WHERE id = ?1"
            };
            let until = (Utc::now() + lock_for).to_rfc3339();
            let mut stmt = conn.prepare_cached(sql).map_err(sqlite(path))?;
            if good { stmt.execute(params![id]) } else { stmt.execute(params![id, lock_after, until]) }
                .map_err(sqlite(path))?;
            Ok(())
        })
        .await
    }

    /// Journals an action about to be done; answers its number for [`Self::finish_action`].
    pub async fn begin_action(&self, a: NewAction) -> Result<i64, StoreError> {
        self.record_action(a, None).await
    }

    /// Journals an action with the status it was answered with (`None`: not yet);
    /// answers its number.
    pub async fn record_action(&self, a: NewAction, status: Option<u16>) -> Result<i64, StoreError> {
        self.call_grouped(move |conn, path| {
            conn.prepare_cached(
                "INSERT INTO staff_actions (at, cashier, approved_by, action, subject, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![Utc::now().to_rfc3339(), a.cashier, a.approved_by, a.action, a.subject, status])
            })
            .map_err(sqlite(path))?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    /// Records the status an action was answered with.
    pub async fn finish_action(&self, seq: i64, status: u16) -> Result<(), StoreError> {
        self.call_grouped(move |conn, path| {
            conn.prepare_cached("UPDATE staff_actions SET status = ?2 WHERE seq = ?1")
                .and_then(|mut s| s.execute(params![seq, status]))
                .map_err(sqlite(path))?;
            Ok(())
        })
        .await
    }

    /// The actions done to any of `subjects` (a sale's id and reference), oldest first.
    pub async fn actions_on(&self, subjects: Vec<String>) -> Result<Vec<StaffAction>, StoreError> {
        self.call_grouped(move |conn, path| {
            let mut stmt = conn
                .prepare_cached(&format!("{ACTIONS} WHERE subject IN (SELECT value FROM json_each(?1)) ORDER BY seq"))
                .map_err(sqlite(path))?;
            let list = serde_json::Value::from(subjects).to_string();
            let rows = stmt.query_map(params![list], action_row).map_err(sqlite(path))?;
            rows.map(|r| r.map_err(sqlite(path)).and_then(decode_action)).collect()
        })
        .await
    }
}
