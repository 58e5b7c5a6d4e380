//! Wire types of the acquirer Terminal API.
//!
//! One definition shared by the posagent client (`src/backend/`) and the simulated
//! acquirer (`posagent-sim`). Names, enums and states follow Klarna Network: payment
//! requests, payment transactions, authorize results and interoperability statuses.
//! Amounts are integers in minor units of an ISO 4217 currency. The protocol is
//! described in `docs/acquirer-api.md`; the `openapi` feature generates its OpenAPI
//! document (`docs/acquirer-api.yaml`) from these types.

pub mod auth;
pub mod availability;
pub mod batch;
mod currencies;
pub mod error;
pub mod events;
pub mod integer;
pub mod interaction;
pub mod lines;
pub mod money;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod payments;
pub mod reversal;
pub mod settlement;
pub mod validate;

pub use availability::{
    AvailabilityQuery, AvailabilityResponse, EnrichedSubheader, InteroperabilityStatus, PaymentOption,
    PresentationIcon, PresentationInstruction, PresentationLink, PresentationSubheader, PresentationText,
};
pub use error::{ApiError, ErrorType, ValidationError};
pub use lines::{LineItem, LineItemError, LineType};
pub use money::{Currency, CurrencyError, MAX_AMOUNT, SETTLED_CURRENCIES, SettledCurrencyError};
pub use payments::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, Capture, CaptureMode, CaptureRequest, CardData,
    InteractionExpiry, KlarnaData, PaymentMethod, PaymentRequest, PaymentRequestState, PaymentTransaction,
    PointOfCheckout, PointOfTransaction, Refund, RefundRequest, TransactionState,
};
pub use reversal::{REVERSED_REASON, ReversalRequest, ReversalResponse, ReversalResult};

/// Header that carries the idempotency key on every POST.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Most characters an interoperability token or data blob may have (Klarna's limit).
pub const MAX_INTEROPERABILITY_LEN: usize = 8192;
