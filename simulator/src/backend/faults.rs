//! Fault injection, switchable at run time through `POST /sim/faults`: latency, a rate
//! of 5xx answers, a storm of 429s with `Retry-After`, responses dropped after the
//! request was committed, and a full partition.

use super::SimBackend;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// How long a partitioned or dropped request is held before the connection is let go.
const HOLD: Duration = Duration::from_secs(60);

/// The faults in force.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of requests answered `500 TECHNICAL_ERROR` without being processed (0 to 1).
    #[serde(default)]
    pub error_5xx_rate: f64,
    /// Only requests whose path starts with this get the 5xx answers (all when absent),
    /// e.g. `/v1/payments/authorize`.
    #[serde(default)]
    pub error_5xx_path: Option<String>,
    /// The next N requests are answered `429 RATE_LIMITED`.
    #[serde(default)]
    pub rate_limit_next: u32,
    /// `Retry-After` of those 429s, in seconds.
    #[serde(default)]
    pub retry_after_secs: u64,
    /// The next N POSTs are processed and committed, but their answers are never sent.
    #[serde(default)]
    pub drop_response_next: u32,
    /// Nothing is answered at all.
    #[serde(default)]
    pub partition: bool,
    /// POSTs (everything that moves money) get no answer and are not processed; reads
    /// are answered (a write path down, or its answers lost on the way).
    #[serde(default)]
    pub partition_posts: bool,
}

enum Action {
    Pass,
    RateLimit(u64),
    Fail,
    Drop,
    Hang,
}

fn decide(backend: &SimBackend, method: &Method, path: &str) -> (Action, u64) {
    let mut f = backend.faults.lock().unwrap_or_else(|p| p.into_inner());
    let latency = f.latency_ms;
    let action = if f.partition || (f.partition_posts && *method == Method::POST) {
        Action::Hang
    } else if f.rate_limit_next > 0 {
        f.rate_limit_next -= 1;
        Action::RateLimit(f.retry_after_secs)
    } else if f.error_5xx_rate > 0.0
        && f.error_5xx_path.as_deref().is_none_or(|p| path.starts_with(p))
        && fastrand::f64() < f.error_5xx_rate
    {
        Action::Fail
    } else if *method == Method::POST && f.drop_response_next > 0 {
        f.drop_response_next -= 1;
        Action::Drop
    } else {
        Action::Pass
    };
    (action, latency)
}

pub(super) async fn hold(backend: &SimBackend) {
    tokio::select! {
        () = backend.stop.cancelled() => {}
        () = tokio::time::sleep(HOLD) => {}
    }
}

/// Middleware applying the faults to the Terminal API.
pub async fn inject(State(backend): State<Arc<SimBackend>>, request: Request, next: Next) -> Response {
    let (action, latency_ms) = decide(&backend, request.method(), request.uri().path());
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    match action {
        Action::Pass => next.run(request).await,
        Action::Hang => {
            hold(&backend).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Action::Drop => {
            let _committed = next.run(request).await;
            hold(&backend).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Action::RateLimit(secs) => {
            let mut r = super::routes::error_response(
                StatusCode::TOO_MANY_REQUESTS,
                posagent_acquirer_api::ErrorType::TechnicalError,
                "RATE_LIMITED",
                format!("too many requests; retry after {secs} s"),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Action::Fail => super::routes::error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            posagent_acquirer_api::ErrorType::TechnicalError,
            "INTERNAL_ERROR",
            "simulated acquirer failure (fault injection)".into(),
        ),
    }
}
