//! Availability (Klarna "read interoperability") and the localized descriptors to display.

use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// Query of `GET /v1/klarna/availability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AvailabilityQuery {
    /// ISO 3166-1 alpha-2 country of the store.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[A-Za-z]{2}$"))]
    pub country: String,
    /// Currency of the sale.
    pub currency: Currency,
    /// Amount of the sale in minor units.
    #[cfg_attr(feature = "openapi", param(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Locale for the descriptors, e.g. `sv-SE`.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[a-z]{2}-[A-Z]{2}$"))]
    pub locale: String,
    /// Klarna interoperability token passed by the register: a JWT as Klarna issues it
    /// (visible ASCII), forwarded unaltered.
    #[cfg_attr(feature = "openapi", param(min_length = 1, max_length = 8192, pattern = r"^[!-~]+$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interoperability_token: Option<String>,
}

/// Klarna's interoperability status for this purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AvailabilityResponse {
    /// Whether, and how, to offer Klarna.
    pub status: InteroperabilityStatus,
    /// Why Klarna is unsupported, when it is (e.g. `COUNTRY_CURRENCY_NOT_SUPPORTED`, `AMOUNT_OUT_OF_RANGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Klarna's payment presentation instruction for this purchase: offer Klarna, preselect
    /// it, offer it alone, or hide it (wins over the status; absent from acquirers of the
    /// earlier shape: then the status decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<PresentationInstruction>,
    /// Wording to display; present unless unsupported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptors: Option<PaymentDescriptors>,
}
