//! Batch upload of operations queued offline: each carries its own idempotency key and
//! is processed exactly as if it had been sent alone.

use serde::{Deserialize, Serialize};

/// Kind of a batched operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BatchOperationKind {
    /// `POST /v1/payments/authorize`.
    Authorize,
    /// `POST /v1/payment-transactions/{id}/captures`.
    Capture,
    /// `POST /v1/payment-transactions/{id}/refunds`.
    Refund,
    /// `POST /v1/payment-transactions/{id}/void`.
    Void,
    /// `POST /v1/payments/reversals`.
    Reverse,
}

/// One queued operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchOperation {
    /// The key stored with the operation when it was queued.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub idempotency_key: String,
    /// What to do.
    pub operation: BatchOperationKind,
    /// The transaction, for capture, refund and void.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_transaction_id: Option<String>,
    /// The request body the single endpoint takes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub request: serde_json::Value,
}

/// `POST /v1/batches` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchRequest {
    /// Up to 100 operations, processed in order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub operations: Vec<BatchOperation>,
}

/// The outcome of one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchResult {
    /// The operation's key.
    pub idempotency_key: String,
    /// HTTP status the single endpoint would have answered.
    pub status: u16,
    /// Its body (the resource, or the error envelope).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::batch_body))]
    pub body: serde_json::Value,
}

/// `POST /v1/batches` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchResponse {
    /// One result per operation, in order.
    pub results: Vec<BatchResult>,
}

/// Most operations per batch.
pub const MAX_BATCH: usize = 100;
