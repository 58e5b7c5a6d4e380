//! What the terminal answers store IT and its monitoring: the X and Z reports, the
//! reconciliation, the queue of operations waiting for the acquirer, the log level,
//! `/health` and the console's info. Every object is closed (`deny_unknown_fields`).

use chrono::{DateTime, NaiveDate, Utc};
use posagent_acquirer_api::Currency;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// X (mid-day) or Z (closes the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub enum ReportKind {
    X,
    Z,
}

/// Totals of one tender and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenderTotal {
    /// Tender.
    pub method: String,
    /// Currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: Currency,
    /// Approved sales.
    pub sales_count: u32,
    /// Their amount, minor units.
    pub sales_amount: i64,
    /// Refunds.
    pub refunds_count: u32,
    /// Their amount, minor units.
    pub refunds_amount: i64,
    /// Sales less refunds.
    pub net_amount: i64,
}

/// The acquirer's settlement of one currency for a day: what it settles, its fees, the
/// VAT on them, chargebacks and what it pays out (`net − fees − fee_vat − chargebacks`),
/// all in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementTotals {
    /// Currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: String,
    /// Settled sales (captures).
    pub sales: i64,
    /// Settled returns (refunds).
    pub returns: i64,
    /// Sales less returns.
    pub net: i64,
    /// The acquirer's fees.
    pub fees: i64,
    /// VAT on the fees.
    pub fee_vat: i64,
    /// Chargebacks.
    pub chargebacks: i64,
    /// Paid out to the store.
    pub payout: i64,
}

/// An X or Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayReport {
    /// X or Z.
    pub kind: ReportKind,
    /// The Z report's number; null for an X report.
    pub number: Option<i64>,
    /// Period start.
    pub from: DateTime<Utc>,
    /// Period end.
    pub to: DateTime<Utc>,
    /// Per tender and currency.
    pub totals: Vec<TenderTotal>,
    /// Declined sales.
    pub declined: u32,
    /// Canceled sales.
    pub canceled: u32,
    /// Sales still open.
    pub open: u32,
    /// Card payments approved offline and not yet forwarded to the acquirer.
    #[schema(minimum = 0)]
    pub offline_pending: u32,
    /// Whether it printed.
    pub printed: bool,
    /// Why it did not.
    pub print_error: Option<String>,
    /// The acquirer's settlement of the report's day (the UTC date of `to`) per currency,
    /// with fees and payout; empty when it could not be had (then `settlement_error`).
    pub settlement: Vec<SettlementTotals>,
    /// Why the acquirer's settlement is not in the report.
    pub settlement_error: Option<String>,
    /// The number of the console's cashier who asked for it (and closed the day, for a Z);
    /// null for the register's.
    #[schema(pattern = r"^[1-9][0-9]{0,5}$")]
    pub cashier: Option<String>,
}

/// The side that lacks an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DifferenceKind {
    MissingAtAcquirer,
    MissingLocally,
}

/// A sale or a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EntryType {
    Sale,
    Return,
}

/// One entry only one side has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// The side that lacks the entry.
    pub kind: DifferenceKind,
    /// Sale or return.
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    /// The sale's reference (of a return: its purchase's).
    pub reference: String,
    /// The transaction.
    pub payment_transaction_id: String,
    /// Minor units.
    pub amount: i64,
    /// Currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: String,
}

/// The day's reconciliation against the acquirer's settlement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reconciliation {
    /// The day.
    pub date: NaiveDate,
    /// Entries both sides agree on.
    #[schema(minimum = 0)]
    pub matched: usize,
    /// Entries one side lacks.
    pub differences: Vec<Difference>,
    /// The acquirer's totals of the day per currency, with fees and payout (fees are
    /// not differences: the entries are compared by their amounts).
    pub settlement: Vec<SettlementTotals>,
}

/// What a queued operation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Subject {
    Sale,
    Return,
}

/// The acquirer operation queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum OpKind {
    Authorize,
    Capture,
    Refund,
    Void,
    Reverse,
}

/// Waiting, done, or refused for good (a dead letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum OpState {
    Pending,
    Done,
    Dead,
}

impl OpState {
    /// The state as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Pending => "PENDING",
            OpState::Done => "DONE",
            OpState::Dead => "DEAD",
        }
    }
}

impl OpKind {
    /// The kind as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Authorize => "AUTHORIZE",
            OpKind::Capture => "CAPTURE",
            OpKind::Refund => "REFUND",
            OpKind::Void => "VOID",
            OpKind::Reverse => "REVERSE",
        }
    }
}

/// An operation queued for the acquirer (its request body is never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueuedOperation {
    /// Queue id.
    pub id: i64,
    /// The payment whose operations go one at a time, in order.
    pub group: String,
    /// Sale or return.
    pub subject: Subject,
    /// The sale's or return's id.
    pub subject_id: String,
    /// What is asked of the acquirer.
    pub kind: OpKind,
    /// Where it stands.
    pub state: OpState,
    /// The key it is sent under.
    pub idempotency_key: String,
    /// The transaction.
    pub payment_transaction_id: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// Currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: String,
    /// Sends so far.
    #[schema(minimum = 0)]
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Queued at (Unix ms).
    pub created_ms: i64,
    /// Next send (Unix ms).
    pub next_attempt_ms: i64,
    /// Last change (Unix ms).
    pub updated_ms: i64,
}

/// `GET /v1/queue`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueList {
    /// The operations.
    pub operations: Vec<QueuedOperation>,
}

/// Counts of the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSummary {
    /// Waiting.
    #[schema(minimum = 0)]
    pub pending: i64,
    /// Refused for good.
    #[schema(minimum = 0)]
    pub dead: i64,
    /// Done and not yet pruned.
    #[schema(minimum = 0)]
    pub done: i64,
    /// When the oldest waiting operation was queued (Unix ms); null when none waits.
    pub oldest_pending_ms: Option<i64>,
}

/// `GET /v1/queue/summary`, `POST /v1/queue/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueState {
    /// Counts.
    pub summary: QueueSummary,
    /// Whether the acquirer answered the last call.
    pub acquirer_online: bool,
}

/// `/v1/log-level`: the filter in force (empty: the start-up default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogLevel {
    /// The filter in force (empty: the start-up default).
    pub level: String,
}

/// `GET /console/info`: what the console needs to format amounts and offer the methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleInfo {
    /// The store's currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: Currency,
    /// The currency's minor unit digits (ISO 4217): an amount is amount / 10^exponent of it.
    #[schema(minimum = 0, maximum = 4)]
    pub exponent: u8,
    /// The store's locale.
    #[schema(pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub locale: String,
    /// The terminal takes cards.
    pub card_reader: bool,
}

/// `GET /v1/offline`: what the terminal may still approve while the acquirer is
/// unreachable (card payments only; Klarna is never offered offline), in the store's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineRoom {
    /// Whether card payments are approved offline at all (a card reader and `offline.card_payments`).
    pub card_payments: bool,
    /// The store's currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: Currency,
    /// The largest payment approved offline, minor units.
    #[schema(minimum = 0)]
    pub floor_limit: i64,
    /// What may still be approved offline in all, minor units.
    #[schema(minimum = 0)]
    pub total_left: i64,
    /// How many more payments may be approved offline.
    #[schema(minimum = 0)]
    pub count_left: i64,
    /// Approved offline and not yet forwarded: their sum, minor units.
    #[schema(minimum = 0)]
    pub waiting_total: i64,
    /// And how many.
    #[schema(minimum = 0)]
    pub waiting_count: i64,
}

/// One part of the terminal that is not as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthProblem {
    /// `display`, `printer`, `card_reader`, `acquirer`, `queue` or `journal`.
    #[schema(value_type = crate::schema::Part)]
    pub part: String,
    /// What is wrong.
    pub reason: String,
}

/// A device as the daemon sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceStatus {
    /// `display`, `printer` or `card_reader`.
    #[schema(value_type = crate::schema::Device)]
    pub device: String,
    /// Where it is.
    pub endpoint: String,
    /// Whether it is open.
    pub connected: bool,
    /// Its last error.
    pub last_error: Option<String>,
    /// Its firmware version.
    pub firmware: Option<String>,
    /// False: a firmware version the device profile was not validated with.
    pub firmware_validated: Option<bool>,
    /// The device reports itself out of service (card reader: e.g. TAMPER (0x32)), also while
    /// no sale is open.
    pub fault: Option<String>,
    /// What the device reports of itself now (printer status: paper_out, paper_low,
    /// cover_open, error; card reader: out_of_service); each is also posagent_device_condition
    /// in /metrics.
    #[schema(value_type = Vec<crate::schema::Condition>)]
    pub conditions: Vec<String>,
}

/// Whether the acquirer answered the last call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcquirerStatus {
    /// It did.
    pub online: bool,
}

/// `GET /health` (200 ok or degraded, 503 down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok`, `degraded` or `down`.
    #[schema(value_type = crate::schema::HealthStatus)]
    pub status: String,
    /// What is wrong.
    pub problems: Vec<HealthProblem>,
    /// The devices.
    pub devices: Vec<DeviceStatus>,
    /// The acquirer.
    pub acquirer: AcquirerStatus,
    /// Null when the journal cannot be read.
    pub queue: Option<QueueSummary>,
}
