//! HTTP routes of the simulated acquirer: the Terminal API under `/v1`, and the
//! customer's side of Klarna's purchase journey under `/pay` (what a phone opens).

use super::SimBackend;
use super::idempotency::{Lookup, StoredResponse};
use super::state::Refusal;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use posagent_acquirer_api::auth::{bearer_token, constant_time_eq};
use posagent_acquirer_api::{
    ApiError, AuthorizeRequest, AvailabilityQuery, ErrorType, IDEMPOTENCY_KEY_HEADER, PaymentRequestState,
    ValidationError,
};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

pub(super) type Shared = Arc<SimBackend>;

/// The acquirer's router.
pub fn router(backend: Shared) -> Router {
    let api = Router::new()
        .route("/v1/klarna/availability", get(availability))
        .route("/v1/payments/authorize", post(authorize))
        .route("/v1/payments/reversals", post(reverse))
        .route("/v1/payment-requests", get(request_by_reference))
        .route("/v1/payment-requests/{id}", get(read_request))
        .route("/v1/payment-requests/{id}/cancel", post(cancel_request))
        .route("/v1/payment-transactions", get(transaction_by_reference))
        .route("/v1/payment-transactions/{id}", get(read_transaction))
        .route("/v1/payment-transactions/{id}/captures", post(capture))
        .route("/v1/payment-transactions/{id}/refunds", post(refund))
        .route("/v1/payment-transactions/{id}/void", post(void))
        .route("/v1/orders/{reference}", get(read_order))
        .route("/v1/settlements/{date}", get(settlement))
        .route("/v1/events", get(events))
        .route("/v1/batches", post(batch))
        .route("/v1/ledger", get(super::control::ledger))
        .layer(axum::middleware::from_fn_with_state(backend.clone(), require_key))
        .layer(axum::middleware::from_fn_with_state(backend.clone(), super::faults::inject));
    Router::new()
        .merge(api)
        .merge(super::control::routes())
        .route(super::assets::BADGE_SVG_PATH, get(super::assets::badge_svg))
        .route(super::assets::BADGE_PNG_PATH, get(super::assets::badge_png_route))
        .route(super::assets::SQUARE_SVG_PATH, get(super::assets::square_svg))
        .route("/pay/{id}/qr.png", get(qr_image))
        .fallback(super::bare_errors::not_found)
        .layer(axum::middleware::from_fn(super::bare_errors::envelope))
        .with_state(backend)
}

/// `GET /pay/{id}/qr.png`: the payment request's QR code as an image (its
/// `qr_code.image_url`), for partners that show Klarna's image instead of drawing the code.
async fn qr_image(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    let request = b.books().payment_request(&id, b.now());
    match request.map(|r| super::assets::qr_png(&r.state_context.customer_interaction.qr_code.target_url)) {
        Ok(Some(png)) => ([(axum::http::header::CONTENT_TYPE, "image/png")], png).into_response(),
        Ok(None) => refusal(super::state::invalid("id", "no QR code can be made of this payment request")),
        Err(r) => refusal(r),
    }
}

/// Where the simulated acquirer's errors are documented: Klarna Network's error handling
/// page, whose envelope and codes the acquirer answers with (every error carries it, as
/// Klarna's do, and so does every field error).
pub(super) const ERROR_DOC_URL: &str =
    "https://docs.klarna.com/klarna-network-distribution/setup-your-integration/integration-resilience/error-handling/";

fn envelope(error_type: ErrorType, code: &str, message: String, validation: Vec<ValidationError>) -> Vec<u8> {
    let validation_errors = validation
        .into_iter()
        .map(|e| ValidationError { doc_url: e.doc_url.or_else(|| Some(ERROR_DOC_URL.to_string())), ..e })
        .collect();
    let body = ApiError {
        error_id: uuid::Uuid::new_v4().to_string(),
        error_type,
        error_code: code.to_string(),
        error_message: message,
        doc_url: Some(ERROR_DOC_URL.to_string()),
        validation_errors,
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

pub(super) fn error(
    status: StatusCode,
    error_type: ErrorType,
    code: &str,
    message: String,
    validation: Vec<ValidationError>,
) -> Response {
    raw(status.as_u16(), envelope(error_type, code, message, validation))
}

/// An error envelope without field errors.
pub(super) fn error_response(status: StatusCode, error_type: ErrorType, code: &str, message: String) -> Response {
    error(status, error_type, code, message, vec![])
}

fn refusal_parts(r: Refusal) -> (u16, Vec<u8>) {
    match r {
        Refusal::Invalid(v) => {
            let msg = v.iter().map(|e| format!("{}: {}", e.parameter, e.reason)).collect::<Vec<_>>().join("; ");
            (400, envelope(ErrorType::InputError, "VALIDATION_ERROR", msg, v))
        }
        Refusal::NotFound(what) => {
            (404, envelope(ErrorType::ResourceError, "RESOURCE_NOT_FOUND", format!("{what} not found"), vec![]))
        }
        Refusal::Forbidden(why) => (403, envelope(ErrorType::ResourceError, "OPERATION_FORBIDDEN", why, vec![])),
    }
}

pub(super) fn refusal(r: Refusal) -> Response {
    let (status, body) = refusal_parts(r);
    raw(status, body)
}

/// Middleware: requires `Authorization: Bearer <terminal API key>`.
async fn require_key(
    State(backend): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let given = bearer_token(request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    if constant_time_eq(given.as_bytes(), backend.api_key.as_bytes()) {
        next.run(request).await
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            ErrorType::AccessError,
            "UNAUTHORIZED",
            "missing or wrong terminal API key".into(),
            vec![],
        )
    }
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> (StatusCode, Vec<u8>) {
    (status, serde_json::to_vec(value).unwrap_or_default())
}

fn raw(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Requests are compared in canonical JSON (sorted keys, no spaces), so a batched
/// operation and a single call with the same key and content match.
fn canonical(body: &[u8]) -> Vec<u8> {
    serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_else(|_| body.to_vec())
}

/// Runs one operation under its idempotency key: replays, refuses conflicts, stores new
/// answers. Refusals are not stored: the request changed nothing and may be corrected.
fn keyed(
    books: &mut super::state::Books,
    now: chrono::DateTime<chrono::Utc>,
    key: &str,
    operation: &str,
    body: &[u8],
    process: impl FnOnce(&mut super::state::Books, &str) -> Result<(StatusCode, Vec<u8>), Refusal>,
) -> (u16, Vec<u8>) {
    let body = canonical(body);
    match books.idempotency.lookup(key, operation, &body, now) {
        Lookup::Replay(r) => return (r.status, r.body),
        Lookup::Conflict => {
            let message = format!(
                "Idempotency-Key {key} was already used with another request body; use a new key for a new request"
            );
            return (409, envelope(ErrorType::ResourceError, "RESOURCE_CONFLICT", message, vec![]));
        }
        Lookup::New => {}
    }
    match process(books, key) {
        Ok((status, bytes)) => {
            books.idempotency.store(
                key,
                operation,
                &body,
                StoredResponse { status: status.as_u16(), body: bytes.clone() },
                now,
            );
            (status.as_u16(), bytes)
        }
        Err(r) => refusal_parts(r),
    }
}

/// The longest a long poll may be held (`timeout_ms`).
const MAX_POLL_MS: u64 = 30_000;

fn poll_too_long(timeout_ms: u64) -> Option<Response> {
    (timeout_ms > MAX_POLL_MS).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            format!("timeout_ms must be 0 to {MAX_POLL_MS}"),
            vec![ValidationError::new("timeout_ms", "out of range")],
        )
    })
}

/// Runs a POST under the key of its `Idempotency-Key` header.
fn idempotent(
    backend: &SimBackend,
    headers: &HeaderMap,
    operation: &str,
    body: &[u8],
    process: impl FnOnce(&mut super::state::Books, &str) -> Result<(StatusCode, Vec<u8>), Refusal>,
) -> Response {
    let given = headers.get(IDEMPOTENCY_KEY_HEADER);
    let Some(key) =
        given.and_then(|v| v.to_str().ok()).filter(|k| posagent_acquirer_api::validate::is_idempotency_key(k))
    else {
        let reason = if given.is_some() { "must be 1 to 255 visible ASCII characters" } else { "missing" };
        return error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            "every POST needs an Idempotency-Key header (1 to 255 visible ASCII characters)".into(),
            vec![ValidationError::new("Idempotency-Key", reason)],
        );
    };
    let (status, bytes) = keyed(&mut backend.books(), backend.now(), key, operation, body, process);
    backend.changed.notify_waiters();
    raw(status, bytes)
}

async fn availability(
    State(b): State<Shared>,
    q: Result<Query<AvailabilityQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, ErrorType::InputError, "VALIDATION_ERROR", e.body_text(), vec![]);
        }
    };
    if let Some(invalid) = availability_query_errors(&q) {
        let msg = invalid.iter().map(|e| format!("{}: {}", e.parameter, e.reason)).collect::<Vec<_>>().join("; ");
        return error(StatusCode::BAD_REQUEST, ErrorType::InputError, "VALIDATION_ERROR", msg, invalid);
    }
    match b.books().availability(&q) {
        Ok(a) => axum::Json(a).into_response(),
        Err(r) => refusal(r),
    }
}

/// What is wrong with an availability query's form, as the document states it.
fn availability_query_errors(q: &AvailabilityQuery) -> Option<Vec<ValidationError>> {
    use posagent_acquirer_api::validate;
    let mut errors = vec![];
    let mut check = |ok: bool, parameter: &str, reason: &str| {
        if !ok {
            errors.push(ValidationError::new(parameter, reason));
        }
    };
    check(
        q.country.len() == 2 && q.country.bytes().all(|b| b.is_ascii_alphabetic()),
        "country",
        "must be ISO 3166-1 alpha-2",
    );
    check(validate::is_locale(&q.locale), "locale", "must be language-COUNTRY, e.g. sv-SE");
    if let Some(Err(reason)) = q.interoperability_token.as_deref().map(validate::check_interoperability_token) {
        check(false, "interoperability_token", &reason);
    }
    (!errors.is_empty()).then_some(errors)
}

async fn authorize(State(b): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let req: AuthorizeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    idempotent(&b, &headers, "authorize", &body, |books, key| {
        books.authorize(&req, key, b.now()).map(|r| json(StatusCode::OK, &r))
    })
}

#[derive(Deserialize)]
struct ReadParams {
    wait_for_change_from: Option<PaymentRequestState>,
    timeout_ms: Option<u64>,
}

async fn read_request(State(b): State<Shared>, Path(id): Path<String>, Query(p): Query<ReadParams>) -> Response {
    // Long poll: hold the answer until the state differs from `wait_for_change_from`.
    if let Some(refused) = poll_too_long(p.timeout_ms.unwrap_or(0)) {
        return refused;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(p.timeout_ms.unwrap_or(0));
    loop {
        let notified = b.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let current = b.books().payment_request(&id, b.now());
        match current {
            Ok(pr) if Some(pr.state) == p.wait_for_change_from && tokio::time::Instant::now() < deadline => {
                // Wake at the deadline, at a change, or at the request's expiry (checked on read).
                let _ = tokio::time::timeout_at(
                    deadline.min(tokio::time::Instant::now() + Duration::from_secs(1)),
                    notified,
                )
                .await;
            }
            Ok(pr) => return axum::Json(pr).into_response(),
            Err(r) => return refusal(r),
        }
    }
}

#[derive(Deserialize)]
struct ByReference {
    reference: String,
}

async fn request_by_reference(State(b): State<Shared>, Query(q): Query<ByReference>) -> Response {
    match b.books().payment_request_by_reference(&q.reference, b.now()) {
        Ok(pr) => axum::Json(pr).into_response(),
        Err(r) => refusal(r),
    }
}

async fn transaction_by_reference(State(b): State<Shared>, Query(q): Query<ByReference>) -> Response {
    match b.books().transaction_by_reference(&q.reference) {
        Some(t) => axum::Json(t).into_response(),
        None => refusal(Refusal::NotFound(format!("transaction with reference {}", q.reference))),
    }
}

async fn cancel_request(State(b): State<Shared>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if let Some(refused) = refuse_unless_empty_or_object(&body) {
        return refused;
    }
    idempotent(&b, &headers, &format!("cancel:{id}"), &body, |books, _| {
        books.cancel(&id, b.now()).map(|r| json(StatusCode::OK, &r))
    })
}

async fn read_transaction(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    match b.books().transaction(&id, b.now()) {
        Ok(t) => axum::Json(t).into_response(),
        Err(r) => refusal(r),
    }
}

pub(super) fn bad_json(e: &serde_json::Error) -> Response {
    error(StatusCode::BAD_REQUEST, ErrorType::InputError, "VALIDATION_ERROR", format!("invalid JSON body: {e}"), vec![])
}

/// The refusal of a cancel's or a void's body that is not as documented: none, or a JSON
/// object (its keys are not read). Anything else gets the 400 envelope before the books
/// see it; `None` when the body is fine.
pub(super) fn refuse_unless_empty_or_object(body: &[u8]) -> Option<Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => None,
        Ok(_) => Some(error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            "the body must be a JSON object, or empty".into(),
            vec![],
        )),
        Err(e) => Some(bad_json(&e)),
    }
}

async fn capture(State(b): State<Shared>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let req: posagent_acquirer_api::CaptureRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    idempotent(&b, &headers, &format!("capture:{id}"), &body, |books, key| {
        books.capture(&id, &req, key, b.now()).map(|t| json(StatusCode::CREATED, &t))
    })
}

async fn refund(State(b): State<Shared>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let req: posagent_acquirer_api::RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    idempotent(&b, &headers, &format!("refund:{id}"), &body, |books, key| {
        books.refund(&id, &req, key, b.now()).map(|t| json(StatusCode::CREATED, &t))
    })
}

async fn void(State(b): State<Shared>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if let Some(refused) = refuse_unless_empty_or_object(&body) {
        return refused;
    }
    idempotent(&b, &headers, &format!("void:{id}"), &body, |books, key| {
        books.void(&id, key, b.now()).map(|t| json(StatusCode::OK, &t))
    })
}

async fn reverse(State(b): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let req: posagent_acquirer_api::ReversalRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    idempotent(&b, &headers, "reverse", &body, |books, key| {
        books.reverse(&req, key, b.now()).map(|r| json(StatusCode::OK, &r))
    })
}

async fn read_order(State(b): State<Shared>, Path(reference): Path<String>) -> Response {
    match b.books().order(&reference) {
        Ok(t) => axum::Json(t).into_response(),
        Err(r) => refusal(r),
    }
}

async fn settlement(State(b): State<Shared>, Path(date): Path<String>) -> Response {
    match chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
        Ok(d) => axum::Json(b.books().settlement(d)).into_response(),
        Err(_) => error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            format!("`{date}` is not a date like 2026-11-25"),
            vec![ValidationError::new("date", "format YYYY-MM-DD")],
        ),
    }
}

#[derive(Deserialize)]
struct EventParams {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    timeout_ms: u64,
}

/// Long poll of the terminal event stream; the body is signed HMAC-SHA256.
async fn events(State(b): State<Shared>, Query(p): Query<EventParams>) -> Response {
    use posagent_acquirer_api::events::{EventPage, SIGNATURE_HEADER, SIGNING_KEY_ID_HEADER, sign};
    if let Some(refused) = poll_too_long(p.timeout_ms) {
        return refused;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(p.timeout_ms);
    let page = loop {
        let notified = b.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if b.partitioned() {
            // The network was cut while this poll waited: its answer is lost too.
            super::faults::hold(&b).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        let events = b.books().events_after(p.after);
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            break EventPage { events };
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    };
    let body = serde_json::to_vec(&page).unwrap_or_default();
    let (key_id, key) = b.signing_key();
    let signature = sign(&key, &body);
    let mut response = raw(200, body);
    for (name, value) in [(SIGNATURE_HEADER, signature.as_str()), (SIGNING_KEY_ID_HEADER, key_id.as_str())] {
        if let (Ok(n), Ok(v)) = (header::HeaderName::from_bytes(name.as_bytes()), header::HeaderValue::from_str(value))
        {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

/// Operations queued offline, each under its own key, as if sent alone.
async fn batch(State(b): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    use posagent_acquirer_api::batch::{BatchOperationKind, BatchRequest, BatchResponse, BatchResult, MAX_BATCH};
    let req: BatchRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    if let Some(i) =
        req.operations.iter().position(|op| !posagent_acquirer_api::validate::is_idempotency_key(&op.idempotency_key))
    {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            "every operation needs an idempotency_key of 1 to 255 visible ASCII characters".into(),
            vec![ValidationError::new(
                format!("operations[{i}].idempotency_key"),
                "must be 1 to 255 visible ASCII characters",
            )],
        );
    }
    if req.operations.is_empty() || req.operations.len() > MAX_BATCH {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            format!("a batch holds 1 to {MAX_BATCH} operations"),
            vec![ValidationError::new("operations", "size")],
        );
    }
    idempotent(&b, &headers, "batch", &body, |books, _| {
        let now = b.now();
        let mut results = Vec::with_capacity(req.operations.len());
        for op in &req.operations {
            let bytes = serde_json::to_vec(&op.request).unwrap_or_default();
            let tx = op.payment_transaction_id.clone().unwrap_or_default();
            let (status, out) = match op.operation {
                BatchOperationKind::Authorize => {
                    keyed(books, now, &op.idempotency_key, "authorize", &bytes, |bk, key| {
                        let r: posagent_acquirer_api::AuthorizeRequest = serde_json::from_value(op.request.clone())
                            .map_err(|e| super::state::invalid("request", e.to_string()))?;
                        bk.authorize(&r, key, now).map(|r| json(StatusCode::OK, &r))
                    })
                }
                BatchOperationKind::Capture => {
                    keyed(books, now, &op.idempotency_key, &format!("capture:{tx}"), &bytes, |bk, key| {
                        let r: posagent_acquirer_api::CaptureRequest = serde_json::from_value(op.request.clone())
                            .map_err(|e| super::state::invalid("request", e.to_string()))?;
                        bk.capture(&tx, &r, key, now).map(|t| json(StatusCode::CREATED, &t))
                    })
                }
                BatchOperationKind::Refund => {
                    keyed(books, now, &op.idempotency_key, &format!("refund:{tx}"), &bytes, |bk, key| {
                        let r: posagent_acquirer_api::RefundRequest = serde_json::from_value(op.request.clone())
                            .map_err(|e| super::state::invalid("request", e.to_string()))?;
                        bk.refund(&tx, &r, key, now).map(|t| json(StatusCode::CREATED, &t))
                    })
                }
                BatchOperationKind::Void => {
                    keyed(books, now, &op.idempotency_key, &format!("void:{tx}"), &bytes, |bk, key| {
                        bk.void(&tx, key, now).map(|t| json(StatusCode::OK, &t))
                    })
                }
                BatchOperationKind::Reverse => keyed(books, now, &op.idempotency_key, "reverse", &bytes, |bk, key| {
                    let r: posagent_acquirer_api::ReversalRequest = serde_json::from_value(op.request.clone())
                        .map_err(|e| super::state::invalid("request", e.to_string()))?;
                    bk.reverse(&r, key, now).map(|r| json(StatusCode::OK, &r))
                }),
                _ => (400, envelope(ErrorType::InputError, "VALIDATION_ERROR", "unknown operation".into(), vec![])),
            };
            let body = serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null);
            results.push(BatchResult { idempotency_key: op.idempotency_key.clone(), status, body });
        }
        Ok(json(StatusCode::OK, &BatchResponse { results }))
    })
}
