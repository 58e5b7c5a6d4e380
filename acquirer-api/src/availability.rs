//! Availability (Klarna "read interoperability") and Klarna's payment presentation:
//! the instruction and the payment option (header, sub-header, icons, button) to display.

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

/// A text of Klarna's presentation (`{"text": …}`), shown as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentationText {
    /// The text, in the locale asked for.
    pub text: String,
}

impl From<&str> for PresentationText {
    fn from(text: &str) -> Self {
        PresentationText { text: text.to_string() }
    }
}

/// Klarna's "learn more" link of an enriched sub-header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentationLink {
    /// Where the link goes.
    pub href: String,
    /// The link's text.
    pub link_text: String,
}

/// Klarna's offer for the amount, its amounts filled in by Klarna ("Pay in 4 payments of
/// $12.50"), with Klarna's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrichedSubheader {
    /// The offer.
    pub text: String,
    /// Klarna's link about the offer, when Klarna gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PresentationLink>,
}

/// Klarna's sub-header: the short form, and the offer for the amount when Klarna makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentationSubheader {
    /// Short sub-header, e.g. "Pay now, in 30 days or in 4 payments."
    pub short: PresentationText,
    /// The offer for this amount; absent when Klarna makes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enriched: Option<EnrichedSubheader>,
}

/// Klarna's icon in its three shapes, as image URLs (drawn unaltered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentationIcon {
    /// Text alternative of the icon.
    pub alt: String,
    /// Klarna's pink badge (the preferred presentation).
    pub badge_image_url: String,
    /// The rectangular icon.
    pub rectangle_image_url: String,
    /// The square icon.
    pub square_image_url: String,
}

/// Klarna's payment option for one locale and amount, as Klarna's Payment Presentation
/// API serves it (`payment_option`) and the acquirer passes it on: shown unaltered, never
/// composed or completed on the terminal. Its id goes back with the authorization, so the
/// option authorized is the one the customer saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentOption {
    /// Klarna's id of this option, sent back in `klarna.payment_option_id` when authorizing.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub payment_option_id: String,
    /// Header, e.g. "Pay with Klarna".
    pub header: PresentationText,
    /// Sub-header and the offer for the amount.
    pub subheader: PresentationSubheader,
    /// Klarna's icons.
    pub icon: PresentationIcon,
    /// Text of Klarna's payment button.
    pub payment_button: PresentationText,
}

impl PaymentOption {
    /// The offer for the amount when Klarna made one, else the short sub-header.
    pub fn offer_or_short(&self) -> &str {
        self.subheader.enriched.as_ref().map_or(self.subheader.short.text.as_str(), |e| e.text.as_str())
    }

    /// The offer for the amount, when Klarna made one.
    pub fn offer(&self) -> Option<&str> {
        self.subheader.enriched.as_ref().map(|e| e.text.as_str())
    }
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
    /// Klarna's payment option to display; present unless Klarna is hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_option: Option<PaymentOption>,
}
