//! What the register sends: request bodies and query strings.

use posagent_acquirer_api::{CaptureMode, LineItem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/sales` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSale {
    /// Amount in minor units (`100` or `100.0`; never a fraction).
    #[serde(deserialize_with = "posagent_acquirer_api::integer::de")]
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    pub amount: i64,
    /// ISO 4217 currency; must be the store's.
    #[schema(value_type = crate::schema::Currency)]
    pub currency: String,
    /// `KLARNA` (default), `CARD`, or `CHOICE`: the display offers every method available
    /// for the purchase and the customer's choice is sent with `POST /v1/sales/{id}/method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::SaleMethod>)]
    pub method: Option<String>,
    /// The register's own reference: 1 to 64 of A-Z a-z 0-9 . _ / -; a retry with the same
    /// reference returns the same sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9._/-]{1,64}$")]
    pub reference: Option<String>,
    /// Order lines (Klarna Network naming); when given they must sum to `amount`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<crate::schema::LineItem>)]
    pub order_lines: Vec<LineItem>,
    /// Klarna's interoperability token, passed on unaltered (visible ASCII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 8192, pattern = r"^[!-~]+$")]
    pub interoperability_token: Option<String>,
    /// Klarna Network data (serialized JSON), passed on unaltered; also read under
    /// Klarna's current name `klarna_network_data`.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "klarna_network_data")]
    #[schema(min_length = 1, max_length = 8192, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$")]
    pub interoperability_data: Option<String>,
    /// Locale of the customer's texts (language-COUNTRY, e.g. sv-SE); the store's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub locale: Option<String>,
    /// `NOW` (default: captured at authorization) or `LATER` (the register captures or voids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::CaptureMode>)]
    pub capture: Option<CaptureMode>,
}

/// `POST /v1/sales/{id}/retry` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySale {
    /// `KLARNA`, `CARD` or `CHOICE`; the unpaid sale's own method by default (also when null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::SaleMethod>)]
    pub method: Option<String>,
}

/// `POST /v1/sales/{id}/method` body: the customer's choice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodBody {
    /// `KLARNA` or `CARD` (another is 422 `METHOD_NOT_SUPPORTED`).
    #[schema(value_type = crate::schema::PaymentMethod)]
    pub method: String,
}

/// `POST /v1/sales/{id}/capture` body (optional): all that remains without an amount.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Minor units to capture.
    #[serde(
        default,
        deserialize_with = "posagent_acquirer_api::integer::de_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    pub amount: Option<i64>,
}

/// `PUT /v1/log-level` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogLevelChange {
    /// A level, or `target=level` pairs, comma-separated.
    #[schema(
        max_length = 512,
        pattern = r"^((trace|debug|info|warn|error|off)|[A-Za-z0-9_:-]+=(trace|debug|info|warn|error|off))(,((trace|debug|info|warn|error|off)|[A-Za-z0-9_:-]+=(trace|debug|info|warn|error|off)))*$"
    )]
    pub level: String,
}

/// `GET /v1/klarna` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KlarnaQuery {
    /// Minor units, 1 to 2147483647.
    #[param(minimum = 1, maximum = 2_147_483_647)]
    pub amount: i64,
    /// `language-COUNTRY`; the store's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub locale: Option<String>,
    /// Klarna's interoperability token, if the register has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(min_length = 1, max_length = 8192, pattern = r"^[!-~]+$")]
    pub interoperability_token: Option<String>,
}

/// `GET /v1/reports/x` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct XReportQuery {
    /// Print it on the receipt printer too.
    #[serde(default)]
    pub print: bool,
}

/// `GET /v1/reports/reconciliation` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationQuery {
    /// `YYYY-MM-DD`; today by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<String>,
}

/// `GET /v1/queue` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `PENDING`, `DONE` or `DEAD` (any case); all by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::schema::QueueStateParam>)]
    pub state: Option<String>,
    /// At most this many, 1 to 10000 (1000 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 10_000)]
    pub limit: Option<usize>,
}

/// `GET /v1/sales`: which sales to list, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SaleQuery {
    /// Only sales created at or after this instant (RFC 3339, e.g. the start of the
    /// business day in the store's time zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Only sales created before this instant (RFC 3339): the `created_at` of the last
    /// sale of a page gives the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = DateTime)]
    pub before: Option<String>,
    /// Only sales in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::SaleState>)]
    pub state: Option<String>,
    /// Only sales paid (or asked to be paid) by this method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<crate::schema::PaymentMethod>)]
    pub method: Option<String>,
    /// At most this many, 1 to 1000 (100 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// A line the customer brings back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    /// The article reference on the original purchase.
    #[schema(min_length = 1, max_length = 255)]
    pub reference: String,
    /// How many.
    #[serde(deserialize_with = "posagent_acquirer_api::integer::de")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
}

/// `POST /v1/returns` body: lines, or an amount, or neither (everything refundable).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    /// The purchase's reference (this terminal's sale reference or an online order's); not
    /// only dots.
    #[schema(min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9._:/-]+$")]
    pub original_reference: String,
    /// The register's own reference of the return (a retry returns the same return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9._/-]{1,64}$")]
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
    #[schema(minimum = 1, maximum = 2_147_483_647)]
    pub amount: Option<i64>,
}
