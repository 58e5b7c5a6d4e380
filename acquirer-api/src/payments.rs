//! Authorization, payment requests (the Klarna step-up) and payment transactions.

use crate::lines::LineItem;
use crate::money::Currency;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::interaction::InteractionExpiry;

/// Tender the customer pays with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PaymentMethod {
    /// Klarna, by QR code scanned with the customer's phone.
    Klarna,
    /// A payment card read by the terminal's secure reader.
    Card,
}

/// When the authorized amount is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaptureMode {
    /// Captured at authorization (goods handed over at the counter).
    Now,
    /// Captured later by a separate call.
    Later,
}

/// Where the purchase happens: an onboarded physical store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointOfCheckout {
    /// Always `PHYSICAL_STORE` for posagent.
    #[serde(rename = "type")]
    pub kind: String,
    /// The store's reference at the acquirer.
    pub store_reference: String,
}

/// The most granular location: this terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PointOfTransaction {
    /// Always `TERMINAL` for posagent.
    #[serde(rename = "type")]
    pub kind: String,
    /// The terminal's reference.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub terminal_reference: String,
}

/// Klarna-specific data of an authorization, forwarded unaltered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KlarnaData {
    /// Interoperability token from the register, byte for byte: a JWT as Klarna issues it
    /// (visible ASCII), passed on unaltered.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 8192, pattern = r"^[!-~]+$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interoperability_token: Option<String>,
    /// Klarna Network data (a serialized JSON string; Klarna's earlier name
    /// `interoperability_data`, still read) from the register, byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "interoperability_data")]
    #[cfg_attr(feature = "openapi", schema(max_length = 8192))]
    pub klarna_network_data: Option<String>,
    /// Klarna's id of the payment option the customer was shown (from the availability
    /// answer): the option authorized is the one the customer saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub payment_option_id: Option<String>,
    /// Session token of a completed payment request: makes this the final authorization.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "payment_token")]
    pub klarna_network_session_token: Option<String>,
}

/// Body of `POST /v1/payments/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeRequest {
    /// Tender.
    pub method: PaymentMethod,
    /// Currency of the amount.
    pub currency: Currency,
    /// Amount in minor units.
    #[serde(deserialize_with = "crate::integer::de")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// The terminal's unique reference of this payment (the sale reference).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub payment_transaction_reference: String,
    /// Country of the store (ISO 3166-1 alpha-2).
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Z]{2}$"))]
    pub country: String,
    /// Locale of the customer-facing texts.
    pub locale: String,
    /// The physical store.
    pub point_of_checkout: PointOfCheckout,
    /// This terminal.
    pub point_of_transaction: PointOfTransaction,
    /// Capture now or later.
    pub capture: CaptureMode,
    /// Order lines; when present they sum to `amount`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub line_items: Vec<LineItem>,
    /// The reference the customer sees for the purchase (on the receipt, in Klarna's app and
    /// settlement files): the register's reference of the sale; a retried sale keeps the
    /// first one's. The terminal's reference of the sale when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub purchase_reference: Option<String>,
    /// How long the customer has to complete a Klarna payment request (Klarna's
    /// `interaction_expiry`, 15 minutes to 48 hours; Klarna's default 3 hours). The terminal
    /// asks for the shortest that covers its own QR timeout and cancels earlier itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_expiry: Option<InteractionExpiry>,
    /// Klarna data (tokens), for `method = KLARNA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub klarna: Option<KlarnaData>,
    /// The encrypted card read, for `method = CARD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardData>,
    /// Set when the terminal approved this card payment itself while the acquirer was
    /// unreachable, and forwards it now (store-and-forward): when it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_approved_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A card read as the secure reader delivers it: encrypted, with only a masked PAN in
/// the clear. posagent never holds a clear card number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardData {
    /// The reader's encrypted payload (base64), opaque to posagent.
    pub encrypted_payload: String,
    /// Key serial number of the reader's encryption key (DUKPT KSN, hex).
    pub key_serial_number: String,
    /// First six and last four digits, the rest masked: `411111******1111`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^(?:[0-9]{6}\*{2,9}|[0-9]{8}\*{4,7})[0-9]{4}$"))]
    pub masked_pan: String,
    /// `CHIP`, `CONTACTLESS` or `SWIPE`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::EntryMode))]
    pub entry_mode: String,
    /// Encrypted PIN block, when the cardholder entered a PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_block: Option<String>,
}

impl std::fmt::Debug for CardData {
    /// The encrypted read and the PIN block never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardData")
            .field("masked_pan", &self.masked_pan)
            .field("entry_mode", &self.entry_mode)
            .field("key_serial_number", &self.key_serial_number)
            .finish_non_exhaustive()
    }
}

impl CardData {
    /// Whether `masked_pan` is a properly masked PAN (never a clear one): 12–19
    /// characters, the first 6 digits (or 8 when 16 or more), `*` for all but the last 4
    /// digits, at least two `*` (PCI DSS display rules, docs/card-reader-protocol.md §4.1).
    pub fn is_masked(&self) -> bool {
        let p = self.masked_pan.as_bytes();
        if !(12..=19).contains(&p.len()) {
            return false;
        }
        let lead = p.iter().take_while(|c| c.is_ascii_digit()).count();
        let lead_ok = lead == 6 || (lead == 8 && p.len() >= 16);
        let middle = &p[lead.min(p.len() - 4)..p.len() - 4];
        lead_ok
            && p[p.len() - 4..].iter().all(u8::is_ascii_digit)
            && middle.len() >= 2
            && middle.iter().all(|&b| b == b'*')
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        let n = self.masked_pan.len();
        self.masked_pan.get(n.saturating_sub(4)..).unwrap_or("")
    }
}

/// Result of an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuthorizeResult {
    /// A payment transaction was created.
    Approved,
    /// The customer must act: a payment request was created (show its QR code).
    StepUpRequired,
    /// Refused; see `result_reason`.
    Declined,
}

/// Answer of `POST /v1/payments/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeResponse {
    /// Outcome.
    pub result: AuthorizeResult,
    /// Why it was declined, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_reason: Option<String>,
    /// The transaction, when approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_transaction: Option<PaymentTransaction>,
    /// The payment request, when a step-up is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request: Option<PaymentRequest>,
}

impl AuthorizeResponse {
    /// An approval with its transaction.
    pub fn approved(tx: PaymentTransaction) -> Self {
        AuthorizeResponse {
            result: AuthorizeResult::Approved,
            result_reason: None,
            payment_transaction: Some(tx),
            payment_request: None,
        }
    }

    /// A step-up with its payment request.
    pub fn step_up(pr: PaymentRequest) -> Self {
        AuthorizeResponse {
            result: AuthorizeResult::StepUpRequired,
            result_reason: None,
            payment_transaction: None,
            payment_request: Some(pr),
        }
    }

    /// A decline with its reason.
    pub fn declined(reason: impl Into<String>) -> Self {
        AuthorizeResponse {
            result: AuthorizeResult::Declined,
            result_reason: Some(reason.into()),
            payment_transaction: None,
            payment_request: None,
        }
    }
}

/// State of a payment request (current Klarna generation). AUTHORIZED (Klarna v1) and
/// CONFIRMED (Gen-1, read as AUTHORIZED): a transaction already exists; the terminal reads
/// it by reference and never authorizes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PaymentRequestState {
    /// Created, waiting for the customer.
    Submitted,
    /// The customer scanned the code and is in Klarna's purchase flow.
    InProgress,
    /// The customer approved; a session token is available for the final authorization.
    Completed,
    /// A payment transaction already exists for it (Klarna's v1 `AUTHORIZED`, Gen-1
    /// `CONFIRMED`): there is nothing to authorize, the transaction is read by reference.
    #[serde(alias = "CONFIRMED")]
    Authorized,
    /// Canceled by the partner or the customer.
    Canceled,
    /// Not completed in time.
    Expired,
    /// The customer rejected it or no payment method was available.
    Declined,
}

impl PaymentRequestState {
    /// Whether no further change can happen.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Authorized | Self::Canceled | Self::Expired | Self::Declined)
    }
}

/// QR code of a payment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QrCode {
    /// URL the QR code encodes; the customer's phone opens it.
    pub target_url: String,
    /// Klarna's rendering of the QR code as an image (the terminal may draw the code from
    /// `target_url` itself, as posagent does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// How the customer is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerInteraction {
    /// Link to the purchase journey.
    pub payment_request_url: String,
    /// QR code for the customer display.
    pub qr_code: QrCode,
}

/// State-dependent context of a payment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateContext {
    /// How the customer is reached.
    pub customer_interaction: CustomerInteraction,
    /// Present once COMPLETED; valid 60 minutes for the final authorization.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "payment_token")]
    pub klarna_network_session_token: Option<String>,
}

/// A Klarna payment request (the step-up the customer completes on the phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentRequest {
    /// KRN of the payment request.
    #[cfg_attr(feature = "openapi", schema(pattern = "^krn:payment:"))]
    pub payment_request_id: String,
    /// The terminal's reference (the sale reference).
    pub payment_request_reference: String,
    /// Current state.
    pub state: PaymentRequestState,
    /// State before the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<PaymentRequestState>,
    /// Why it reached its state (e.g. `PARTNER_CANCELED`, `PURCHASE_FLOW_ABORTED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// Amount in minor units.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Context: QR code, session token.
    pub state_context: StateContext,
    /// When it expires if not completed.
    pub expires_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// State of a payment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TransactionState {
    /// Authorized amount remains to capture.
    Authorized,
    /// Nothing left to capture.
    Completed,
    /// Not fully captured in time (within 7 days it may be reauthorized).
    Expired,
    /// End of life; no further operations.
    Closed,
}

/// A payment transaction (the authorization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentTransaction {
    /// KRN of the transaction.
    #[cfg_attr(feature = "openapi", schema(pattern = "^krn:payment:"))]
    pub payment_transaction_id: String,
    /// The terminal's reference.
    pub payment_transaction_reference: String,
    /// Short reference printed on the receipt and searchable by Klarna support.
    pub klarna_reference: String,
    /// Tender.
    pub method: PaymentMethod,
    /// The issuer's approval code of a card authorization (ISO 8583 field 38), printed on
    /// the card receipt; absent for Klarna.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9A-Za-z ]{1,6}$"))]
    pub authorization_code: Option<String>,
    /// State.
    pub state: TransactionState,
    /// Authorized amount in minor units.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Captured so far.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub captured_amount: i64,
    /// Refunded so far.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, minimum = 0))]
    pub refunded_amount: i64,
    /// Currency.
    pub currency: Currency,
    /// Captures, in order.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, max_items = 200))]
    pub payment_captures: Vec<Capture>,
    /// Refunds, in order.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, max_items = 200))]
    pub payment_refunds: Vec<Refund>,
    /// Order lines of the purchase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItem>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the uncaptured authorization expires (28 days); 7 more days to reauthorize.
    pub expires_at: DateTime<Utc>,
}

impl PaymentTransaction {
    /// Authorized amount not yet captured (zero once voided or expired).
    pub fn remaining_authorized(&self) -> i64 {
        match self.state {
            TransactionState::Authorized => self.amount - self.captured_amount,
            _ => 0,
        }
    }

    /// Captured amount not yet refunded.
    pub fn refundable(&self) -> i64 {
        self.captured_amount - self.refunded_amount
    }
}

/// One capture of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capture {
    /// KRN, `…:capture:N`.
    pub payment_capture_id: String,
    /// The terminal's reference of the capture (goes into settlement files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_capture_reference: Option<String>,
    /// Amount in minor units.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Lines captured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItem>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// One refund of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refund {
    /// KRN, `…:refund:N`.
    pub payment_refund_id: String,
    /// The terminal's reference of the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_refund_reference: Option<String>,
    /// The capture refunded, when refunding by capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_capture_id: Option<String>,
    /// Amount in minor units.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Lines refunded (returns by line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItem>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /v1/payment-transactions/{id}/captures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaptureRequest {
    /// Amount to capture, ≤ the remaining authorized amount.
    #[serde(deserialize_with = "crate::integer::de")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// The terminal's reference of the capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub payment_capture_reference: Option<String>,
    /// Klarna Network data of the sale (a serialized JSON string from the register, byte
    /// for byte), sent again with the capture and the refund as Klarna asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 8192))]
    pub klarna_network_data: Option<String>,
    /// Lines captured; when given they sum to `amount`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItem>,
}

/// Body of `POST /v1/payment-transactions/{id}/refunds`: by capture, or by lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundRequest {
    /// Amount to refund, ≤ captured − refunded.
    #[serde(deserialize_with = "crate::integer::de")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Refund against this capture (≤ what remains of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_capture_id: Option<String>,
    /// The terminal's reference of the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub payment_refund_reference: Option<String>,
    /// Klarna Network data of the sale (a serialized JSON string from the register, byte
    /// for byte), sent again with the capture and the refund as Klarna asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 8192))]
    pub klarna_network_data: Option<String>,
    /// Lines returned; when given they sum to `amount`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItem>,
}

#[cfg(test)]
mod request_state_tests {
    use super::PaymentRequestState;

    #[test]
    fn older_generations_states_mean_a_transaction_exists() {
        for (wire, state) in [
            ("\"COMPLETED\"", PaymentRequestState::Completed),
            ("\"AUTHORIZED\"", PaymentRequestState::Authorized),
            ("\"CONFIRMED\"", PaymentRequestState::Authorized),
        ] {
            assert_eq!(serde_json::from_str::<PaymentRequestState>(wire).ok(), Some(state), "{wire}");
        }
        assert!(PaymentRequestState::Authorized.is_final());
    }
}
