//! `/v1/log-level`: the daemon's log filter, read and changed at run time (store IT).

use super::problem::Problem;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use posagent_ecr_api::{ErrorCode, LogLevel, LogLevelChange};

/// The filter in force.
pub(super) async fn read() -> Response {
    axum::Json(LogLevel { level: crate::logging::current() }).into_response()
}

/// Changes the filter, e.g. `{"level": "debug"}` or `{"level": "info,posagent::outbox=debug"}`.
pub(super) async fn change(body: Bytes) -> Response {
    let b: LogLevelChange = match Problem::parse_json(&body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match crate::logging::set_level(&b.level) {
        Ok(()) => read().await,
        Err(e @ crate::logging::LogLevelError::NotReloadable) => {
            Problem::new(StatusCode::CONFLICT, ErrorCode::NotReloadable, e.to_string()).into_response()
        }
        Err(e) => Problem::invalid_field("level", e.to_string()).into_response(),
    }
}
