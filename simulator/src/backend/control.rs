//! The simulator's own routes beside the Terminal API: the customer's side of Klarna's
//! purchase journey under `/pay` (what a phone opens and taps), and the test controls
//! under `/sim` (faults, the clock, served wording, what Klarna received), and the
//! ledger of money moved.

use super::SimBackend;
use super::routes::{Shared, bad_json, error, refusal};
use super::state::Refusal;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use posagent_acquirer_api::{ErrorType, ValidationError};
use serde::Deserialize;

/// `/pay/…` and `/sim/…`.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/pay/{id}", get(customer_opens))
        .route("/pay/{id}/approve", post(customer_approves))
        .route("/pay/{id}/decline", post(customer_declines))
        .route("/pay/{id}/abandon", post(customer_abandons))
        .route("/pay/{id}/abort", post(customer_aborts))
        .route("/sim/faults", get(read_faults).post(set_faults))
        .route("/sim/clock", get(read_clock).post(advance_clock))
        .route("/sim/wording", post(set_wording).delete(reset_wording))
        .route("/sim/interoperability", get(received_interoperability))
        .route("/sim/fees", get(super::fees::read_fees).post(super::fees::set_fees))
}

/// Every movement of money the acquirer booked (`/v1/ledger`).
pub(super) async fn ledger(State(b): State<Shared>) -> Response {
    axum::Json(b.books().ledger().to_vec()).into_response()
}

fn customer_step(b: &SimBackend, result: Result<posagent_acquirer_api::PaymentRequest, Refusal>) -> Response {
    b.changed.notify_waiters();
    match result {
        Ok(pr) => axum::Json(pr).into_response(),
        Err(r) => refusal(r),
    }
}

async fn customer_opens(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    let r = b.books().customer_opens(&id, b.now());
    customer_step(&b, r)
}

async fn customer_approves(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    let r = b.books().customer_approves(&id, b.now());
    customer_step(&b, r)
}

async fn customer_declines(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    let r = b.books().customer_declines(&id, b.now());
    customer_step(&b, r)
}

async fn read_faults(State(b): State<Shared>) -> Response {
    let f = b.faults.lock().unwrap_or_else(|p| p.into_inner()).clone();
    axum::Json(f).into_response()
}

async fn set_faults(State(b): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<super::Faults>(&body) {
        Ok(f) => {
            b.set_faults(f.clone());
            axum::Json(f).into_response()
        }
        Err(e) => bad_json(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceClock {
    /// Seconds the acquirer's clock moves on (0 to 100 days).
    advance_secs: i64,
}

/// Serves the given Klarna payment option (`PaymentOption`) for every locale and amount:
/// a test acquirer serving strings of its own, to prove the terminal renders what it is
/// given and nothing else.
async fn set_wording(State(b): State<Shared>, body: Bytes) -> Response {
    let wording: posagent_acquirer_api::PaymentOption = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return bad_json(&e),
    };
    b.set_wording(Some(wording));
    StatusCode::NO_CONTENT.into_response()
}

/// The market table's wording again.
async fn reset_wording(State(b): State<Shared>) -> Response {
    b.set_wording(None);
    StatusCode::NO_CONTENT.into_response()
}

/// The acquirer's clock: now, and how far it was moved on.
async fn read_clock(State(b): State<Shared>) -> Response {
    axum::Json(serde_json::json!({"now": b.now(), "offset_secs": b.clock_offset_secs()})).into_response()
}

/// Moves the acquirer's clock on (authorizations and payment requests expire, with their
/// events), as days passing would.
async fn advance_clock(State(b): State<Shared>, body: Bytes) -> Response {
    let req: AdvanceClock = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(&e),
    };
    if !(0..=100 * 86_400).contains(&req.advance_secs) {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorType::InputError,
            "VALIDATION_ERROR",
            "advance_secs must be 0 to 8640000 (100 days)".into(),
            vec![ValidationError::new("advance_secs", "range")],
        );
    }
    b.advance_clock(req.advance_secs);
    read_clock(State(b)).await
}

async fn customer_abandons(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    let r = b.books().customer_abandons(&id, b.now());
    customer_step(&b, r)
}

async fn customer_aborts(State(b): State<Shared>, Path(id): Path<String>) -> Response {
    let r = b.books().customer_aborts(&id, b.now());
    customer_step(&b, r)
}

async fn received_interoperability(State(b): State<Shared>) -> Response {
    axum::Json(b.books().received_klarna_data().to_vec()).into_response()
}
