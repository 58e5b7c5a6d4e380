//! The console's own operations: signing in and out, a supervisor's approval, and what
//! the gate lets through for cashiers too — the cashiers (`/v1/cashiers`) and the
//! catalogue the quick keys sell from (`/v1/catalogue`).

use super::gate::{Caller, sign_in_required};
use super::session::{CSRF_HEADER, NoSession, cookie_token, csrf_matches, set_cookie};
use crate::domain::{Cashier, Role};
use crate::ecr::problem::Problem;
use crate::ecr::routes::EcrState;
use crate::ecr::wire;
use crate::staff::CashierChange;
use crate::store::NewAction;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use posagent_ecr_api::{CashierList, CashierRole, Catalogue, ConsoleSession, ErrorCode, PutCashier, SignIn};
use zeroize::Zeroizing;

/// The session's answer.
fn answer(s: &EcrState, cashier: Cashier, csrf: String, token: &str) -> ConsoleSession {
    let console = &s.console;
    let approval_waiting = console.sessions.has_approval(token);
    let unlimited = cashier.role == Role::Supervisor || approval_waiting;
    ConsoleSession {
        cashier: wire::cashier(cashier),
        csrf_token: csrf,
        lock_after_secs: console.sessions.lock_after().as_secs(),
        refund_limit: (!unlimited).then_some(console.refund_limit),
        approval_waiting,
    }
}

/// The number and PIN of a body, the PIN wiped after use.
fn credentials(body: &Bytes) -> Result<(String, Zeroizing<String>), Problem> {
    let SignIn { cashier, pin } = Problem::parse_json(body)?;
    Ok((cashier, Zeroizing::new(pin)))
}

/// Journals a sign-in or approval that was tried, with its status.
async fn journal_attempt(s: &EcrState, cashier: &str, approved_by: Option<String>, action: &str, status: StatusCode) {
    let cashier = if crate::domain::is_cashier_id(cashier) { cashier.to_string() } else { "?".to_string() };
    let action = NewAction { cashier, approved_by, action: action.to_string(), subject: None };
    if let Err(e) = s.console.staff.record(action, status.as_u16()).await {
        tracing::warn!(error = %e, "a console sign-in could not be journaled");
    }
}

/// `POST /console/session`: signs a cashier in; the answer sets the session cookie.
pub async fn sign_in(State(s): State<EcrState>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    if !super::gate::same_origin(&headers) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            ErrorCode::CsrfRejected,
            "sign in from this terminal's console",
        ));
    }
    let (id, pin) = credentials(&body)?;
    let result = s.console.staff.sign_in(&id, pin).await.map_err(Problem::from);
    let status = result.as_ref().map_or_else(Problem::status, |_| StatusCode::OK);
    journal_attempt(&s, &id, None, "session.sign_in", status).await;
    let cashier = result?;
    if let Some(old) = cookie_token(&headers) {
        s.console.sessions.close(&old);
    }
    let (token, session) = s.console.sessions.open(cashier.clone());
    let mut r = Json(answer(&s, cashier, session.csrf, &token)).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&token, s.console.secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The session of a request's cookie, with its token.
fn session_of(s: &EcrState, headers: &HeaderMap, action: bool) -> Result<(String, super::session::Session), Problem> {
    let token = cookie_token(headers).ok_or_else(|| sign_in_required(NoSession::Unknown))?;
    let session = s.console.sessions.find(&token, action).map_err(sign_in_required)?;
    Ok((token, session))
}

/// `GET /console/session`: who is signed in on this browser (a reload keeps the session).
pub async fn read(State(s): State<EcrState>, headers: HeaderMap) -> Result<Response, Problem> {
    let poll = headers.get(super::session::POLL_HEADER).is_some();
    let (token, session) = session_of(&s, &headers, !poll)?;
    let mut r = Json(answer(&s, session.cashier, session.csrf, &token)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `DELETE /console/session`: signs out (the cookie is cleared).
pub async fn sign_out(State(s): State<EcrState>, headers: HeaderMap) -> Result<Response, Problem> {
    let (token, session) = session_of(&s, &headers, true)?;
    check_csrf(&session, &headers)?;
    s.console.sessions.close(&token);
    journal_attempt(&s, &session.cashier.id, None, "session.sign_out", StatusCode::NO_CONTENT).await;
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie("", s.console.secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn check_csrf(session: &super::session::Session, headers: &HeaderMap) -> Result<(), Problem> {
    if csrf_matches(session, headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
        && super::gate::same_origin(headers)
    {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            ErrorCode::CsrfRejected,
            "reload the console: this request lacks its CSRF token",
        ))
    }
}

/// `POST /console/session/approval`: a supervisor's number and PIN approve the session's
/// next action that needs a supervisor (within two minutes).
pub async fn approve(
    State(s): State<EcrState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ConsoleSession>, Problem> {
    let (token, session) = session_of(&s, &headers, true)?;
    check_csrf(&session, &headers)?;
    let (id, pin) = credentials(&body)?;
    let result = s.console.staff.approve(&id, pin).await.map_err(Problem::from);
    let status = result.as_ref().map_or_else(Problem::status, |_| StatusCode::OK);
    let approver = result.as_ref().ok().map(|c| c.id.clone());
    journal_attempt(&s, &session.cashier.id, approver, "session.approval", status).await;
    let supervisor = result?;
    s.console.sessions.approve(&token, supervisor);
    Ok(Json(answer(&s, session.cashier, session.csrf, &token)))
}

/// `GET /v1/cashiers`.
pub async fn list(State(s): State<EcrState>) -> Result<Json<CashierList>, Problem> {
    let cashiers = s.console.staff.list().await?.into_iter().map(wire::cashier).collect();
    Ok(Json(CashierList { cashiers }))
}

/// `PUT /v1/cashiers/{id}`: 201 a new cashier, 200 a changed one.
pub async fn put(
    State(s): State<EcrState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<posagent_ecr_api::Cashier>), Problem> {
    let req: PutCashier = Problem::parse_json(&body)?;
    // A supervisor at the console cannot take their own supervisor role away by mistake.
    if caller.cashier_id().as_deref() == Some(id.as_str()) && req.role != CashierRole::Supervisor {
        return Err(Problem::invalid_field(
            "role",
            "a supervisor cannot change their own role; another supervisor can",
        ));
    }
    let change = CashierChange {
        id,
        name: req.name,
        role: match req.role {
            CashierRole::Cashier => Role::Cashier,
            CashierRole::Supervisor => Role::Supervisor,
        },
        active: req.active,
        pin: req.pin.map(Zeroizing::new),
    };
    let (cashier, new) = s.console.staff.put(change).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(wire::cashier(cashier))))
}

/// `GET /v1/catalogue`: the quick keys' articles.
pub async fn catalogue(State(s): State<EcrState>) -> Json<Catalogue> {
    let articles = s
        .console
        .articles
        .iter()
        .map(|a| posagent_ecr_api::Article {
            reference: a.reference.clone(),
            name: a.name.clone(),
            price: a.price,
            tax_rate: a.tax_rate,
        })
        .collect();
    Json(Catalogue { articles })
}
