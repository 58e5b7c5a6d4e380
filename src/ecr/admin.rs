//! `/v1/log-level`: the daemon's log filter, read and changed at run time (store IT).

use super::problem::Problem;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    level: String,
}

/// The filter in force.
pub(super) async fn read() -> Response {
    axum::Json(serde_json::json!({ "level": crate::logging::current() })).into_response()
}

/// Changes the filter, e.g. `{"level": "debug"}` or `{"level": "info,posagent::outbox=debug"}`.
pub(super) async fn change(body: Bytes) -> Response {
    let b: LevelBody = match Problem::parse_json(&body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match crate::logging::set_level(&b.level) {
        Ok(()) => read().await,
        Err(e @ crate::logging::LogLevelError::NotReloadable) => {
            Problem::new(StatusCode::CONFLICT, "NOT_RELOADABLE", e.to_string()).into_response()
        }
        Err(e) => {
            let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD", e.to_string());
            p.field = Some("level".into());
            p.into_response()
        }
    }
}
