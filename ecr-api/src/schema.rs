//! How the acquirer protocol's types the ECR API carries (`posagent-acquirer-api`:
//! currency, method, capture mode, order line, Klarna's payment option, states) and the strings
//! with a closed set of values read in the OpenAPI document: their schemas, for the
//! wire types' `#[schema(value_type = …)]`. Each is checked against the type it stands
//! for (the tests below): a value listed here that the type does not take fails.
#![allow(dead_code, missing_docs)]

use utoipa::ToSchema;

/// ISO 4217; a sale or return is in the store's currency only.
#[derive(ToSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum Currency {
    AUD,
    CAD,
    CHF,
    CZK,
    DKK,
    EUR,
    GBP,
    HUF,
    ISK,
    JPY,
    MXN,
    NOK,
    NZD,
    PLN,
    RON,
    SEK,
    USD,
}

/// The tender.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Klarna,
    Card,
}

/// KLARNA (default; also when null), CARD, or CHOICE: the display offers every method
/// available and the choice is sent to /v1/sales/{id}/method.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SaleMethod {
    Klarna,
    Card,
    Choice,
}

/// When the authorized amount is captured.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaptureMode {
    Now,
    Later,
}

/// The acquirer's state of the transaction, kept current from its event stream.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionState {
    Authorized,
    Completed,
    Expired,
    Closed,
}

/// Klarna's interoperability status.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InteroperabilityStatus {
    PaymentSupported,
    PaymentUnsupported,
    PaymentPrepared,
    PaymentPendingConfirmation,
}

/// Klarna's instruction for the purchase; HIDE_KLARNA means available false.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PresentationInstruction {
    ShowKlarna,
    PreselectKlarna,
    ShowOnlyKlarna,
    HideKlarna,
}

/// How a card was read.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryMode {
    Chip,
    Contactless,
    Swipe,
}

/// How the cardholder was verified, as the card reader reported it.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Cvm {
    None,
    OnlinePin,
    OfflinePin,
    Signature,
    ConsumerDevice,
}

/// An order line's kind; physical when absent.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum LineType {
    Physical,
    Discount,
    ShippingFee,
    SalesTax,
    Digital,
    GiftCard,
    StoreCredit,
    Surcharge,
}

/// A text of Klarna's presentation, as Klarna served it.
#[derive(ToSchema)]
pub struct PresentationText {
    pub text: String,
}

/// Klarna's link about its offer.
#[derive(ToSchema)]
pub struct PresentationLink {
    pub href: String,
    pub link_text: String,
}

/// Klarna's offer for this amount with its amounts filled in by Klarna.
#[derive(ToSchema)]
pub struct EnrichedSubheader {
    pub text: String,
    #[schema(required = false)]
    pub link: PresentationLink,
}

/// Klarna's short sub-header, and its offer for the amount when it makes one.
#[derive(ToSchema)]
pub struct PresentationSubheader {
    pub short: PresentationText,
    /// Absent when Klarna makes no offer for the amount.
    #[schema(required = false)]
    pub enriched: EnrichedSubheader,
}

/// Klarna's icon as image URLs, in its three shapes.
#[derive(ToSchema)]
pub struct PresentationIcon {
    pub alt: String,
    pub badge_image_url: String,
    pub rectangle_image_url: String,
    pub square_image_url: String,
}

/// Klarna's payment option for the locale and amount (Klarna's Payment Presentation),
/// as the acquirer gave it; shown unaltered. The terminal sends its id back when it
/// authorizes the sale.
#[derive(ToSchema)]
pub struct PaymentOption {
    #[schema(min_length = 1, max_length = 255)]
    pub payment_option_id: String,
    /// Klarna's header, e.g. "Pay with Klarna".
    pub header: PresentationText,
    pub subheader: PresentationSubheader,
    pub icon: PresentationIcon,
    /// The text of Klarna's payment button.
    pub payment_button: PresentationText,
}

/// Klarna's order line. Discounts, gift cards and store credit are lines of their own
/// with a negative unit_price and total_amount; every other line is not negative. With
/// tax_rate, 10000 × total_tax_amount / (total_amount − total_tax_amount) must be within
/// 100 (one percentage point) of it.
#[derive(ToSchema)]
pub struct LineItem {
    #[schema(required = false, value_type = LineType)]
    pub r#type: String,
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[schema(required = false)]
    pub reference: String,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
    /// Negative only on discount, gift_card and store_credit lines.
    #[schema(minimum = -2_147_483_647, maximum = 2_147_483_647)]
    pub unit_price: i64,
    /// quantity × unit_price − total_discount_amount; the lines sum to the amount (422
    /// INVALID_FIELD otherwise).
    #[schema(minimum = -2_147_483_647, maximum = 2_147_483_647)]
    pub total_amount: i64,
    #[schema(required = false, minimum = 0, maximum = 2_147_483_647)]
    pub total_discount_amount: i64,
    /// Percent × 100.
    #[schema(required = false, minimum = 0, maximum = 10_000)]
    pub tax_rate: i64,
    /// Tax included in total_amount, with its sign.
    #[schema(required = false, minimum = -2_147_483_647, maximum = 2_147_483_647)]
    pub total_tax_amount: i64,
    /// GTIN, EAN or another product identifier.
    #[schema(required = false, min_length = 1, max_length = 64)]
    pub product_identifier: String,
    #[schema(required = false, pattern = r"^https://[^\s]+$", max_length = 1024)]
    pub product_url: String,
    #[schema(required = false, pattern = r"^https://[^\s]+$", max_length = 1024)]
    pub image_url: String,
}

/// ok, or degraded: sales go on with a part missing (problems lists it); down: no sale
/// can be taken.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

/// A part of the terminal.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Part {
    Display,
    Printer,
    CardReader,
    Acquirer,
    Queue,
    Journal,
}

/// A device of the terminal.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Device {
    Display,
    Printer,
    CardReader,
}

/// What a device reports of itself (printer status: paper_out, paper_low, cover_open,
/// error; card reader: out_of_service); each is also posagent_device_condition in /metrics.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Condition {
    PaperOut,
    PaperLow,
    CoverOpen,
    Error,
    OutOfService,
}

/// A queued operation's state, in either case.
#[derive(ToSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum QueueStateParam {
    PENDING,
    DONE,
    DEAD,
    pending,
    done,
    dead,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use utoipa::PartialSchema;

    /// The values a stand-in enum's schema lists.
    fn values<T: PartialSchema>() -> Vec<Value> {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        schema["enum"].as_array().cloned().unwrap_or_default()
    }

    fn all_parse<T: serde::de::DeserializeOwned>(values: Vec<Value>) {
        assert!(!values.is_empty());
        for v in values {
            assert!(serde_json::from_value::<T>(v.clone()).is_ok(), "{v} is not a {}", std::any::type_name::<T>());
        }
    }

    #[test]
    fn every_listed_value_is_one_the_type_takes() {
        use posagent_acquirer_api as a;
        all_parse::<a::Currency>(values::<Currency>());
        all_parse::<a::PaymentMethod>(values::<PaymentMethod>());
        all_parse::<a::CaptureMode>(values::<CaptureMode>());
        all_parse::<a::TransactionState>(values::<TransactionState>());
        all_parse::<a::InteroperabilityStatus>(values::<InteroperabilityStatus>());
        all_parse::<a::PresentationInstruction>(values::<PresentationInstruction>());
        all_parse::<a::LineType>(values::<LineType>());
    }

    #[test]
    fn the_line_and_the_wording_have_the_fields_the_types_have() {
        let line = json!({"type": "discount", "name": "n", "reference": "r", "quantity": 1, "unit_price": -1,
            "total_amount": -1, "total_discount_amount": 0, "tax_rate": 0, "total_tax_amount": 0,
            "product_identifier": "p", "product_url": "https://x", "image_url": "https://y"});
        let schema = serde_json::to_value(LineItem::schema()).unwrap_or_default();
        let listed: Vec<&String> = schema["properties"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        let fields: Vec<&String> = line.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(listed, fields);
        assert!(serde_json::from_value::<posagent_acquirer_api::LineItem>(line).is_ok());
        let option = json!({"payment_option_id": "o", "header": {"text": "h"},
            "subheader": {"short": {"text": "s"}, "enriched": {"text": "e", "link": {"href": "https://l", "link_text": "t"}}},
            "icon": {"alt": "a", "badge_image_url": "b", "rectangle_image_url": "r", "square_image_url": "q"},
            "payment_button": {"text": "p"}});
        let parsed: posagent_acquirer_api::PaymentOption =
            serde_json::from_value(option.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_value(&parsed).ok(),
            Some(option.clone()),
            "every field of the type is in the example"
        );
        for (schema, value) in [
            (PaymentOption::schema(), &option),
            (PresentationSubheader::schema(), &option["subheader"]),
            (EnrichedSubheader::schema(), &option["subheader"]["enriched"]),
            (PresentationIcon::schema(), &option["icon"]),
        ] {
            let schema = serde_json::to_value(schema).unwrap_or_default();
            let listed: Vec<&String> = schema["properties"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
            let fields: Vec<&String> = value.as_object().map(|m| m.keys().collect()).unwrap_or_default();
            assert_eq!(listed, fields);
        }
    }
}
