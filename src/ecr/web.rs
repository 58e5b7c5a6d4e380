//! HTTP hygiene of every ECR answer: only requests naming an allowed host are served
//! (a web page cannot reach the API by DNS rebinding), every answer says `nosniff` and
//! may not be framed, and every error status carries the documented `{code, message,
//! field}` envelope — also the ones the HTTP layer makes itself (405, 413, a bad path).

use super::problem::Problem;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use posagent_ecr_api::ErrorCode;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The host names the API answers to: IP addresses, `localhost` and the configured ones.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    names: Vec<String>,
}

impl HostPolicy {
    /// `localhost`, IP addresses and `names` (`ecr.allowed_hosts`).
    pub fn new(names: &[String]) -> Arc<Self> {
        Arc::new(HostPolicy { names: names.iter().map(|n| n.to_ascii_lowercase()).collect() })
    }

    /// Whether a `Host` header value names this terminal.
    pub fn allows(&self, host: &str) -> bool {
        let name = match host.strip_prefix('[') {
            Some(rest) => return rest.split_once(']').is_some_and(|(ip, _)| ip.parse::<Ipv6Addr>().is_ok()),
            None => match host.rsplit_once(':') {
                Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
                _ => host,
            },
        };
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        name.parse::<Ipv4Addr>().is_ok() || name == "localhost" || self.names.contains(&name)
    }
}

/// Middleware: 421 for a request naming a host that is not this terminal.
pub async fn check_host(State(policy): State<Arc<HostPolicy>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("\u{fffd}"));
    match host {
        Some(h) if !policy.allows(h) => {
            let shown: String = h.chars().take(64).collect();
            Problem::new(
                StatusCode::MISDIRECTED_REQUEST,
                ErrorCode::HostNotAllowed,
                format!("this terminal does not answer to the host `{shown}`; add the name to ecr.allowed_hosts"),
            )
            .into_response()
        }
        _ => next.run(request).await,
    }
}

/// Middleware: the safety headers on every answer, and the error envelope on every
/// error answer that has none.
pub async fn harden(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (response.status().is_client_error() || response.status().is_server_error()) && !is_json {
        response = envelope(response).await;
    }
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// An error answer the HTTP layer made (plain text or empty) as a `Problem`.
async fn envelope(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let allow = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (code, message) = match parts.status {
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            format!("this endpoint takes {}; see docs/ecr-api.md", allow.as_deref().unwrap_or("other methods")),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::BodyTooLarge, "the request body is over 1 MiB".to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorCode::UnsupportedMediaType, text),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such endpoint; see docs/ecr-api.md".to_string()),
        s if s.is_server_error() => {
            (ErrorCode::InternalError, "the terminal could not answer; see its log".to_string())
        }
        _ => (ErrorCode::InvalidRequest, if text.is_empty() { "the request is not valid".to_string() } else { text }),
    };
    let mut fixed = Problem::new(parts.status, code, message).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        fixed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    if let Some(retry) = parts.headers.get(header::RETRY_AFTER) {
        fixed.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    if parts.status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body is never read: the connection cannot carry another request,
        // and a client must not put it back in its pool.
        fixed.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_by_address_localhost_or_configured_name_only() {
        let p = HostPolicy::new(&["Till-3.shop.example".into()]);
        for ok in [
            "localhost",
            "localhost:7600",
            "LOCALHOST.",
            "127.0.0.1:7600",
            "[::1]:7600",
            "10.1.2.3",
            "till-3.shop.example:7600",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for refused in
            ["attacker.example", "attacker.example:7600", "localhost.attacker.example", "[::1", "127.0.0.1.nip.io", ""]
        {
            assert!(!p.allows(refused), "{refused}");
        }
    }
}
