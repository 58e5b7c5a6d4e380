//! The operations of the Terminal API, one stub per operation for utoipa's `path`
//! attribute: method, path, parameters, body and every answer each may give; and the
//! error envelope's response.
#![allow(dead_code)]

use super::values::LedgerEntry;
use crate::batch::{BatchRequest, BatchResponse};
use crate::events::EventPage;
use crate::settlement::SettlementReport;
use crate::{
    AuthorizeRequest, AuthorizeResponse, AvailabilityQuery, AvailabilityResponse, CaptureRequest, PaymentRequest,
    PaymentRequestState, PaymentTransaction, RefundRequest, ReversalRequest, ReversalResponse,
};
use utoipa::IntoParams;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// The error envelope, the `default` answer of every operation.
pub struct Error;

impl<'s> utoipa::ToResponse<'s> for Error {
    fn response() -> (&'s str, RefOr<Response>) {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiError"))).build();
        let response = ResponseBuilder::new()
            .description(
                "An error envelope: 400 INPUT_ERROR, 401 ACCESS_ERROR, 403/404/409 RESOURCE_ERROR, 429/5xx \
                 TECHNICAL_ERROR (retry with the same key; 429 carries Retry-After).",
            )
            .content("application/json", content)
            .build();
        ("Error", response.into())
    }
}

/// The retry-safety key every POST carries.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Same key and body: the original answer replayed for 24 h. Same key, other body: 409
    /// RESOURCE_CONFLICT. 1 to 255 visible ASCII characters (a UUID fits).
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255, pattern = r"^[!-~]+$")]
    key: String,
}

/// A payment request, by id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PaymentRequestId {
    payment_request_id: String,
}

/// A transaction, by id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PaymentTransactionId {
    payment_transaction_id: String,
}

/// A sale's reference, in the query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByReference {
    reference: String,
}

/// An order, by its reference.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrderReference {
    reference: String,
}

/// A day (UTC).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SettlementDate {
    date: chrono::NaiveDate,
}

/// The long poll of a payment request.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadRequest {
    wait_for_change_from: Option<PaymentRequestState>,
    #[param(minimum = 0, maximum = 30_000)]
    timeout_ms: Option<u64>,
}

/// The long poll of the event stream.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadEvents {
    #[param(minimum = 0)]
    after: Option<u64>,
    #[param(minimum = 0, maximum = 30_000)]
    timeout_ms: Option<u64>,
}

#[utoipa::path(get, path = "/v1/klarna/availability", operation_id = "readAvailability", params(AvailabilityQuery),
    summary = "Whether Klarna may be offered for a purchase, with Klarna's wording for the locale.",
    responses(
        (status = 414, description = "The query is longer than the HTTP layer takes (64 KiB); answered by it, without a body"),
        (status = 200, description = "Availability", body = AvailabilityResponse),
        (status = "default", response = Error)))]
fn read_availability() {}

#[utoipa::path(post, path = "/v1/payments/authorize", operation_id = "authorizePayment", params(IdempotencyKey),
    summary = "Authorize a Klarna (step-up, then final with the session token) or card payment.",
    request_body = AuthorizeRequest,
    responses((status = 200, description = "Outcome", body = AuthorizeResponse), (status = "default", response = Error)))]
fn authorize_payment() {}

#[utoipa::path(post, path = "/v1/payments/reversals", operation_id = "reversePayment", params(IdempotencyKey),
    summary = "Reverse whatever the terminal's authorization with this reference did (its answer never came and the sale ended otherwise) — void what is authorized, refund what was captured; an unknown reference is remembered and a late authorization under it is declined with REVERSED.",
    request_body = ReversalRequest,
    responses((status = 200, description = "Outcome", body = ReversalResponse), (status = "default", response = Error)))]
fn reverse_payment() {}

#[utoipa::path(get, path = "/v1/payment-requests", operation_id = "readPaymentRequestByReference", params(ByReference),
    summary = "The latest payment request of a sale reference (crash recovery).",
    responses((status = 200, description = "Payment request", body = PaymentRequest),
        (status = "default", response = Error)))]
fn read_payment_request_by_reference() {}

#[utoipa::path(get, path = "/v1/payment-requests/{payment_request_id}", operation_id = "readPaymentRequest",
    params(PaymentRequestId, ReadRequest),
    summary = "Read a payment request; with wait_for_change_from, a long poll.",
    responses((status = 200, description = "Payment request", body = PaymentRequest),
        (status = "default", response = Error)))]
fn read_payment_request() {}

#[utoipa::path(post, path = "/v1/payment-requests/{payment_request_id}/cancel", operation_id = "cancelPaymentRequest",
    params(PaymentRequestId, IdempotencyKey),
    summary = "Cancel (SUBMITTED, IN_PROGRESS, or COMPLETED before the final authorization).",
    responses((status = 200, description = "The payment request", body = PaymentRequest),
        (status = "default", response = Error)))]
fn cancel_payment_request() {}

#[utoipa::path(get, path = "/v1/payment-transactions", operation_id = "readTransactionByReference", params(ByReference),
    summary = "The transaction of a sale reference (crash recovery).",
    responses((status = 200, description = "Transaction", body = PaymentTransaction),
        (status = "default", response = Error)))]
fn read_transaction_by_reference() {}

#[utoipa::path(get, path = "/v1/payment-transactions/{payment_transaction_id}", operation_id = "readTransaction",
    params(PaymentTransactionId),
    responses((status = 200, description = "Transaction", body = PaymentTransaction),
        (status = "default", response = Error)))]
fn read_transaction() {}

#[utoipa::path(post, path = "/v1/payment-transactions/{payment_transaction_id}/captures",
    operation_id = "captureTransaction", params(PaymentTransactionId, IdempotencyKey),
    summary = "Capture (part of) the remaining authorized amount. At most 200 captures.",
    request_body = CaptureRequest,
    responses((status = 201, description = "The transaction after the capture", body = PaymentTransaction),
        (status = "default", response = Error)))]
fn capture_transaction() {}

#[utoipa::path(post, path = "/v1/payment-transactions/{payment_transaction_id}/refunds",
    operation_id = "refundTransaction", params(PaymentTransactionId, IdempotencyKey),
    summary = "Refund by capture or by lines; never more than captured. At most 200 refunds.",
    request_body = RefundRequest,
    responses((status = 201, description = "The transaction after the refund", body = PaymentTransaction),
        (status = "default", response = Error)))]
fn refund_transaction() {}

#[utoipa::path(post, path = "/v1/payment-transactions/{payment_transaction_id}/void", operation_id = "voidTransaction",
    params(PaymentTransactionId, IdempotencyKey),
    summary = "Release the remaining authorization (only while AUTHORIZED and not fully captured).",
    responses((status = 200, description = "The transaction, CLOSED or COMPLETED", body = PaymentTransaction),
        (status = "default", response = Error)))]
fn void_transaction() {}

#[utoipa::path(get, path = "/v1/orders/{reference}", operation_id = "readOrder", params(OrderReference),
    summary = "An order by its reference, in store or online (returns of online purchases).",
    responses((status = 200, description = "The order's transaction with its lines", body = PaymentTransaction),
        (status = "default", response = Error)))]
fn read_order() {}

#[utoipa::path(get, path = "/v1/settlements/{date}", operation_id = "readSettlement", params(SettlementDate),
    summary = "The settlement report of a day (UTC).",
    responses((status = 200, description = "Report", body = SettlementReport), (status = "default", response = Error)))]
fn read_settlement() {}

#[utoipa::path(get, path = "/v1/events", operation_id = "readEvents", params(ReadEvents),
    summary = "Long poll of the terminal's events after a sequence number; the body is signed.",
    responses(
        (status = 200, description = "Events, oldest first (at most 100)", body = EventPage,
            headers(
                ("Klarna-Signature" = String, description = "Lowercase hex HMAC-SHA256 of the raw body"),
                ("Klarna-Signing-Key-Id" = String, description = "Id of the signing key"))),
        (status = "default", response = Error)))]
fn read_events() {}

#[utoipa::path(post, path = "/v1/batches", operation_id = "uploadBatch", params(IdempotencyKey),
    summary = "Operations queued offline, each under its own idempotency key, processed in order.",
    request_body = BatchRequest,
    responses((status = 200, description = "One result per operation", body = BatchResponse),
        (status = "default", response = Error)))]
fn upload_batch() {}

#[utoipa::path(get, path = "/v1/ledger", operation_id = "readLedger", tag = "simulator",
    summary = "The simulator's only, a real acquirer has none: every booking, oldest first, for tests to prove nothing was charged twice (docs/acquirer-api.md).",
    responses((status = 200, description = "Every booking", body = Vec<LedgerEntry>), (status = "default", response = Error)))]
fn read_ledger() {}
