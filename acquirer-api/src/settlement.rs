//! The settlement report of one day: what the acquirer will pay out, per transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Kind of a settled movement (Klarna settlement types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SettlementType {
    /// A capture.
    Sale,
    /// A refund.
    Return,
}

/// One settled movement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementEntry {
    /// Sale or return.
    #[serde(rename = "type")]
    pub kind: SettlementType,
    /// Transaction KRN.
    pub payment_transaction_id: String,
    /// The terminal's reference of the sale.
    pub reference: String,
    /// Amount in minor units.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Amount))]
    pub amount: i64,
    /// Currency.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Currency))]
    pub currency: String,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
}

/// Totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementTotal {
    /// Currency.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Currency))]
    pub currency: String,
    /// Sum of sales.
    pub sales: i64,
    /// Sum of returns.
    pub returns: i64,
    /// `sales − returns`.
    pub net: i64,
}

/// `GET /v1/settlements/{date}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementReport {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Totals per currency.
    pub totals: Vec<SettlementTotal>,
    /// Every movement of the day.
    pub entries: Vec<SettlementEntry>,
}
