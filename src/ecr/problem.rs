//! Error answers of the ECR API: `{code, message, field}` with a fitting 4xx/5xx status.

use crate::checkout::CheckoutError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip)]
    status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
    /// The offending request field, if one.
    pub field: Option<String>,
}

impl Problem {
    /// A problem with no field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Problem { status, code, message: message.into(), field: None }
    }

    /// 422 for one request field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "INVALID_FIELD",
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    /// Missing or wrong token.
    pub fn unauthorized() -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "send the ECR token as `Authorization: Bearer <token>`")
    }

    /// Parses a JSON body strictly: one value of the expected shape and nothing after it
    /// but white space (`{…}xyz` or two objects are refused, not half-read).
    pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| Problem::bad_json(&e))?;
        de.end().map_err(|e| Problem {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_REQUEST",
            message: format!("{e}: send one JSON value and nothing after it"),
            field: None,
        })?;
        Ok(value)
    }

    /// A body that is not the expected JSON.
    pub fn bad_json(e: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // serde names unknown/missing fields in backticks; prefer that over the path.
        let named = inner.split('`').nth(1).map(str::to_string);
        let field = match (path.as_str(), named) {
            (".", Some(n)) => Some(n),
            (".", None) => None,
            (p, _) => Some(p.to_string()),
        };
        Problem { status: StatusCode::BAD_REQUEST, code: "INVALID_REQUEST", message: inner, field }
    }
}

impl From<CheckoutError> for Problem {
    fn from(e: CheckoutError) -> Self {
        let message = e.to_string();
        match e {
            CheckoutError::Invalid { field, message } => {
                Problem { status: StatusCode::UNPROCESSABLE_ENTITY, code: "INVALID_FIELD", message, field: Some(field) }
            }
            CheckoutError::MethodNotSupported(_) => Problem {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "METHOD_NOT_SUPPORTED",
                message,
                field: Some("method".into()),
            },
            CheckoutError::Busy(_) => Problem::new(StatusCode::CONFLICT, "TERMINAL_BUSY", message),
            CheckoutError::ReferenceConflict(_) => Problem {
                status: StatusCode::CONFLICT,
                code: "REFERENCE_CONFLICT",
                message,
                field: Some("reference".into()),
            },
            CheckoutError::IdempotencyConflict(_) => Problem {
                status: StatusCode::CONFLICT,
                code: "IDEMPOTENCY_CONFLICT",
                message,
                field: Some("Idempotency-Key".into()),
            },
            CheckoutError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "NOT_FOUND", message),
            CheckoutError::ShuttingDown => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "SHUTTING_DOWN", message),
            CheckoutError::NotApproved(_) => Problem::new(StatusCode::CONFLICT, "NOT_APPROVED", message),
            CheckoutError::NotRetryable(_) => Problem::new(StatusCode::CONFLICT, "NOT_RETRYABLE", message),
            CheckoutError::NotAwaitingMethod(_) => Problem::new(StatusCode::CONFLICT, "NOT_AWAITING_METHOD", message),
            CheckoutError::NothingToCapture(_) => Problem::new(StatusCode::CONFLICT, "NOTHING_LEFT", message),
            CheckoutError::Acquirer(e) if e.is_unreachable() => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "ACQUIRER_UNREACHABLE", message)
            }
            CheckoutError::Acquirer(_) => Problem::new(StatusCode::BAD_GATEWAY, "ACQUIRER_REFUSED", message),
            CheckoutError::Printer(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "PRINTER_UNAVAILABLE", message),
            CheckoutError::Store(e) => Problem::from(e),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, axum::Json(&self)).into_response()
    }
}

impl From<crate::returns::ReturnError> for Problem {
    fn from(e: crate::returns::ReturnError) -> Self {
        use crate::returns::ReturnError;
        let message = e.to_string();
        match e {
            ReturnError::Invalid { field, message } => {
                Problem { status: StatusCode::UNPROCESSABLE_ENTITY, code: "INVALID_FIELD", message, field: Some(field) }
            }
            ReturnError::NotFound(_) => Problem {
                status: StatusCode::NOT_FOUND,
                code: "PURCHASE_NOT_FOUND",
                message,
                field: Some("original_reference".into()),
            },
            ReturnError::Offline(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "ACQUIRER_UNREACHABLE", message),
            ReturnError::Backend(_) => Problem::new(StatusCode::BAD_GATEWAY, "ACQUIRER_REFUSED", message),
            ReturnError::ReferenceConflict(_) => Problem {
                status: StatusCode::CONFLICT,
                code: "REFERENCE_CONFLICT",
                message,
                field: Some("reference".into()),
            },
            ReturnError::Store(e) => Problem::from(e),
        }
    }
}

impl From<crate::store::StoreError> for Problem {
    /// A damaged journal row is 500 `JOURNAL_ROW_DAMAGED` (retrying does not help; store
    /// IT must look at it); any other journal failure 503 `JOURNAL_UNAVAILABLE`.
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::CorruptRow { .. } => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "JOURNAL_ROW_DAMAGED", e.to_string())
            }
            e => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "JOURNAL_UNAVAILABLE", e.to_string()),
        }
    }
}
