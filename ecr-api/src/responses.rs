//! What the terminal answers of sales, returns and Klarna's availability (reports, the
//! queue, health: `back_office.rs`).
//! Every object is closed (`deny_unknown_fields`), as `docs/ecr-api.yaml` says.

use chrono::{DateTime, Utc};
use posagent_acquirer_api::{
    CaptureMode, Currency, InteroperabilityStatus, LineItem, PaymentMethod, PaymentOption, PresentationInstruction,
    TransactionState,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a sale is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum OfflineStatus {
    Queued,
    Forwarded,
    Declined,
}

/// A card authorization whose answer never came, reversed because the sale ended otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ReversalStatus {
    Queued,
    Reversed,
    NothingFound,
    Refused,
}

/// A sale as the register sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sale {
    /// Internal id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// State.
    pub state: SaleState,
    /// Tender; null while the customer of a CHOICE sale is choosing.
    #[schema(value_type = Option<crate::schema::PaymentMethod>)]
    pub method: Option<PaymentMethod>,
    /// What a CHOICE sale's customer was offered; empty for other sales.
    #[schema(value_type = Vec<crate::schema::PaymentMethod>)]
    pub offered_methods: Vec<PaymentMethod>,
    /// Why Klarna was not offered to a customer choosing on the terminal.
    pub klarna_unavailable_reason: Option<String>,
    /// Amount in minor units.
    #[schema(minimum = 0, maximum = 2_147_483_647)]
    pub amount: i64,
    /// Currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: Currency,
    /// Klarna's interoperability status.
    #[schema(value_type = Option<crate::schema::InteroperabilityStatus>)]
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
    #[schema(pattern = r"^[0-9]{6}\*+[0-9]{4}$")]
    pub masked_pan: Option<String>,
    /// Entry mode of a card sale (`CHIP`, `CONTACTLESS`, `SWIPE`).
    #[schema(value_type = Option<crate::schema::EntryMode>)]
    pub entry_mode: Option<String>,
    /// How the cardholder was verified, as the card reader reported it.
    #[schema(value_type = Option<crate::schema::Cvm>)]
    pub cvm: Option<String>,
    /// AID of the card application read (chip and contactless).
    #[schema(pattern = r"^[0-9A-F]{10,32}$")]
    pub aid: Option<String>,
    /// The card application's label, e.g. VISA CREDIT.
    #[schema(max_length = 16)]
    pub application_label: Option<String>,
    /// The issuer's authorization code of a card payment.
    #[schema(max_length = 6)]
    pub authorization_code: Option<String>,
    /// The issuer asked for the PIN: the reader waits for the card inserted with its PIN.
    pub pin_required: bool,
    /// Why it ended as it did: a code (docs/ecr-api.md lists them), e.g. ACQUIRER_ERROR when the
    /// acquirer answered with server errors; the message is in the sale's history.
    pub reason: Option<String>,
    /// It ended unpaid: POST /v1/sales/{id}/retry starts the purchase again.
    pub retryable: bool,
    /// The reference of the first sale of the purchase this sale tries again.
    pub retry_of: Option<String>,
    /// Capture mode.
    #[schema(value_type = crate::schema::CaptureMode)]
    pub capture: CaptureMode,
    /// Captured so far.
    #[schema(minimum = 0)]
    pub captured_amount: i64,
    /// The rest of the authorization was released.
    pub voided: bool,
    /// Approved offline: where its forwarding stands (absent for online sales).
    pub offline: Option<OfflineStatus>,
    /// Captures queued while the acquirer is unreachable, minor units.
    #[schema(minimum = 0)]
    pub queued_capture_amount: i64,
    /// A void is queued while the acquirer is unreachable.
    pub void_queued: bool,
    /// Why the acquirer refused a queued operation of this sale.
    pub sync_error: Option<String>,
    /// A card authorization whose answer never came (timeout, restart), reversed because the
    /// sale then ended without it (declined offline, canceled by the cashier); null when none
    /// was needed.
    pub reversal: Option<ReversalStatus>,
    /// The acquirer's state of the transaction, kept current from the acquirer's event stream
    /// (a capture or refund made elsewhere, an authorization that expired).
    #[schema(value_type = Option<crate::schema::TransactionState>)]
    pub transaction_state: Option<TransactionState>,
    /// Refunded on the transaction so far, wherever it was refunded.
    #[schema(minimum = 0)]
    pub refunded_amount: i64,
    /// The order lines the register (or the console's quick keys) sent; empty without.
    #[schema(value_type = Vec<crate::schema::LineItem>)]
    pub order_lines: Vec<LineItem>,
    /// Whether the receipt is printed.
    pub receipt_printed: bool,
    /// Why it is not (e.g. out of paper).
    pub receipt_error: Option<String>,
    /// The number of the cashier who started it at the console; null for a register's sale.
    #[schema(pattern = r"^[1-9][0-9]{0,5}$")]
    pub cashier: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One change journaled for a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// Order within the sale, from 1.
    #[schema(minimum = 1)]
    pub seq: i64,
    /// State entered.
    pub state: SaleState,
    /// What happened.
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// `GET /v1/sales/{id}/history`: the sale and every change journaled for it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleHistory {
    /// The sale now.
    pub sale: Sale,
    /// Its changes.
    pub history: Vec<HistoryEntry>,
    /// What was done to it at the console (by its id or reference), oldest first: who,
    /// approved by whom, what, and the answer's status.
    pub actions: Vec<crate::StaffAction>,
}

/// `GET /v1/sales`: sales of this terminal, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleList {
    /// At most `limit` of them; fewer means there are no more in the window.
    pub sales: Vec<Sale>,
}

/// Where a return's refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ReturnState {
    Pending,
    Refunded,
    Refused,
}

/// A return (a refund at the counter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = crate::schema::PaymentMethod)]
    pub method: PaymentMethod,
    /// The card refunded, for a card purchase made at this terminal.
    #[schema(pattern = r"^[0-9]{6}\*+[0-9]{4}$")]
    pub masked_pan: Option<String>,
    /// Refunded amount, minor units.
    #[schema(minimum = 0, maximum = 2_147_483_647)]
    pub amount: i64,
    /// Currency.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: Currency,
    /// The lines returned.
    #[schema(value_type = Vec<crate::schema::LineItem>)]
    pub lines: Vec<LineItem>,
    /// Where the refund stands.
    pub state: ReturnState,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The key the refund is asked for under, journaled before it is sent: the same in
    /// /v1/queue while it waits and in the acquirer's books.
    pub idempotency_key: String,
    /// The acquirer's refund id.
    pub payment_refund_id: Option<String>,
    /// Whether the return receipt is printed.
    pub receipt_printed: bool,
    /// Why it is not.
    pub receipt_error: Option<String>,
    /// The return receipt's locale (the store's).
    #[schema(pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub locale: String,
    /// The number of the cashier who made it at the console; null for a register's return.
    #[schema(pattern = r"^[1-9][0-9]{0,5}$")]
    pub cashier: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Where an availability answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Source {
    /// Asked the acquirer now.
    Live,
    /// A recent answer to the same question.
    Cache,
}

/// `GET /v1/klarna`: whether to show Klarna for an amount, with Klarna's wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KlarnaAvailability {
    /// Klarna may be offered.
    pub available: bool,
    /// Klarna's interoperability status, when the acquirer answered.
    #[schema(value_type = Option<crate::schema::InteroperabilityStatus>)]
    pub status: Option<InteroperabilityStatus>,
    /// Klarna's instruction for the purchase; HIDE_KLARNA means available false.
    #[schema(value_type = Option<crate::schema::PresentationInstruction>)]
    pub instruction: Option<PresentationInstruction>,
    /// Why not, when not.
    pub reason: Option<String>,
    /// Klarna's payment option for the locale and amount (the last known for the
    /// locale, also offline, for display).
    #[schema(value_type = Option<crate::schema::PaymentOption>)]
    pub payment_option: Option<PaymentOption>,
    /// When the acquirer was asked.
    pub checked_at: Option<DateTime<Utc>>,
    /// How old the answer is, seconds.
    pub age_secs: Option<i64>,
    /// Live or cached.
    pub source: Source,
}
