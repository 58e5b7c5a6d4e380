//! The shop's staff: cashiers with a personal PIN (kept as an argon2id hash in the
//! journal, checked off the runtime one at a time), sign-in with a lock after repeated
//! failures, a supervisor's approval, and the journaled trail of the console's actions.

mod pin;

pub use pin::{PinError, check_pin_form};

use crate::domain::{Cashier, Role, StaffAction, is_cashier_id};
use crate::store::{Journal, NewAction, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Failed sign-ins in a row that lock a cashier.
pub const LOCK_AFTER: u32 = 5;

/// How long a locked cashier waits.
pub const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(5);

/// Why a cashier could not be changed or could not sign in.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// A field of the request is not valid.
    #[error("{message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong, for the person typing it.
        message: String,
    },
    /// No such cashier, a disabled one, or the wrong PIN (never said which).
    #[error("the cashier number or the PIN is not right")]
    WrongPin,
    /// Too many wrong PINs: sign-in refused until then.
    #[error("too many wrong PINs: this cashier can sign in again at {until} (a supervisor can set a new PIN)")]
    Locked {
        /// Until when.
        until: DateTime<Utc>,
    },
    /// An approval needs a supervisor's PIN.
    #[error("cashier {0} is not a supervisor: a supervisor approves with their own number and PIN")]
    NotSupervisor(String),
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PIN could not be hashed or checked.
    #[error(transparent)]
    Pin(#[from] PinError),
}

/// A cashier to add or change.
#[derive(Debug, Clone)]
pub struct CashierChange {
    /// The number.
    pub id: String,
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Whether they can sign in.
    pub active: bool,
    /// A new PIN (needed for a new cashier).
    pub pin: Option<zeroize::Zeroizing<String>>,
}

/// The staff service.
#[derive(Clone)]
pub struct Staff {
    journal: Journal,
    pins: Arc<pin::Hasher>,
}

impl Staff {
    /// Staff kept in `journal`.
    pub fn new(journal: Journal) -> Self {
        Staff { journal, pins: Arc::new(pin::Hasher::new()) }
    }

    /// Adds or changes a cashier; answers it and whether it is new.
    pub async fn put(&self, change: CashierChange) -> Result<(Cashier, bool), StaffError> {
        check_cashier_form(&change.id, &change.name)?;
        let hash = match &change.pin {
            Some(pin) => {
                check_pin_form(pin).map_err(|message| StaffError::Invalid { field: "pin", message })?;
                Some(self.pins.hash(pin.clone()).await?)
            }
            None => None,
        };
        let cashier = Cashier { id: change.id, name: change.name, role: change.role, active: change.active };
        match self.journal.put_cashier(cashier.clone(), hash).await {
            Ok(new) => Ok((cashier, new)),
            Err(StoreError::NotFound(id)) => {
                Err(StaffError::Invalid { field: "pin", message: format!("cashier {id} is new: give a PIN") })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every cashier.
    pub async fn list(&self) -> Result<Vec<Cashier>, StaffError> {
        Ok(self.journal.cashiers().await?)
    }

    /// Checks a cashier's number and PIN: the cashier, or why not. Every failure counts
    /// toward the lock; an unknown number costs the same time as a wrong PIN.
    pub async fn sign_in(&self, id: &str, pin: zeroize::Zeroizing<String>) -> Result<Cashier, StaffError> {
        // A PIN that cannot be one (not 4 to 8 digits) is never hashed as given: it costs
        // the time of a wrong PIN and counts as one.
        let plausible = (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit());
        let pin = if plausible { pin } else { zeroize::Zeroizing::new(String::new()) };
        let found = if is_cashier_id(id) { self.journal.credentials(id.to_string()).await? } else { None };
        let Some(c) = found else {
            self.pins.verify_nothing(pin).await?;
            return Err(StaffError::WrongPin);
        };
        if let Some(until) = c.locked_until.filter(|u| *u > Utc::now()) {
            return Err(StaffError::Locked { until });
        }
        let good = self.pins.verify(pin, c.pin_hash.clone()).await? && c.cashier.active;
        self.journal.record_sign_in(c.cashier.id.clone(), good, LOCK_AFTER, LOCK_FOR).await?;
        if good {
            Ok(c.cashier)
        } else if c.failed_sign_ins + 1 >= LOCK_AFTER {
            Err(StaffError::Locked { until: Utc::now() + LOCK_FOR })
        } else {
            Err(StaffError::WrongPin)
        }
    }

    /// A supervisor's approval: their number and PIN, checked as a sign-in.
    pub async fn approve(&self, id: &str, pin: zeroize::Zeroizing<String>) -> Result<Cashier, StaffError> {
        let c = self.sign_in(id, pin).await?;
        if c.role == Role::Supervisor { Ok(c) } else { Err(StaffError::NotSupervisor(c.id)) }
    }

    /// Journals an action about to be done; answers its number.
    pub async fn begin(&self, action: NewAction) -> Result<i64, StaffError> {
        Ok(self.journal.begin_action(action).await?)
    }

    /// Journals an action already answered (a sign-in or an approval tried), with its status.
    pub async fn record(&self, action: NewAction, status: u16) -> Result<(), StaffError> {
        self.journal.record_action(action, Some(status)).await.map(drop).map_err(StaffError::from)
    }

    /// Records the status an action was answered with.
    pub async fn finish(&self, seq: i64, status: u16) -> Result<(), StaffError> {
        Ok(self.journal.finish_action(seq, status).await?)
    }

    /// The actions done to any of `subjects`.
    pub async fn actions_on(&self, subjects: Vec<String>) -> Result<Vec<StaffAction>, StaffError> {
        Ok(self.journal.actions_on(subjects).await?)
    }
}

/// A cashier's number and name as receipts print them.
fn check_cashier_form(id: &str, name: &str) -> Result<(), StaffError> {
    if !is_cashier_id(id) {
        return Err(StaffError::Invalid {
            field: "id",
            message: "a cashier's number is 1 to 6 digits, not starting with 0".into(),
        });
    }
    let chars = name.chars().count();
    if name.trim() != name || !(1..=40).contains(&chars) || name.chars().any(char::is_control) {
        return Err(StaffError::Invalid {
            field: "name",
            message: "a name is 1 to 40 characters, no control characters or spaces around it".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
