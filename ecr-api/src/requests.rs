//! What the register sends: request bodies and query strings.

use posagent_acquirer_api::{CaptureMode, LineItem};
use serde::{Deserialize, Serialize};

/// `POST /v1/sales` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSale {
    /// Amount in minor units (`100` or `100.0`; never a fraction).
    #[serde(deserialize_with = "posagent_acquirer_api::integer::de")]
    pub amount: i64,
    /// ISO 4217 currency; must be the store's.
    pub currency: String,
    /// `KLARNA` (default), `CARD`, or `CHOICE`: the display offers every method available
    /// for the purchase and the customer's choice is sent with `POST /v1/sales/{id}/method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The register's own unique reference; a retry with the same reference returns the same sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Order lines (Klarna Network naming); when given they must sum to `amount`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_lines: Vec<LineItem>,
    /// Klarna interoperability token, forwarded byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interoperability_token: Option<String>,
    /// Klarna interoperability data (a serialized JSON string), forwarded byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interoperability_data: Option<String>,
    /// Locale of the customer's texts; the store's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// `NOW` (default: captured at authorization) or `LATER` (the register captures or voids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureMode>,
}

/// `POST /v1/sales/{id}/retry` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySale {
    /// `KLARNA`, `CARD` or `CHOICE`; the unpaid sale's own by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// `POST /v1/sales/{id}/method` body: the customer's choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodBody {
    /// `KLARNA` or `CARD` (another is 422 `METHOD_NOT_SUPPORTED`).
    pub method: String,
}

/// `POST /v1/sales/{id}/capture` body (optional): all that remains without an amount.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Minor units to capture.
    #[serde(
        default,
        deserialize_with = "posagent_acquirer_api::integer::de_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<i64>,
}

/// `PUT /v1/log-level` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLevelChange {
    /// A level, or `target=level` pairs, comma-separated.
    pub level: String,
}

/// `GET /v1/klarna` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KlarnaQuery {
    /// Minor units, 1 to 2147483647.
    pub amount: i64,
    /// `language-COUNTRY`; the store's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Klarna's interoperability token, if the register has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interoperability_token: Option<String>,
}

/// `GET /v1/reports/x` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XReportQuery {
    /// Print it on the receipt printer too.
    #[serde(default)]
    pub print: bool,
}

/// `GET /v1/reports/reconciliation` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationQuery {
    /// `YYYY-MM-DD`; today by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// `GET /v1/queue` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `PENDING`, `DONE` or `DEAD` (any case); all by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// At most this many, 1 to 10000 (1000 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A line the customer brings back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    /// The article reference on the original purchase.
    pub reference: String,
    /// How many.
    #[serde(deserialize_with = "posagent_acquirer_api::integer::de")]
    pub quantity: i64,
}

/// `POST /v1/returns` body: lines, or an amount, or neither (everything refundable).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    /// The purchase: a sale reference of this store or an online order reference.
    pub original_reference: String,
    /// The register's own reference of the return (a retry returns the same return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Lines brought back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ReturnLine>,
    /// An amount instead of lines.
    #[serde(
        default,
        deserialize_with = "posagent_acquirer_api::integer::de_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<i64>,
}
