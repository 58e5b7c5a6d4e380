//! Reversals: undoing an authorization the terminal cannot tell the fate of.
//!
//! A terminal that sent an authorization and never got the answer (a timeout, a crash)
//! and then ends the sale some other way — declined offline, canceled by the cashier —
//! asks the acquirer to reverse whatever that authorization did, by the terminal's
//! reference. An open authorization is voided, what was captured with it is refunded,
//! and a reference the acquirer has not seen yet is remembered as reversed, so an
//! authorization arriving late under it is declined with `REVERSED`.

use crate::payments::PaymentTransaction;
use serde::{Deserialize, Serialize};

/// Declined reason of an authorization whose reference was reversed before it arrived.
pub const REVERSED_REASON: &str = "REVERSED";

/// `POST /v1/payments/reversals` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReversalRequest {
    /// The reference of the authorization to reverse (1 to 255 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub payment_transaction_reference: String,
}

/// What a reversal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReversalResult {
    /// The authorization existed: it is voided, and what was captured refunded.
    Reversed,
    /// No authorization under the reference: none will be accepted under it from now on.
    NotFound,
}

/// Answer of `POST /v1/payments/reversals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReversalResponse {
    /// The reference reversed.
    pub payment_transaction_reference: String,
    /// What was found.
    pub result: ReversalResult,
    /// The transaction as it stands after the reversal, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_transaction: Option<PaymentTransaction>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let req: ReversalRequest = serde_json::from_str(r#"{"payment_transaction_reference":"T1-0001"}"#).unwrap();
        assert_eq!(req.payment_transaction_reference, "T1-0001");
        assert!(
            serde_json::from_str::<ReversalRequest>(r#"{"payment_transaction_reference":"x","amount":1}"#).is_err()
        );
        let resp = ReversalResponse {
            payment_transaction_reference: "T1-0001".into(),
            result: ReversalResult::NotFound,
            payment_transaction: None,
        };
        assert_eq!(
            serde_json::to_string(&resp).unwrap(),
            r#"{"payment_transaction_reference":"T1-0001","result":"NOT_FOUND"}"#
        );
    }
}
