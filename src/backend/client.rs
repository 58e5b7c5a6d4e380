//! HTTP client of the acquirer's Terminal API (see `docs/acquirer-api.md`).

use super::retry::{RetryPolicy, retryable_status};
use posagent_acquirer_api::{
    ApiError, AuthorizeRequest, AuthorizeResponse, AvailabilityQuery, AvailabilityResponse, IDEMPOTENCY_KEY_HEADER,
    PaymentRequest, PaymentRequestState,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A failed call to the acquirer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// No answer: network down, DNS, TLS, timeout — after all retries.
    #[error("acquirer unreachable at {url}: {source}; check the network and acquirer.url")]
    Unreachable {
        /// URL called.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The acquirer answered with an error envelope.
    #[error("acquirer refused ({status}): {} {}", .error.error_code, .error.error_message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The envelope.
        error: ApiError,
    },
    /// The acquirer answered something that is not the documented shape.
    #[error("acquirer sent an unexpected answer ({status}) to {url}: {detail}")]
    Unexpected {
        /// URL called.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// The client could not be built (bad TLS material).
    #[error("cannot set up the acquirer client: {0}; check the TLS settings")]
    Setup(#[source] reqwest::Error),
}

impl BackendError {
    /// Whether the acquirer could not be reached (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, BackendError::Unreachable { .. })
            || matches!(self, BackendError::Refused { status, .. } | BackendError::Unexpected { status, .. } if retryable_status(*status))
    }

    /// The error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            BackendError::Refused { error, .. } => Some(&error.error_code),
            _ => None,
        }
    }
}

/// Client of one acquirer for one terminal.
#[derive(Clone)]
pub struct AcquirerClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for AcquirerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirerClient").field("base", &self.base).field("api_key", &"<redacted>").finish()
    }
}

impl AcquirerClient {
    /// A client of `base` authenticating with `api_key`; each call times out after `timeout`.
    pub fn new(base: &str, api_key: String, timeout: Duration, retry: RetryPolicy) -> Result<Self, BackendError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("posagent/", env!("CARGO_PKG_VERSION")))
            .https_only(!(base.starts_with("http://127.0.0.1") || base.starts_with("http://localhost")))
            .build()
            .map_err(BackendError::Setup)?;
        Ok(AcquirerClient { http, base: base.trim_end_matches('/').to_string(), api_key, retry })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<(&[u8], &str)>,
        timeout: Option<Duration>,
    ) -> Result<T, BackendError> {
        let url = format!("{}{}", self.base, path);
        let mut retry = 0;
        loop {
            let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.api_key).query(query);
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            if let Some((bytes, key)) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(IDEMPOTENCY_KEY_HEADER, key)
                    .body(bytes.to_vec());
            }
            let (outcome, retry_after) = match req.send().await {
                Err(source) => (Err(BackendError::Unreachable { url: url.clone(), source }), None),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (self.decode(&url, status, resp).await, retry_after)
                }
            };
            match outcome {
                Err(e) if e.is_unreachable() && retry + 1 < self.retry.attempts => {
                    retry += 1;
                    let wait = self.retry.delay(retry, retry_after, fastrand::f64());
                    tracing::warn!(%url, retry, wait_ms = wait.as_millis() as u64, error = %e, "acquirer call failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        url: &str,
        status: StatusCode,
        resp: reqwest::Response,
    ) -> Result<T, BackendError> {
        let bytes = resp.bytes().await.map_err(|source| BackendError::Unreachable { url: url.to_string(), source })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| BackendError::Unexpected {
                url: url.to_string(),
                status: status.as_u16(),
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(error) => Err(BackendError::Refused { status: status.as_u16(), error }),
            Err(_) => Err(BackendError::Unexpected {
                url: url.to_string(),
                status: status.as_u16(),
                detail: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
            }),
        }
    }

    /// Whether, and how, Klarna may be offered; with its wording.
    pub async fn availability(&self, q: &AvailabilityQuery) -> Result<AvailabilityResponse, BackendError> {
        let mut query = vec![
            ("country", q.country.clone()),
            ("currency", q.currency.code().to_string()),
            ("amount", q.amount.to_string()),
            ("locale", q.locale.clone()),
        ];
        if let Some(t) = &q.interoperability_token {
            query.push(("interoperability_token", t.clone()));
        }
        self.call(Method::GET, "/v1/klarna/availability", &query, None, None).await
    }

    /// Authorizes (first call: step-up; with a session token: the final authorization).
    pub async fn authorize(
        &self,
        req: &AuthorizeRequest,
        idempotency_key: &str,
    ) -> Result<AuthorizeResponse, BackendError> {
        let body = serde_json::to_vec(req).map_err(|e| BackendError::Unexpected {
            url: self.base.clone(),
            status: 0,
            detail: format!("cannot encode the request: {e}"),
        })?;
        self.call(Method::POST, "/v1/payments/authorize", &[], Some((&body, idempotency_key)), None).await
    }

    /// Reads a payment request; with `wait_from`, the acquirer holds the answer up to
    /// `wait` until the state differs from it (long poll).
    pub async fn payment_request(
        &self,
        id: &str,
        wait_from: Option<PaymentRequestState>,
        wait: Duration,
    ) -> Result<PaymentRequest, BackendError> {
        let mut query = vec![];
        let mut timeout = None;
        if let Some(state) = wait_from {
            let name =
                serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            query.push(("wait_for_change_from", name));
            query.push(("timeout_ms", wait.as_millis().to_string()));
            timeout = Some(wait + Duration::from_secs(10));
        }
        self.call(Method::GET, &format!("/v1/payment-requests/{id}"), &query, None, timeout).await
    }

    /// Cancels a payment request.
    pub async fn cancel_payment_request(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentRequest, BackendError> {
        self.call(Method::POST, &format!("/v1/payment-requests/{id}/cancel"), &[], Some((b"{}", idempotency_key)), None)
            .await
    }
}
