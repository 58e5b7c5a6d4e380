//! Error answers of the ECR API: the wire's `{code, message, field}` envelope
//! ([`ErrorBody`]) with a fitting 4xx/5xx status. Every error of the layers below maps
//! onto an [`ErrorCode`] in an exhaustive `match`: a new error variant does not compile
//! until it is given its code.

use crate::checkout::CheckoutError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use posagent_ecr_api::{ErrorBody, ErrorCode};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    /// Machine-readable code.
    pub code: ErrorCode,
    /// What happened and what to do.
    pub message: String,
    /// The offending request field, if one.
    pub field: Option<String>,
}

impl Problem {
    /// A problem with no field.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Problem { status, code, message: message.into(), field: None }
    }

    /// The same problem naming the request field (or header) at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 422 for one request field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidField, message).with_field(field)
    }

    /// 400 for a request the API does not take.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
    }

    /// Missing or wrong token.
    pub fn unauthorized() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "send the ECR token as `Authorization: Bearer <token>`",
        )
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body it is answered with.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { code: self.code, message: self.message.clone(), field: self.field.clone() }
    }

    /// Parses a JSON body strictly: one value of the expected shape and nothing after it
    /// but white space (`{…}xyz` or two objects are refused, not half-read).
    pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| Problem::bad_json(&e))?;
        de.end().map_err(|e| Problem::invalid_request(format!("{e}: send one JSON value and nothing after it")))?;
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
        Problem { field, ..Problem::invalid_request(inner) }
    }
}

impl From<CheckoutError> for Problem {
    fn from(e: CheckoutError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            CheckoutError::Invalid { field, message } => Problem::invalid_field(&field, message),
            CheckoutError::MethodNotSupported(_) => {
                Problem::new(S::UNPROCESSABLE_ENTITY, ErrorCode::MethodNotSupported, message).with_field("method")
            }
            CheckoutError::Busy(_) => Problem::new(S::CONFLICT, ErrorCode::TerminalBusy, message),
            CheckoutError::ReferenceConflict(_) => {
                Problem::new(S::CONFLICT, ErrorCode::ReferenceConflict, message).with_field("reference")
            }
            CheckoutError::IdempotencyConflict(_) => {
                Problem::new(S::CONFLICT, ErrorCode::IdempotencyConflict, message).with_field("Idempotency-Key")
            }
            CheckoutError::NotFound(_) => Problem::new(S::NOT_FOUND, ErrorCode::NotFound, message),
            CheckoutError::ShuttingDown => Problem::new(S::SERVICE_UNAVAILABLE, ErrorCode::ShuttingDown, message),
            CheckoutError::NotApproved(_) => Problem::new(S::CONFLICT, ErrorCode::NotApproved, message),
            CheckoutError::NotRetryable(_) => Problem::new(S::CONFLICT, ErrorCode::NotRetryable, message),
            CheckoutError::NotAwaitingMethod(_) => Problem::new(S::CONFLICT, ErrorCode::NotAwaitingMethod, message),
            CheckoutError::NothingToCapture(_) => Problem::new(S::CONFLICT, ErrorCode::NothingLeft, message),
            CheckoutError::Acquirer(e) if e.is_unreachable() => {
                Problem::new(S::SERVICE_UNAVAILABLE, ErrorCode::AcquirerUnreachable, message)
            }
            CheckoutError::Acquirer(_) => Problem::new(S::BAD_GATEWAY, ErrorCode::AcquirerRefused, message),
            CheckoutError::Printer(_) => Problem::new(S::SERVICE_UNAVAILABLE, ErrorCode::PrinterUnavailable, message),
            CheckoutError::Store(e) => Problem::from(e),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

impl From<crate::returns::ReturnError> for Problem {
    fn from(e: crate::returns::ReturnError) -> Self {
        use crate::returns::ReturnError;
        use StatusCode as S;
        let message = e.to_string();
        match e {
            ReturnError::Invalid { field, message } => Problem::invalid_field(&field, message),
            ReturnError::NotFound(_) => {
                Problem::new(S::NOT_FOUND, ErrorCode::PurchaseNotFound, message).with_field("original_reference")
            }
            ReturnError::Offline(_) => Problem::new(S::SERVICE_UNAVAILABLE, ErrorCode::AcquirerUnreachable, message),
            ReturnError::Backend(_) => Problem::new(S::BAD_GATEWAY, ErrorCode::AcquirerRefused, message),
            ReturnError::ReferenceConflict(_) => {
                Problem::new(S::CONFLICT, ErrorCode::ReferenceConflict, message).with_field("reference")
            }
            ReturnError::OverCashierLimit { .. } => {
                Problem::new(S::FORBIDDEN, ErrorCode::SupervisorRequired, message).with_field("amount")
            }
            ReturnError::Store(e) => Problem::from(e),
        }
    }
}

impl From<crate::reports::ReportError> for Problem {
    fn from(e: crate::reports::ReportError) -> Self {
        match e {
            crate::reports::ReportError::Backend(b) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::AcquirerUnreachable, b.to_string())
            }
            crate::reports::ReportError::Store(e) => Problem::from(e),
        }
    }
}

impl From<crate::staff::StaffError> for Problem {
    fn from(e: crate::staff::StaffError) -> Self {
        use crate::staff::StaffError;
        use StatusCode as S;
        let message = e.to_string();
        match e {
            StaffError::Invalid { field, message } => Problem::invalid_field(field, message),
            StaffError::WrongPin => Problem::new(S::UNAUTHORIZED, ErrorCode::WrongPin, message),
            StaffError::Locked { .. } => Problem::new(S::LOCKED, ErrorCode::CashierLocked, message),
            StaffError::NotSupervisor(_) => Problem::new(S::FORBIDDEN, ErrorCode::SupervisorRequired, message),
            StaffError::Store(e) => Problem::from(e),
            StaffError::Pin(_) => Problem::new(S::INTERNAL_SERVER_ERROR, ErrorCode::InternalError, message),
        }
    }
}

impl From<crate::store::StoreError> for Problem {
    /// A damaged journal row is 500 `JOURNAL_ROW_DAMAGED` (retrying does not help; store
    /// IT must look at it); any other journal failure 503 `JOURNAL_UNAVAILABLE`.
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        let message = e.to_string();
        match e {
            StoreError::CorruptRow { .. } => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::JournalRowDamaged, message)
            }
            StoreError::Sqlite { .. }
            | StoreError::Encode { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Migration { .. }
            | StoreError::NotFound(_)
            | StoreError::Closed => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::JournalUnavailable, message)
            }
        }
    }
}
