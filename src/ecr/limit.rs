//! Rate limits of the local API, checked before anything else. Requests carrying the
//! register's token share one bucket (`ecr.max_requests_per_sec`) that nothing else
//! draws on; requests without it get one bucket per peer address
//! (`ecr.max_unauthenticated_per_sec`), so a web page on the till PC or a process
//! guessing tokens can neither use up the register's share nor much of the terminal.
//! `/health` is exempt (it is answered from a short cache).

use super::problem::Problem;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use posagent_acquirer_api::auth::{bearer_token, constant_time_eq};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Peers remembered before the ones that are full again are forgotten.
const MAX_PEERS: usize = 4096;

/// The API's two kinds of bucket.
pub struct Limits {
    token: Arc<String>,
    register: DefaultDirectRateLimiter,
    guests: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(per_sec: u32) -> Quota {
    let rate = NonZeroU32::new(per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(per_sec.max(1).saturating_mul(2)).unwrap_or(rate);
    Quota::per_second(rate).allow_burst(burst)
}

impl Limits {
    /// `per_sec` for the register (`token`), `guest_per_sec` per other peer; bursts of twice.
    pub fn new(token: Arc<String>, per_sec: u32, guest_per_sec: u32) -> Arc<Self> {
        Arc::new(Limits {
            token,
            register: governor::RateLimiter::direct(quota(per_sec)),
            guests: governor::RateLimiter::keyed(quota(guest_per_sec)),
        })
    }

    /// Whether a request with `authorization` from `peer` may go on.
    fn allow(&self, authorization: Option<&str>, peer: IpAddr) -> bool {
        if constant_time_eq(bearer_token(authorization).as_bytes(), self.token.as_bytes()) {
            return self.register.check().is_ok();
        }
        if self.guests.len() > MAX_PEERS {
            self.guests.retain_recent();
        }
        self.guests.check_key(&peer).is_ok()
    }
}

/// Middleware: 429 with `Retry-After` when the request's bucket is empty.
pub async fn limit(State(limits): State<Arc<Limits>>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip());
    let authorization = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if limits.allow(authorization, peer) {
        next.run(request).await
    } else {
        let mut r = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            posagent_ecr_api::ErrorCode::RateLimited,
            "too many requests to the terminal; slow down",
        )
        .into_response();
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_never_use_up_the_registers_share() {
        let l = Limits::new(Arc::new("secret-token-0123456789".into()), 5, 5);
        let guest = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let allowed = (0..50).filter(|_| l.allow(Some("Bearer guessing"), guest)).count();
        assert!((10..=11).contains(&allowed), "a burst of twice the rate, then refused: {allowed}");
        let register = (0..50).filter(|_| l.allow(Some("Bearer secret-token-0123456789"), guest)).count();
        assert!((10..=11).contains(&register), "the register's own burst is untouched: {register}");
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        assert!(l.allow(None, other), "each peer has its own bucket");
    }
}
