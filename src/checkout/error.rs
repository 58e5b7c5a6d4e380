//! What the checkout answers when it refuses a request.

use crate::store::StoreError;

/// A refused checkout request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// The request is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Offending field.
        field: String,
        /// Why.
        message: String,
    },
    /// The sale is not waiting for the customer's choice of method.
    #[error("the sale is {0}; a method can be chosen only while it is AWAITING_METHOD")]
    NotAwaitingMethod(&'static str),
    /// The tender is not available on this terminal.
    #[error("{0}")]
    MethodNotSupported(String),
    /// Another sale is on the display.
    #[error("sale {0} is in progress on this terminal; wait for it to end or cancel it")]
    Busy(String),
    /// The register's reference was used for a different sale.
    #[error(
        "reference {0} is already used by a sale with another amount, currency, method, capture mode, lines, locale or interoperability token; use a new reference"
    )]
    ReferenceConflict(String),
    /// The register's Idempotency-Key came back with another request.
    #[error("Idempotency-Key {0} was used for another request (another amount); use a new key")]
    IdempotencyConflict(String),
    /// No such sale.
    #[error("no sale {0}")]
    NotFound(String),
    /// Only an approved sale has a receipt, a capture or a void.
    #[error("the sale is {0}; only an approved sale can do that")]
    NotApproved(&'static str),
    /// The sale is not over, or was paid: there is nothing to try again.
    #[error("the sale is {0}; only a sale that ended unpaid can be tried again")]
    NotRetryable(&'static str),
    /// Nothing is left to capture or void.
    #[error("{0}")]
    NothingToCapture(String),
    /// The acquirer refused or could not be reached; nothing changed.
    #[error(transparent)]
    Acquirer(crate::backend::BackendError),
    /// The printer could not print.
    #[error(transparent)]
    Printer(crate::devices::DeviceError),
    /// The journal failed: nothing was done.
    #[error(transparent)]
    Store(StoreError),
    /// The daemon is shutting down and takes no new sales.
    #[error("the terminal is shutting down; try again when it is back")]
    ShuttingDown,
}

impl From<StoreError> for CheckoutError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => CheckoutError::NotFound(id),
            other => CheckoutError::Store(other),
        }
    }
}
