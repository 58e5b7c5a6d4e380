//! `/v1/queue`: the outbox for store IT — what waits for the acquirer, what it refused
//! (dead letters), sending a dead letter again, and draining now. Request bodies are
//! never shown (an offline payment's holds the encrypted card read).

use super::problem::Problem;
use super::routes::EcrState;
use crate::domain::OpState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Most rows one listing returns.
const MAX_LIST: usize = 10_000;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    state: Option<String>,
    limit: Option<usize>,
}

/// Queued operations, newest first; `?state=PENDING|DONE|DEAD`, `?limit=N`.
pub(super) async fn list(
    State(s): State<EcrState>,
    q: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return Problem::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "pass ?state=PENDING|DONE|DEAD&limit=N")
            .into_response();
    };
    let state = match q.state.as_deref().map(|v| (v, OpState::parse(&v.to_ascii_uppercase()))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((v, None)) => {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_FIELD",
                format!("state `{v}` is not PENDING, DONE or DEAD"),
            );
            p.field = Some("state".into());
            return p.into_response();
        }
    };
    let limit = q.limit.unwrap_or(1000);
    if !(1..=MAX_LIST).contains(&limit) {
        return Problem::invalid_field("limit", format!("limit must be 1 to {MAX_LIST}")).into_response();
    }
    match s.outbox.journal().queue_list(state, limit).await {
        Ok(ops) => axum::Json(serde_json::json!({ "operations": ops })).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Counts and the oldest waiting operation's age.
pub(super) async fn summary(State(s): State<EcrState>) -> Response {
    match s.outbox.journal().queue_summary().await {
        Ok(q) => axum::Json(serde_json::json!({ "summary": q, "acquirer_online": s.checkout.acquirer_online() }))
            .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

fn parse_id(id: &str) -> Result<i64, Box<Response>> {
    id.parse::<i64>().map_err(|_| {
        let mut p = Problem::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", format!("`{id}` is not a queue id"));
        p.field = Some("id".into());
        Box::new(p.into_response())
    })
}

/// One queued operation.
pub(super) async fn read(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    match s.outbox.journal().queued_op(id).await {
        Ok(Some(op)) => axum::Json(op).into_response(),
        Ok(None) => {
            Problem::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no queued operation {id}")).into_response()
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Sends a dead letter once more, under its own key.
pub(super) async fn retry(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    match s.outbox.journal().retry_dead_op(id).await {
        Ok(true) => {
            s.outbox.wake();
            match s.outbox.journal().queued_op(id).await {
                Ok(op) => (StatusCode::ACCEPTED, axum::Json(op)).into_response(),
                Err(e) => Problem::from(e).into_response(),
            }
        }
        Ok(false) => Problem::new(
            StatusCode::CONFLICT,
            "NOT_DEAD",
            format!("queued operation {id} is not a dead letter; only refused operations are retried by hand"),
        )
        .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Makes everything waiting due now and wakes the sync worker.
pub(super) async fn sync(State(s): State<EcrState>) -> Response {
    match s.outbox.sync_now().await {
        Ok(()) => summary(State(s)).await,
        Err(e) => Problem::from(e).into_response(),
    }
}
