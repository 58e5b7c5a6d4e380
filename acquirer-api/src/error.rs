//! The acquirer's error envelope, shaped like Klarna Network's.

use serde::{Deserialize, Serialize};

/// Class of an error, as Klarna Network groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorType {
    /// The request was malformed or failed validation.
    InputError,
    /// Credentials missing, wrong, or not allowed to do this.
    AccessError,
    /// The resource does not exist, or its state forbids the operation.
    ResourceError,
    /// The acquirer failed; the request may be retried with the same idempotency key.
    TechnicalError,
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationError {
    /// Path of the offending field, e.g. `line_items[2].tax_rate`.
    pub parameter: String,
    /// Why it was refused.
    pub reason: String,
    /// Where the rule the field broke is documented, as Klarna gives it per field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub doc_url: Option<String>,
}

impl ValidationError {
    /// A field error without a documentation link.
    pub fn new(parameter: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError { parameter: parameter.into(), reason: reason.into(), doc_url: None }
    }
}

/// `{error_id, error_type, error_code, error_message, doc_url, validation_errors[]}`, as
/// Klarna Network's error object (its `doc_url` optional: a client must not depend on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Unique id of this error occurrence, for support.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub error_id: String,
    /// Class of the error.
    pub error_type: ErrorType,
    /// Machine-readable code such as `VALIDATION_ERROR`, `RESOURCE_CONFLICT`, `RATE_LIMITED`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub error_code: String,
    /// Human-readable message for operators (never for shoppers).
    pub error_message: String,
    /// Where this error is documented (Klarna's `doc_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub doc_url: Option<String>,
    /// Field-level problems, empty unless `error_code` is `VALIDATION_ERROR`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub validation_errors: Vec<ValidationError>,
}
