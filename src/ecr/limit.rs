//! Rate limiting of the local API: a token bucket for all requests, so a runaway register
//! or a local process guessing tokens cannot swamp the terminal.

use super::problem::Problem;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A token bucket: `rate` per second, bursts of `2 × rate`.
pub struct RateLimiter {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A limiter for `per_sec` requests per second.
    pub fn new(per_sec: u32) -> Arc<Self> {
        let rate = f64::from(per_sec.max(1));
        Arc::new(RateLimiter { rate, state: Mutex::new((rate * 2.0, Instant::now())) })
    }

    /// Takes one token if there is one.
    pub fn allow(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.rate).min(self.rate * 2.0);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Middleware: 429 when the bucket is empty.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, request: Request, next: Next) -> Response {
    if limiter.allow() {
        next.run(request).await
    } else {
        let mut r =
            Problem::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "too many requests to the terminal; slow down")
                .into_response();
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses() {
        let l = RateLimiter::new(5);
        let allowed = (0..50).filter(|_| l.allow()).count();
        assert!((10..=11).contains(&allowed), "{allowed}");
    }
}
