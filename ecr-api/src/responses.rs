//! What the terminal answers: sales, returns, reports, the queue, the log level, health.
//! Every object is closed (`deny_unknown_fields`), as `docs/ecr-api.yaml` says.

use chrono::{DateTime, NaiveDate, Utc};
use posagent_acquirer_api::{
    CaptureMode, Currency, InteroperabilityStatus, LineItem, PaymentDescriptors, PaymentMethod,
    PresentationInstruction, TransactionState,
};
use serde::{Deserialize, Serialize};

/// Where a sale is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum SaleState {
    Created,
    AvailabilityChecked,
    AwaitingMethod,
    QrShown,
    CustomerInProgress,
    CustomerCompleted,
    AwaitingCard,
    Authorizing,
    Approved,
    Declined,
    Canceled,
    Expired,
    Unavailable,
    Failed,
}

impl SaleState {
    /// The state as it is on the wire, e.g. `QR_SHOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            SaleState::Created => "CREATED",
            SaleState::AvailabilityChecked => "AVAILABILITY_CHECKED",
            SaleState::AwaitingMethod => "AWAITING_METHOD",
            SaleState::QrShown => "QR_SHOWN",
            SaleState::CustomerInProgress => "CUSTOMER_IN_PROGRESS",
            SaleState::CustomerCompleted => "CUSTOMER_COMPLETED",
            SaleState::AwaitingCard => "AWAITING_CARD",
            SaleState::Authorizing => "AUTHORIZING",
            SaleState::Approved => "APPROVED",
            SaleState::Declined => "DECLINED",
            SaleState::Canceled => "CANCELED",
            SaleState::Expired => "EXPIRED",
            SaleState::Unavailable => "UNAVAILABLE",
            SaleState::Failed => "FAILED",
        }
    }
}

impl std::fmt::Display for SaleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A card payment approved offline: where its forwarding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum OfflineStatus {
    Queued,
    Forwarded,
    Declined,
}

/// A card authorization whose answer never came, reversed because the sale ended otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ReversalStatus {
    Queued,
    Reversed,
    NothingFound,
    Refused,
}

/// A sale as the register sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sale {
    /// Internal id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// State.
    pub state: SaleState,
    /// Tender; absent while the customer is still choosing.
    pub method: Option<PaymentMethod>,
    /// The methods the customer was offered (a `CHOICE` sale; empty otherwise).
    pub offered_methods: Vec<PaymentMethod>,
    /// Why Klarna was not offered to a customer choosing on the terminal.
    pub klarna_unavailable_reason: Option<String>,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Klarna's interoperability status.
    pub interoperability_status: Option<InteroperabilityStatus>,
    /// Klarna payment request id.
    pub payment_request_id: Option<String>,
    /// URL in the QR code.
    pub payment_request_url: Option<String>,
    /// Expiry of the payment request.
    pub payment_request_expires_at: Option<DateTime<Utc>>,
    /// Transaction id.
    pub payment_transaction_id: Option<String>,
    /// Klarna reference.
    pub klarna_reference: Option<String>,
    /// Masked PAN of a card sale.
    pub masked_pan: Option<String>,
    /// Entry mode of a card sale (`CHIP`, `CONTACTLESS`, `SWIPE`).
    pub entry_mode: Option<String>,
    /// How the cardholder was verified (a card sale).
    pub cvm: Option<String>,
    /// AID of the card application read (hex).
    pub aid: Option<String>,
    /// The card application's label.
    pub application_label: Option<String>,
    /// The issuer's authorization code (a card payment).
    pub authorization_code: Option<String>,
    /// The issuer asked for the PIN.
    pub pin_required: bool,
    /// Why it ended as it did.
    pub reason: Option<String>,
    /// It ended unpaid: `POST /v1/sales/{id}/retry` starts the purchase again.
    pub retryable: bool,
    /// The reference of the unpaid sale this one tries again.
    pub retry_of: Option<String>,
    /// Capture mode.
    pub capture: CaptureMode,
    /// Captured so far.
    pub captured_amount: i64,
    /// The rest of the authorization was released.
    pub voided: bool,
    /// Approved offline: where its forwarding stands (absent for online sales).
    pub offline: Option<OfflineStatus>,
    /// Captures queued while the acquirer is unreachable, minor units.
    pub queued_capture_amount: i64,
    /// A void is queued while the acquirer is unreachable.
    pub void_queued: bool,
    /// Why the acquirer refused a queued operation of this sale.
    pub sync_error: Option<String>,
    /// A reversed authorization whose answer never came.
    pub reversal: Option<ReversalStatus>,
    /// The acquirer's state of the transaction, kept current from its event stream.
    pub transaction_state: Option<TransactionState>,
    /// Refunded on the transaction so far, wherever it was refunded, minor units.
    pub refunded_amount: i64,
    /// Whether the receipt is printed.
    pub receipt_printed: bool,
    /// Why it is not (e.g. out of paper).
    pub receipt_error: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One change journaled for a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// Order within the sale, from 1.
    pub seq: i64,
    /// State entered.
    pub state: SaleState,
    /// What happened.
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// `GET /v1/sales/{id}/history`: the sale and every change journaled for it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleHistory {
    /// The sale now.
    pub sale: Sale,
    /// Its changes.
    pub history: Vec<HistoryEntry>,
}

/// Where a return's refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ReturnState {
    Pending,
    Refunded,
    Refused,
}

/// A return (a refund at the counter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Return {
    /// Internal id.
    pub id: String,
    /// The return's reference.
    pub reference: String,
    /// The purchase's reference.
    pub original_reference: String,
    /// The purchase's transaction.
    pub payment_transaction_id: String,
    /// The purchase's Klarna reference.
    pub klarna_reference: String,
    /// The purchase's tender.
    pub method: PaymentMethod,
    /// The card refunded, for a card purchase made at this terminal.
    pub masked_pan: Option<String>,
    /// Refunded amount, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// The lines returned.
    pub lines: Vec<LineItem>,
    /// Where the refund stands.
    pub state: ReturnState,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The refund's idempotency key.
    pub idempotency_key: String,
    /// The acquirer's refund id.
    pub payment_refund_id: Option<String>,
    /// Whether the return receipt is printed.
    pub receipt_printed: bool,
    /// Why it is not.
    pub receipt_error: Option<String>,
    /// The return receipt's locale.
    pub locale: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// X (mid-day) or Z (closes the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum ReportKind {
    X,
    Z,
}

/// Totals of one tender and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenderTotal {
    /// Tender.
    pub method: String,
    /// Currency.
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

/// An X or Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayReport {
    /// X or Z.
    pub kind: ReportKind,
    /// The Z report's number; none for an X report.
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
    /// Card payments approved offline and not yet forwarded.
    pub offline_pending: u32,
    /// Whether it printed.
    pub printed: bool,
    /// Why it did not.
    pub print_error: Option<String>,
}

/// The side that lacks an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DifferenceKind {
    MissingAtAcquirer,
    MissingLocally,
}

/// A sale or a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EntryType {
    Sale,
    Return,
}

/// One entry only one side has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// The side that lacks it.
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
    pub currency: String,
}

/// The day's reconciliation against the acquirer's settlement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconciliation {
    /// The day.
    pub date: NaiveDate,
    /// Entries both sides agree on.
    pub matched: usize,
    /// Entries one side lacks.
    pub differences: Vec<Difference>,
}

/// What a queued operation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Subject {
    Sale,
    Return,
}

/// The acquirer operation queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub currency: String,
    /// Sends so far.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueList {
    /// The operations.
    pub operations: Vec<QueuedOperation>,
}

/// Counts of the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSummary {
    /// Waiting.
    pub pending: i64,
    /// Refused for good.
    pub dead: i64,
    /// Done and not yet pruned.
    pub done: i64,
    /// When the oldest waiting operation was queued (Unix ms).
    pub oldest_pending_ms: Option<i64>,
}

/// `GET /v1/queue/summary`, `POST /v1/queue/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueState {
    /// Counts.
    pub summary: QueueSummary,
    /// Whether the acquirer answered the last call.
    pub acquirer_online: bool,
}

/// `/v1/log-level`: the filter in force (empty: the start-up default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLevel {
    /// The filter.
    pub level: String,
}

/// `GET /console/info`: what the console needs to format amounts and offer the methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleInfo {
    /// The store's currency.
    pub currency: Currency,
    /// Its minor unit digits.
    pub exponent: u8,
    /// The store's locale.
    pub locale: String,
    /// The terminal takes cards.
    pub card_reader: bool,
}

/// One part of the terminal that is not as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthProblem {
    /// `display`, `printer`, `card_reader`, `acquirer`, `queue` or `journal`.
    pub part: String,
    /// What is wrong.
    pub reason: String,
}

/// A device as the daemon sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceStatus {
    /// `display`, `printer` or `card_reader`.
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
    /// The device reports itself out of service.
    pub fault: Option<String>,
    /// What the device reports of itself now (`paper_out`, …).
    pub conditions: Vec<String>,
}

/// Whether the acquirer answered the last call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcquirerStatus {
    /// It did.
    pub online: bool,
}

/// `GET /health` (200 ok or degraded, 503 down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok`, `degraded` or `down`.
    pub status: String,
    /// What is wrong.
    pub problems: Vec<HealthProblem>,
    /// The devices.
    pub devices: Vec<DeviceStatus>,
    /// The acquirer.
    pub acquirer: AcquirerStatus,
    /// The queue; none when the journal cannot be read.
    pub queue: Option<QueueSummary>,
}

/// Where an availability answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Source {
    /// Asked the acquirer now.
    Live,
    /// A recent answer to the same question.
    Cache,
}

/// `GET /v1/klarna`: whether to show Klarna for an amount, with Klarna's wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KlarnaAvailability {
    /// Klarna may be offered.
    pub available: bool,
    /// Klarna's interoperability status, when the acquirer answered.
    pub status: Option<InteroperabilityStatus>,
    /// Klarna's instruction for the purchase.
    pub instruction: Option<PresentationInstruction>,
    /// Why not, when not.
    pub reason: Option<String>,
    /// Klarna's wording for the locale (the last known, also offline).
    pub descriptors: Option<PaymentDescriptors>,
    /// When the acquirer was asked.
    pub checked_at: Option<DateTime<Utc>>,
    /// How old the answer is, seconds.
    pub age_secs: Option<i64>,
    /// Live or cached.
    pub source: Source,
}
