//! `/v1/queue`: the outbox for store IT — what waits for the acquirer, what it refused
//! (dead letters), sending a dead letter again, and draining now. Request bodies are
//! never shown (an offline payment's holds the encrypted card read).

use super::problem::Problem;
use super::routes::EcrState;
use super::wire;
use crate::domain::OpState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use posagent_ecr_api::{ErrorCode, QueueList, QueueQuery, QueueState, QueuedOperation};

/// Most rows one listing returns.
const MAX_LIST: usize = 10_000;

/// Queued operations, newest first; `?state=PENDING|DONE|DEAD`, `?limit=N`.
pub(super) async fn list(
    State(s): State<EcrState>,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<QueueList>, Problem> {
    let Ok(Query(q)) = q else {
        return Err(Problem::invalid_request("pass ?state=PENDING|DONE|DEAD&limit=N"));
    };
    let state = match q.state.as_deref().map(|v| (v, OpState::parse(&v.to_ascii_uppercase()))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((v, None)) => {
            return Err(Problem::invalid_field("state", format!("state `{v}` is not PENDING, DONE or DEAD")));
        }
    };
    let limit = q.limit.unwrap_or(1000);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(Problem::invalid_field("limit", format!("limit must be 1 to {MAX_LIST}")));
    }
    let ops = s.outbox.journal().queue_list(state, limit).await?;
    Ok(Json(QueueList { operations: ops.into_iter().map(wire::queued).collect::<Result<_, _>>()? }))
}

/// Counts and the oldest waiting operation's age.
pub(super) async fn summary(State(s): State<EcrState>) -> Result<Json<QueueState>, Problem> {
    let q = s.outbox.journal().queue_summary().await?;
    Ok(Json(QueueState { summary: wire::queue_summary(q), acquirer_online: s.checkout.acquirer_online() }))
}

fn parse_id(id: &str) -> Result<i64, Problem> {
    id.parse::<i64>().map_err(|_| {
        Problem::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidField, format!("`{id}` is not a queue id"))
            .with_field("id")
    })
}

/// One queued operation.
pub(super) async fn read(State(s): State<EcrState>, Path(id): Path<String>) -> Result<Json<QueuedOperation>, Problem> {
    let id = parse_id(&id)?;
    match s.outbox.journal().queued_op(id).await? {
        Some(op) => Ok(Json(wire::queued(op)?)),
        None => Err(Problem::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no queued operation {id}"))),
    }
}

/// Sends a dead letter once more, under its own key.
pub(super) async fn retry(
    State(s): State<EcrState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<QueuedOperation>), Problem> {
    let id = parse_id(&id)?;
    if !s.outbox.journal().retry_dead_op(id).await? {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::NotDead,
            format!("queued operation {id} is not a dead letter; only refused operations are retried by hand"),
        ));
    }
    s.outbox.wake();
    match s.outbox.journal().queued_op(id).await? {
        Some(op) => Ok((StatusCode::ACCEPTED, Json(wire::queued(op)?))),
        None => Err(Problem::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no queued operation {id}"))),
    }
}

/// Makes everything waiting due now and wakes the sync worker.
pub(super) async fn sync(State(s): State<EcrState>) -> Result<Json<QueueState>, Problem> {
    s.outbox.sync_now().await?;
    summary(State(s)).await
}
