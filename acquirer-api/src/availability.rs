//! Availability (Klarna "read interoperability") and the localized descriptors to display.

use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// Query of `GET /v1/klarna/availability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityQuery {
    /// ISO 3166-1 alpha-2 country of the store.
    pub country: String,
    /// Currency of the sale.
    pub currency: Currency,
    /// Amount of the sale in minor units.
    pub amount: i64,
    /// Locale for the descriptors, e.g. `sv-SE`.
    pub locale: String,
    /// Klarna interoperability token passed by the register, forwarded unaltered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interoperability_token: Option<String>,
}

/// Klarna's interoperability status for this purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum InteroperabilityStatus {
    /// Show Klarna among the tenders.
    PaymentSupported,
    /// Do not offer Klarna for this purchase.
    PaymentUnsupported,
    /// The customer prepared Klarna in a Klarna journey: preselect it.
    PaymentPrepared,
    /// The customer already confirmed: confirm without a QR.
    PaymentPendingConfirmation,
}

impl InteroperabilityStatus {
    /// Whether Klarna may be offered to the customer.
    pub fn offers_klarna(self) -> bool {
        !matches!(self, InteroperabilityStatus::PaymentUnsupported)
    }
}

/// Klarna's wording for one locale and amount, as the acquirer serves it from Klarna's
/// payment presentation: shown unaltered, never composed or completed on the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDescriptors {
    /// Locale the texts are in.
    pub locale: String,
    /// Header, e.g. "Pay with Klarna".
    pub header: String,
    /// Short sub-header, e.g. "Pay now, in 30 days or in 4 payments."
    pub subheader: String,
    /// Klarna's offer for this amount, its amounts filled in by Klarna ("Pay in 4
    /// payments of $12.50"); absent when Klarna makes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subheader_enriched: Option<String>,
    /// URL of Klarna's badge image.
    pub badge_url: String,
}

/// What Klarna's payment presentation tells the terminal to do with Klarna.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum PresentationInstruction {
    /// Offer Klarna among the methods.
    ShowKlarna,
    /// Offer Klarna, preselected (the customer prepared it in a Klarna journey).
    PreselectKlarna,
    /// Offer Klarna alone.
    ShowOnlyKlarna,
    /// Do not show Klarna.
    HideKlarna,
}

/// Answer of `GET /v1/klarna/availability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityResponse {
    /// Whether, and how, to offer Klarna.
    pub status: InteroperabilityStatus,
    /// Why Klarna is unsupported, when it is (e.g. `COUNTRY_CURRENCY_NOT_SUPPORTED`, `AMOUNT_OUT_OF_RANGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Klarna's instruction for this purchase (absent from acquirers of the earlier shape:
    /// then the status decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<PresentationInstruction>,
    /// Wording to display; present unless unsupported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptors: Option<PaymentDescriptors>,
}
