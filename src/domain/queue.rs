//! Operations queued for the acquirer (store-and-forward), as the journal holds them.

use serde::{Deserialize, Serialize};

/// What a queued operation does at the acquirer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OpKind {
    /// A card payment approved offline, forwarded for authorization.
    Authorize,
    /// A capture of an authorization.
    Capture,
    /// A refund (a return).
    Refund,
    /// A void of what is left of an authorization.
    Void,
    /// A reversal, by the sale's reference, of an authorization whose answer never came.
    Reverse,
}

impl OpKind {
    /// The wire and column name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Authorize => "AUTHORIZE",
            OpKind::Capture => "CAPTURE",
            OpKind::Refund => "REFUND",
            OpKind::Void => "VOID",
            OpKind::Reverse => "REVERSE",
        }
    }

    /// Parses a column value.
    pub fn parse(s: &str) -> Option<Self> {
        [OpKind::Authorize, OpKind::Capture, OpKind::Refund, OpKind::Void, OpKind::Reverse]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a queued operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OpState {
    /// Waiting to be sent (or to be sent again).
    Pending,
    /// The acquirer took it.
    Done,
    /// The acquirer definitively refused it: store IT decides (`posagent queue retry`).
    Dead,
}

impl OpState {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Pending => "PENDING",
            OpState::Done => "DONE",
            OpState::Dead => "DEAD",
        }
    }

    /// Parses a column value.
    pub fn parse(s: &str) -> Option<Self> {
        [OpState::Pending, OpState::Done, OpState::Dead].into_iter().find(|k| k.as_str() == s)
    }
}

/// The record a queued operation updates once the acquirer has answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Subject {
    /// A sale (`subject_id` is its id).
    Sale,
    /// A return (`subject_id` is its id).
    Return,
}

impl Subject {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Sale => "SALE",
            Subject::Return => "RETURN",
        }
    }

    /// Parses a column value.
    pub fn parse(s: &str) -> Option<Self> {
        [Subject::Sale, Subject::Return].into_iter().find(|k| k.as_str() == s)
    }
}

/// An operation to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOp {
    /// Operations with the same group go out one after another, in order: the sale id
    /// of the payment they act on (or its transaction id for an online order).
    pub group: String,
    /// The record to update with the outcome.
    pub subject: Subject,
    /// Its id.
    pub subject_id: String,
    /// What to do.
    pub kind: OpKind,
    /// The key stored with it, sent with every attempt.
    pub idempotency_key: String,
    /// The transaction acted on; `None` for a payment not yet forwarded (filled in from
    /// the sale once its authorization went through).
    pub payment_transaction_id: Option<String>,
    /// The request body of the single endpoint.
    pub request: serde_json::Value,
    /// Amount in minor units (0 for a void).
    pub amount: i64,
    /// ISO 4217 currency.
    pub currency: String,
}

impl NewOp {
    /// The operation as queued under `id`, to send it at once.
    pub fn due(&self, id: i64) -> DueOp {
        DueOp {
            id,
            group: self.group.clone(),
            subject: self.subject,
            subject_id: self.subject_id.clone(),
            kind: self.kind,
            idempotency_key: self.idempotency_key.clone(),
            payment_transaction_id: self.payment_transaction_id.clone(),
            request: self.request.clone(),
            attempts: 0,
        }
    }
}

/// A queued operation as store IT sees it (no request body: it may hold an encrypted
/// card read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedOp {
    /// Queue position.
    pub id: i64,
    /// Ordering group (sale id).
    pub group: String,
    /// Record updated by the outcome (`SALE` or `RETURN`).
    pub subject: String,
    /// Its id.
    pub subject_id: String,
    /// Operation.
    pub kind: OpKind,
    /// State.
    pub state: OpState,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Transaction, when known.
    pub payment_transaction_id: Option<String>,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Last failure or the refusal.
    pub last_error: Option<String>,
    /// Queued at (Unix ms).
    pub created_ms: i64,
    /// Next attempt not before (Unix ms).
    pub next_attempt_ms: i64,
    /// Last change (Unix ms).
    pub updated_ms: i64,
}

/// Counts for /metrics, /health, `posagent queue` and the offline policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSummary {
    /// Operations waiting.
    pub pending: i64,
    /// Operations refused definitively.
    pub dead: i64,
    /// Operations done and not yet pruned.
    pub done: i64,
    /// Queued time of the oldest waiting operation (Unix ms).
    pub oldest_pending_ms: Option<i64>,
}

/// An operation as the sync worker sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct DueOp {
    /// Queue position.
    pub id: i64,
    /// Group.
    pub group: String,
    /// Record to update.
    pub subject: Subject,
    /// Its id.
    pub subject_id: String,
    /// Operation.
    pub kind: OpKind,
    /// Key.
    pub idempotency_key: String,
    /// Transaction (resolved from the sale when it was queued before its authorization).
    pub payment_transaction_id: Option<String>,
    /// Request body.
    pub request: serde_json::Value,
    /// Attempts so far.
    pub attempts: i64,
}

/// Unforwarded offline card approvals in one currency (for the offline limits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfflineExposure {
    /// Sum of their amounts, minor units.
    pub total: i64,
    /// How many.
    pub count: i64,
    /// When the oldest was approved (Unix ms).
    pub oldest_ms: Option<i64>,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
