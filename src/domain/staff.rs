//! The shop's staff as the terminal knows them: a cashier with a role, and what someone
//! did at the console (the audit trail of who did what).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a cashier may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Sells, cancels, reprints, refunds up to the store's limit, prints X reports.
    Cashier,
    /// Also voids, refunds over the limit, closes the day (Z report), approves a
    /// cashier's action with their own PIN.
    Supervisor,
}

impl Role {
    /// The name journaled and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "CASHIER",
            Role::Supervisor => "SUPERVISOR",
        }
    }

    /// The role of a journaled name.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "CASHIER" => Some(Role::Cashier),
            "SUPERVISOR" => Some(Role::Supervisor),
            _ => None,
        }
    }
}

/// Whether `id` is a cashier number: 1 to 6 digits, no leading zero (what a cashier types
/// on the sign-in keypad and what receipts print).
pub fn is_cashier_id(id: &str) -> bool {
    (1..=6).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0')
}

/// A member of staff (the PIN's hash stays in the journal: never in this record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cashier {
    /// The cashier's number (see [`is_cashier_id`]).
    pub id: String,
    /// The name shown on the console and printed on receipts.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Disabled cashiers cannot sign in; their sales keep their id.
    pub active: bool,
}

/// One thing done at the console, journaled before it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAction {
    /// Order in the journal.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who did it (a cashier's number).
    pub cashier: String,
    /// The supervisor who approved it with their PIN, when the cashier's role did not allow it.
    pub approved_by: Option<String>,
    /// What (`sale.void`, `return.create`, `report.z`, `session.sign_in`…).
    pub action: String,
    /// The sale, return or cashier it was done to, as the console named it.
    pub subject: Option<String>,
    /// The HTTP status it was answered with; `None` while it runs (or if the terminal
    /// stopped while it ran).
    pub status: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cashier_numbers_are_short_digit_strings() {
        for ok in ["1", "7", "42", "999999"] {
            assert!(is_cashier_id(ok), "{ok}");
        }
        for bad in ["", "0", "07", "1234567", "1a", " 1", "١"] {
            assert!(!is_cashier_id(bad), "{bad}");
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in [Role::Cashier, Role::Supervisor] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap_or_default(), r.as_str());
        }
        assert_eq!(Role::parse("ADMIN"), None);
    }
}
