//! Every error the simulated acquirer answers is its documented envelope, also the ones
//! the HTTP layer makes itself (a query or path that does not parse, an unknown path,
//! a method the path does not take, a body too large), as a real acquirer's gateway does.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use posagent_acquirer_api::ErrorType;

/// Middleware: an error answer without a JSON body becomes the error envelope.
pub(super) async fn envelope(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let (error_type, code, message) = classify(status, text);
    let mut fixed = super::routes::error_response(status, error_type, code, message);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            fixed.headers_mut().insert(name, v.clone());
        }
    }
    fixed
}

/// The envelope's class, code and message for a bare error status.
fn classify(status: StatusCode, text: String) -> (ErrorType, &'static str, String) {
    let or = |default: &str| if text.is_empty() { default.to_string() } else { text.clone() };
    match status {
        StatusCode::UNAUTHORIZED => (ErrorType::AccessError, "UNAUTHORIZED", or("missing or wrong terminal API key")),
        StatusCode::NOT_FOUND => (ErrorType::ResourceError, "RESOURCE_NOT_FOUND", or("no such resource or endpoint")),
        StatusCode::METHOD_NOT_ALLOWED => {
            (ErrorType::InputError, "METHOD_NOT_ALLOWED", or("the endpoint does not take this method"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            (ErrorType::InputError, "PAYLOAD_TOO_LARGE", or("the request body is too large"))
        }
        StatusCode::GATEWAY_TIMEOUT => {
            (ErrorType::TechnicalError, "TIMEOUT", or("the acquirer did not answer in time"))
        }
        s if s.is_server_error() => (ErrorType::TechnicalError, "INTERNAL_ERROR", or("the acquirer failed")),
        _ => (ErrorType::InputError, "INVALID_REQUEST", or("the request is not valid")),
    }
}

/// The answer for a path the acquirer does not have.
pub(super) async fn not_found() -> Response {
    super::routes::error_response(
        StatusCode::NOT_FOUND,
        ErrorType::ResourceError,
        "RESOURCE_NOT_FOUND",
        "no such endpoint; see docs/acquirer-api.md".into(),
    )
}
