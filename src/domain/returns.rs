//! A return (a refund at the counter) as journaled and as the register sees it.

use chrono::{DateTime, Utc};
use posagent_acquirer_api::{Currency, LineItem};
use serde::{Deserialize, Serialize};

/// Where a return is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ReturnState {
    /// Journaled; the refund is being asked for.
    Pending,
    /// The acquirer refunded it.
    Refunded,
    /// The acquirer refused it (see `reason`).
    Refused,
}

impl ReturnState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnState::Pending => "PENDING",
            ReturnState::Refunded => "REFUNDED",
            ReturnState::Refused => "REFUSED",
        }
    }
}

/// A return as journaled and as the register sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRecord {
    /// Internal id.
    pub id: String,
    /// The return's reference (the register's, or generated).
    pub reference: String,
    /// Reference of the purchase (an in-store sale or an online order).
    pub original_reference: String,
    /// The purchase's transaction.
    pub payment_transaction_id: String,
    /// Klarna's reference of the purchase.
    pub klarna_reference: String,
    /// Tender of the purchase.
    pub method: posagent_acquirer_api::PaymentMethod,
    /// The card refunded (masked PAN: first 6 and last 4 digits), for a card purchase of
    /// this terminal.
    #[serde(default)]
    pub masked_pan: Option<String>,
    /// Amount refunded, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Lines returned (empty for an amount-only return).
    pub lines: Vec<LineItem>,
    /// State.
    pub state: ReturnState,
    /// Why refused.
    pub reason: Option<String>,
    /// Idempotency key of the refund, journaled with the return before it is asked for.
    pub idempotency_key: String,
    /// The acquirer's refund id.
    pub payment_refund_id: Option<String>,
    /// Return receipt printed.
    pub receipt_printed: bool,
    /// Why not.
    pub receipt_error: Option<String>,
    /// Locale of the receipt.
    pub locale: String,
    /// The cashier who made it at the console; none for a register's return.
    #[serde(default)]
    pub cashier: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
