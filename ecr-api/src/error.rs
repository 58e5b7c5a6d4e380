//! The error envelope of every ECR error answer, `{code, message, field}`, and the closed
//! list of its codes.

use serde::{Deserialize, Serialize};

/// Every code the terminal answers an error with (`docs/ecr-api.md` says what each means
/// and what to do). The daemon maps each of its errors onto one in an exhaustive `match`,
/// so a new error cannot fall silently into another code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The acquirer answered Klarna's availability question with an error.
    AcquirerError,
    /// The acquirer refused the operation.
    AcquirerRefused,
    /// The acquirer does not answer; nothing was done.
    AcquirerUnreachable,
    /// The request body is over the limit (1 MiB).
    BodyTooLarge,
    /// Too many wrong PINs: the cashier cannot sign in until the time the message gives.
    CashierLocked,
    /// A console request without its session's CSRF token, or from another origin.
    CsrfRejected,
    /// The request names a host that is not this terminal (`ecr.allowed_hosts`).
    HostNotAllowed,
    /// The `Idempotency-Key` was used before for another request.
    IdempotencyConflict,
    /// The terminal could not answer; see its log.
    InternalError,
    /// A request field is not valid (`field` names it).
    InvalidField,
    /// The request is not one the API takes (not JSON, a bad query, a bad header).
    InvalidRequest,
    /// A journal row the answer needs does not decode.
    JournalRowDamaged,
    /// The journal cannot be read or written.
    JournalUnavailable,
    /// The endpoint does not take this HTTP method.
    MethodNotAllowed,
    /// The payment method is not offered.
    MethodNotSupported,
    /// Nothing is left to capture or void.
    NothingLeft,
    /// The sale is not approved.
    NotApproved,
    /// The sale is not waiting for the customer's choice of method.
    NotAwaitingMethod,
    /// The queued operation is not a dead letter.
    NotDead,
    /// No such sale, return, queued operation or endpoint.
    NotFound,
    /// The log filter cannot be changed in this process.
    NotReloadable,
    /// The sale is still open or paid: it cannot be tried again.
    NotRetryable,
    /// The printer profile has no cash drawer.
    NoCashDrawer,
    /// The receipt printer is not there.
    PrinterUnavailable,
    /// The purchase a return names is not known.
    PurchaseNotFound,
    /// Too many requests; slow down.
    RateLimited,
    /// The reference was used before for another request.
    ReferenceConflict,
    /// The daemon is stopping.
    ShuttingDown,
    /// The console is not signed in, or was locked after a time without use: sign in again.
    SignInRequired,
    /// The action needs a supervisor: one signs in, or approves with their number and PIN.
    SupervisorRequired,
    /// Another sale is open.
    TerminalBusy,
    /// The ECR token is missing or wrong.
    Unauthorized,
    /// The request body's content type is not JSON.
    UnsupportedMediaType,
    /// The cashier number or the PIN is not right.
    WrongPin,
}

impl ErrorCode {
    /// Every code, in the order of the enum.
    pub const ALL: [ErrorCode; 34] = [
        ErrorCode::AcquirerError,
        ErrorCode::AcquirerRefused,
        ErrorCode::AcquirerUnreachable,
        ErrorCode::BodyTooLarge,
        ErrorCode::CashierLocked,
        ErrorCode::CsrfRejected,
        ErrorCode::HostNotAllowed,
        ErrorCode::IdempotencyConflict,
        ErrorCode::InternalError,
        ErrorCode::InvalidField,
        ErrorCode::InvalidRequest,
        ErrorCode::JournalRowDamaged,
        ErrorCode::JournalUnavailable,
        ErrorCode::MethodNotAllowed,
        ErrorCode::MethodNotSupported,
        ErrorCode::NothingLeft,
        ErrorCode::NotApproved,
        ErrorCode::NotAwaitingMethod,
        ErrorCode::NotDead,
        ErrorCode::NotFound,
        ErrorCode::NotReloadable,
        ErrorCode::NotRetryable,
        ErrorCode::NoCashDrawer,
        ErrorCode::PrinterUnavailable,
        ErrorCode::PurchaseNotFound,
        ErrorCode::RateLimited,
        ErrorCode::ReferenceConflict,
        ErrorCode::ShuttingDown,
        ErrorCode::SignInRequired,
        ErrorCode::SupervisorRequired,
        ErrorCode::TerminalBusy,
        ErrorCode::Unauthorized,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::WrongPin,
    ];

    /// The code as it is on the wire, e.g. `NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AcquirerError => "ACQUIRER_ERROR",
            ErrorCode::AcquirerRefused => "ACQUIRER_REFUSED",
            ErrorCode::AcquirerUnreachable => "ACQUIRER_UNREACHABLE",
            ErrorCode::BodyTooLarge => "BODY_TOO_LARGE",
            ErrorCode::CashierLocked => "CASHIER_LOCKED",
            ErrorCode::CsrfRejected => "CSRF_REJECTED",
            ErrorCode::HostNotAllowed => "HOST_NOT_ALLOWED",
            ErrorCode::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::InvalidField => "INVALID_FIELD",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::JournalRowDamaged => "JOURNAL_ROW_DAMAGED",
            ErrorCode::JournalUnavailable => "JOURNAL_UNAVAILABLE",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::MethodNotSupported => "METHOD_NOT_SUPPORTED",
            ErrorCode::NothingLeft => "NOTHING_LEFT",
            ErrorCode::NotApproved => "NOT_APPROVED",
            ErrorCode::NotAwaitingMethod => "NOT_AWAITING_METHOD",
            ErrorCode::NotDead => "NOT_DEAD",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::NotReloadable => "NOT_RELOADABLE",
            ErrorCode::NotRetryable => "NOT_RETRYABLE",
            ErrorCode::NoCashDrawer => "NO_CASH_DRAWER",
            ErrorCode::PrinterUnavailable => "PRINTER_UNAVAILABLE",
            ErrorCode::PurchaseNotFound => "PURCHASE_NOT_FOUND",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::ReferenceConflict => "REFERENCE_CONFLICT",
            ErrorCode::ShuttingDown => "SHUTTING_DOWN",
            ErrorCode::SignInRequired => "SIGN_IN_REQUIRED",
            ErrorCode::SupervisorRequired => "SUPERVISOR_REQUIRED",
            ErrorCode::TerminalBusy => "TERMINAL_BUSY",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::WrongPin => "WRONG_PIN",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answer's body: nothing was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Problem)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// What happened and what to do.
    pub message: String,
    /// The offending request field (or header), if one; `null` otherwise.
    #[serde(default)]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_its_wire_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, code.as_str(), "{code:?}");
            assert_eq!(serde_json::from_value::<ErrorCode>(json).ok(), Some(code));
        }
    }

    #[test]
    fn the_envelope_always_names_field() {
        let body = ErrorBody { code: ErrorCode::NotFound, message: "no sale X".into(), field: None };
        let text = serde_json::to_string(&body).unwrap_or_default();
        assert_eq!(text, r#"{"code":"NOT_FOUND","message":"no sale X","field":null}"#);
        let back: ErrorBody = serde_json::from_str(r#"{"code":"NOT_FOUND","message":"m"}"#).unwrap_or(body);
        assert_eq!(back.field, None);
        assert!(serde_json::from_str::<ErrorBody>(r#"{"code":"NEW_CODE","message":"m"}"#).is_err());
    }
}
