//! A sale and its states, as journaled and as the register sees it.

use chrono::{DateTime, Utc};
use posagent_acquirer_api::{
    CaptureMode, Currency, InteroperabilityStatus, LineItem, PaymentMethod, PaymentOption, PaymentTransaction,
    TransactionState,
};
use serde::{Deserialize, Serialize};

/// Where a sale is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SaleState {
    /// Accepted from the register, journaled.
    Created,
    /// The acquirer says Klarna is available; its wording is stored.
    AvailabilityChecked,
    /// The display shows the amount and the methods on offer; the register or the
    /// cashier console sends the customer's choice.
    AwaitingMethod,
    /// A payment request exists and its QR code is on the display.
    QrShown,
    /// The customer scanned the code and is in Klarna's journey.
    CustomerInProgress,
    /// The customer approved; the final authorization is due.
    CustomerCompleted,
    /// The card reader waits for the customer's card.
    AwaitingCard,
    /// The card was read; the acquirer is authorizing.
    Authorizing,
    /// Authorized and captured: the customer has paid.
    Approved,
    /// The customer or the acquirer refused.
    Declined,
    /// Canceled by the cashier, the customer or a timeout.
    Canceled,
    /// The payment request expired before the customer finished.
    Expired,
    /// Klarna is not available for this purchase (country, currency, amount or offline).
    Unavailable,
    /// Something failed; see `reason` and tell support the reference.
    Failed,
}

impl SaleState {
    /// Every state, in life order.
    pub const ALL: [SaleState; 14] = [
        SaleState::Created,
        SaleState::AvailabilityChecked,
        SaleState::AwaitingMethod,
        SaleState::QrShown,
        SaleState::CustomerInProgress,
        SaleState::CustomerCompleted,
        SaleState::AwaitingCard,
        SaleState::Authorizing,
        SaleState::Approved,
        SaleState::Declined,
        SaleState::Canceled,
        SaleState::Expired,
        SaleState::Unavailable,
        SaleState::Failed,
    ];

    /// The wire name.
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

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the payment outcome is settled.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SaleState::Approved
                | SaleState::Declined
                | SaleState::Canceled
                | SaleState::Expired
                | SaleState::Unavailable
                | SaleState::Failed
        )
    }
}

/// Where a card payment approved offline is in store-and-forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OfflineStatus {
    /// Approved by the terminal; waiting to be forwarded to the acquirer.
    Queued,
    /// The acquirer authorized it.
    Forwarded,
    /// The acquirer declined it when it was forwarded: the store was not paid.
    Declined,
}

/// A reversal of a card authorization whose answer never came, asked for when the sale
/// then ended without it (declined offline, canceled by the cashier): whatever that
/// authorization did at the acquirer is undone, so the customer is not charged for a
/// sale they paid otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ReversalStatus {
    /// Waiting to be sent to the acquirer.
    Queued,
    /// The authorization had gone through; it is voided (and refunded if captured).
    Reversed,
    /// The acquirer had no authorization: none will be accepted under the reference.
    NothingFound,
    /// The acquirer refused the reversal (`sync_error` says why): settle it by hand.
    Refused,
}

/// A sale whose customer chooses the method on the terminal (`"method": "CHOICE"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodChoice {
    /// The methods offered to the customer, once the availability check is done.
    #[serde(default)]
    pub offered: Vec<PaymentMethod>,
    /// Whether the choice is made (the sale's `method` is then the chosen one).
    #[serde(default)]
    pub chosen: bool,
    /// Why Klarna was not offered (`OFFLINE`, `AMOUNT_OUT_OF_RANGE`, …).
    #[serde(default)]
    pub klarna_unavailable_reason: Option<String>,
}

/// A sale as journaled. Holds the session token (never shown to the register or logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    /// Internal id (UUID).
    pub id: String,
    /// Unique reference: the register's, or generated; sent to the acquirer.
    pub reference: String,
    /// Current state.
    pub state: SaleState,
    /// Tender (provisional while a customer's choice is pending).
    pub method: PaymentMethod,
    /// Set when the customer chooses the method on the terminal.
    #[serde(default)]
    pub choice: Option<MethodChoice>,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Order lines.
    #[serde(default)]
    pub order_lines: Vec<LineItem>,
    /// Locale of the customer's texts.
    pub locale: String,
    /// Interoperability token from the register, forwarded unaltered.
    pub interoperability_token: Option<String>,
    /// Interoperability data from the register, forwarded unaltered.
    pub interoperability_data: Option<String>,
    /// Klarna's payment option as served for this sale (rows of earlier versions keep
    /// their flat wording under `descriptors`; read as an option without an id).
    #[serde(default, alias = "descriptors", deserialize_with = "super::presentation::journaled_payment_option")]
    pub payment_option: Option<PaymentOption>,
    /// Klarna's interoperability status for this purchase.
    #[serde(default)]
    pub interoperability_status: Option<InteroperabilityStatus>,
    /// The Klarna payment request.
    pub payment_request_id: Option<String>,
    /// URL in the QR code.
    pub payment_request_url: Option<String>,
    /// When the payment request expires.
    pub payment_request_expires_at: Option<DateTime<Utc>>,
    /// When the QR code went up (the local timeout counts from here).
    pub qr_shown_at: Option<DateTime<Utc>>,
    /// Session token of the completed payment request (secret; journal only).
    pub session_token: Option<String>,
    /// The acquirer's transaction.
    pub payment_transaction_id: Option<String>,
    /// Klarna's short reference, printed on the receipt.
    pub klarna_reference: Option<String>,
    /// Masked PAN of the card (first 6 and last 4 digits only).
    #[serde(default)]
    pub masked_pan: Option<String>,
    /// How the card was read (`CHIP`, `CONTACTLESS`, `SWIPE`).
    #[serde(default)]
    pub entry_mode: Option<String>,
    /// How the cardholder was verified (`NONE`, `ONLINE_PIN`, `OFFLINE_PIN`, `SIGNATURE`,
    /// `CONSUMER_DEVICE`), as the reader reported it.
    #[serde(default)]
    pub cvm: Option<String>,
    /// AID of the card application read (hex), for the receipt.
    #[serde(default)]
    pub aid: Option<String>,
    /// The card application's label (`VISA CREDIT`), for the receipt.
    #[serde(default)]
    pub application_label: Option<String>,
    /// The issuer's authorization code of a card payment, for the receipt.
    #[serde(default)]
    pub authorization_code: Option<String>,
    /// The issuer asked for the PIN: the card is read again, inserted, with its PIN.
    #[serde(default)]
    pub pin_required: bool,
    /// Why the sale ended as it did (decline reason, error).
    pub reason: Option<String>,
    /// The reference of the unpaid sale this one tries again (`POST /v1/sales/{id}/retry`).
    #[serde(default)]
    pub retry_of: Option<String>,
    /// Capture at authorization (`NOW`, the default) or later by the register (`LATER`).
    #[serde(default = "capture_now")]
    pub capture: CaptureMode,
    /// Captured so far, minor units.
    #[serde(default)]
    pub captured_amount: i64,
    /// The rest of the authorization was released.
    #[serde(default)]
    pub voided: bool,
    /// The cashier asked to cancel.
    #[serde(default)]
    pub cancel_requested: bool,
    /// Set when the terminal approved the card payment offline.
    #[serde(default)]
    pub offline: Option<OfflineStatus>,
    /// Captures queued for the acquirer and not yet taken, minor units.
    #[serde(default)]
    pub queued_capture_amount: i64,
    /// A void is queued for the acquirer.
    #[serde(default)]
    pub void_queued: bool,
    /// Why a queued operation of this sale was refused by the acquirer.
    #[serde(default)]
    pub sync_error: Option<String>,
    /// The reversal of an authorization left without an answer, when one was needed.
    #[serde(default)]
    pub reversal: Option<ReversalStatus>,
    /// The acquirer's state of the transaction, as last heard (answer or event).
    #[serde(default)]
    pub transaction_state: Option<TransactionState>,
    /// Refunded on the transaction so far, as the acquirer reports it (returns at any
    /// till, online or in the back office), minor units.
    #[serde(default)]
    pub refunded_amount: i64,
    /// The receipt was printed.
    #[serde(default)]
    pub receipt_printed: bool,
    /// The receipt's bytes may have gone to the printer: journaled before they are sent,
    /// so a restart before `receipt_printed` prints it again marked COPY, never a second
    /// original.
    #[serde(default)]
    pub receipt_print_started: bool,
    /// Why the receipt could not be printed yet.
    pub receipt_error: Option<String>,
    /// The cashier who started it at the console (their number); none for a register's sale.
    #[serde(default)]
    pub cashier: Option<String>,
    /// The register prints this sale's receipts (a ZVT register that said so at its
    /// registration): the terminal's printer prints none of them, original or copy.
    #[serde(default)]
    pub receipt_by_register: bool,
    /// Captured by the terminal itself once the register took the result (ZVT's commit
    /// rule): its receipt says paid, and the capture prints no slip of its own.
    #[serde(default)]
    pub capture_on_commit: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it was approved (the time its receipt shows, copies included).
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

fn capture_now() -> CaptureMode {
    CaptureMode::Now
}

/// What the register sees of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleView {
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
    /// Klarna's interoperability status (`PAYMENT_PREPARED`: Klarna preselected;
    /// `PAYMENT_PENDING_CONFIRMATION`: confirmed without a QR code).
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
    /// Entry mode of a card sale.
    pub entry_mode: Option<String>,
    /// How the cardholder was verified (a card sale).
    pub cvm: Option<String>,
    /// AID of the card application read (hex).
    pub aid: Option<String>,
    /// The card application's label.
    pub application_label: Option<String>,
    /// The issuer's authorization code (a card payment).
    pub authorization_code: Option<String>,
    /// The issuer asked for the PIN: the reader waits for the card inserted with its PIN.
    pub pin_required: bool,
    /// Why it ended as it did.
    pub reason: Option<String>,
    /// It ended unpaid: the same purchase can be tried again, with this or another method
    /// (`POST /v1/sales/{id}/retry`).
    pub retryable: bool,
    /// The reference of the unpaid sale this one tries again.
    pub retry_of: Option<String>,
    /// Capture mode.
    pub capture: CaptureMode,
    /// Captured so far.
    pub captured_amount: i64,
    /// The rest of the authorization was released.
    pub voided: bool,
    /// Approved offline: `QUEUED`, `FORWARDED` or `DECLINED` (absent for online sales).
    pub offline: Option<OfflineStatus>,
    /// Captures queued while the acquirer is unreachable, minor units.
    pub queued_capture_amount: i64,
    /// A void is queued while the acquirer is unreachable.
    pub void_queued: bool,
    /// Why the acquirer refused a queued operation of this sale.
    pub sync_error: Option<String>,
    /// A card authorization whose answer never came, reversed because the sale ended
    /// otherwise: `QUEUED`, `REVERSED`, `NOTHING_FOUND` or `REFUSED`.
    pub reversal: Option<ReversalStatus>,
    /// The acquirer's state of the transaction (`AUTHORIZED`, `COMPLETED`, `EXPIRED`,
    /// `CLOSED`), kept current from the acquirer's event stream.
    pub transaction_state: Option<TransactionState>,
    /// Refunded on the transaction so far, wherever it was refunded, minor units.
    pub refunded_amount: i64,
    /// The order lines.
    pub order_lines: Vec<LineItem>,
    /// Whether the receipt is printed.
    pub receipt_printed: bool,
    /// Why it is not (e.g. out of paper).
    pub receipt_error: Option<String>,
    /// The cashier who started it at the console.
    pub cashier: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// How far along its life a transaction state is: the acquirer's states only move
/// forward, so an older report (an event read after a newer answer) never undoes a newer.
fn stage(state: TransactionState) -> u8 {
    match state {
        TransactionState::Authorized => 0,
        TransactionState::Expired => 1,
        _ => 2,
    }
}

impl Sale {
    /// The reference the customer sees for the purchase (Klarna's `purchase_reference`):
    /// the register's reference; a retried sale keeps the first sale's.
    pub fn purchase_reference(&self) -> &str {
        self.retry_of.as_deref().unwrap_or(&self.reference)
    }

    /// Takes in what the acquirer reports of this sale's transaction (an answer or an
    /// event): captured and refunded amounts only grow, the state only moves forward.
    /// Returns what changed, for the journal, or `None` if nothing did (or `tx` is not
    /// this sale's transaction).
    pub fn follow_transaction(&mut self, tx: &PaymentTransaction) -> Option<String> {
        if self.payment_transaction_id.as_deref() != Some(tx.payment_transaction_id.as_str()) {
            return None;
        }
        let mut changed = vec![];
        if tx.captured_amount > self.captured_amount {
            changed.push(format!("captured {} in all", tx.captured_amount));
            self.captured_amount = tx.captured_amount;
        }
        if tx.refunded_amount > self.refunded_amount {
            changed.push(format!("refunded {} in all", tx.refunded_amount));
            self.refunded_amount = tx.refunded_amount;
        }
        if self.transaction_state.is_none_or(|now| stage(tx.state) > stage(now)) {
            changed.push(format!("transaction {:?}", tx.state).to_uppercase());
            self.transaction_state = Some(tx.state);
        }
        (!changed.is_empty()).then(|| format!("acquirer reports: {}", changed.join(", ")))
    }

    /// Whether the customer has yet to choose the method.
    pub fn choice_pending(&self) -> bool {
        self.choice.as_ref().is_some_and(|c| !c.chosen)
    }

    /// The register's view.
    pub fn view(&self) -> SaleView {
        SaleView {
            id: self.id.clone(),
            reference: self.reference.clone(),
            state: self.state,
            method: match &self.choice {
                Some(c) if !c.chosen => None,
                _ => Some(self.method),
            },
            offered_methods: self.choice.as_ref().map(|c| c.offered.clone()).unwrap_or_default(),
            klarna_unavailable_reason: self.choice.as_ref().and_then(|c| c.klarna_unavailable_reason.clone()),
            amount: self.amount,
            currency: self.currency,
            interoperability_status: self.interoperability_status,
            payment_request_id: self.payment_request_id.clone(),
            payment_request_url: self.payment_request_url.clone(),
            payment_request_expires_at: self.payment_request_expires_at,
            payment_transaction_id: self.payment_transaction_id.clone(),
            klarna_reference: self.klarna_reference.clone(),
            masked_pan: self.masked_pan.clone(),
            entry_mode: self.entry_mode.clone(),
            cvm: self.cvm.clone(),
            aid: self.aid.clone(),
            application_label: self.application_label.clone(),
            authorization_code: self.authorization_code.clone(),
            pin_required: self.pin_required,
            reason: self.reason.clone(),
            retryable: self.state.is_final() && self.state != SaleState::Approved,
            retry_of: self.retry_of.clone(),
            capture: self.capture,
            captured_amount: self.captured_amount,
            voided: self.voided,
            offline: self.offline,
            queued_capture_amount: self.queued_capture_amount,
            void_queued: self.void_queued,
            sync_error: self.sync_error.clone(),
            reversal: self.reversal,
            transaction_state: self.transaction_state,
            refunded_amount: self.refunded_amount,
            order_lines: self.order_lines.clone(),
            receipt_printed: self.receipt_printed,
            receipt_error: self.receipt_error.clone(),
            cashier: self.cashier.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip_and_match_serde() {
        for s in SaleState::ALL {
            assert_eq!(SaleState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).ok(), Some(format!("\"{}\"", s.as_str())));
        }
    }
}
