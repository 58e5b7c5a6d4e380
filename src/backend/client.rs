//! HTTP client of the acquirer's Terminal API (see `docs/acquirer-api.md`).

use super::error::{BackendError, http_client};
use super::retry::RetryPolicy;
use posagent_acquirer_api::batch::{BatchRequest, BatchResponse};
use posagent_acquirer_api::events::{self, EventPage};
use posagent_acquirer_api::settlement::SettlementReport;
use posagent_acquirer_api::{
    ApiError, AuthorizeRequest, AuthorizeResponse, AvailabilityQuery, AvailabilityResponse, CaptureRequest,
    IDEMPOTENCY_KEY_HEADER, PaymentMethod, PaymentRequest, PaymentRequestState, PaymentTransaction, RefundRequest,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long a connectivity probe waits for its answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How to reach and authenticate to the acquirer.
#[derive(Clone, Default)]
pub struct ClientSettings {
    /// Base URL of the Terminal API.
    pub base_url: String,
    /// The terminal's API key (bearer).
    pub api_key: String,
    /// Timeout of one call.
    pub timeout: Duration,
    /// Extra CA certificates (PEM) to trust, for acquirers with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client_identity_pem: Option<Vec<u8>>,
    /// Retries.
    pub retry: RetryPolicy,
    /// Where to count calls (optional).
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    /// Keys the acquirer signs its event stream with (`None`: the one derived from the
    /// API key).
    pub event_signing_keys: Option<events::SigningKeys>,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings").field("base_url", &self.base_url).field("api_key", &"<redacted>").finish()
    }
}

/// Client of one acquirer for one terminal.
#[derive(Clone)]
pub struct AcquirerClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
    retry: RetryPolicy,
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    connectivity: std::sync::Arc<super::Connectivity>,
    signing_keys: events::SigningKeys,
}

impl std::fmt::Debug for AcquirerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirerClient").field("base", &self.base).field("api_key", &"<redacted>").finish()
    }
}

impl AcquirerClient {
    /// A client of `base` authenticating with `api_key`; each call times out after `timeout`.
    pub fn new(base: &str, api_key: String, timeout: Duration, retry: RetryPolicy) -> Result<Self, BackendError> {
        Self::with_settings(ClientSettings {
            base_url: base.to_string(),
            api_key,
            timeout,
            retry,
            ..ClientSettings::default()
        })
    }

    /// A client with TLS settings: TLS is always verified; a custom CA and a client
    /// certificate (mTLS) may be added.
    pub fn with_settings(s: ClientSettings) -> Result<Self, BackendError> {
        let http = http_client(&s.base_url, s.timeout, s.ca_pem.as_deref(), s.client_identity_pem.as_deref())?;
        Ok(AcquirerClient {
            http,
            base: s.base_url.trim_end_matches('/').to_string(),
            signing_keys: s.event_signing_keys.unwrap_or_else(|| events::SigningKeys::derived(&s.api_key)),
            api_key: s.api_key,
            retry: s.retry,
            metrics: s.metrics,
            connectivity: std::sync::Arc::default(),
        })
    }

    /// The URL of `segments` below the base URL, each one percent-encoded into its own
    /// path segment: an id or a reference holding `/`, `?`, `#` or `%` cannot reach another
    /// endpoint, and `.`, `..`, an empty segment or control characters are refused outright.
    fn endpoint(&self, segments: &[&str]) -> Result<reqwest::Url, BackendError> {
        let bad = |detail: String| BackendError::Unexpected { url: self.base.clone(), status: 0, detail };
        // The URL parser drops tabs and newlines (WHATWG): `WEB-1002\t` would become
        // `WEB-1002`. Control characters are refused with the dot segments.
        let unsafe_segment = |s: &&&str| s.is_empty() || **s == "." || **s == ".." || s.chars().any(char::is_control);
        if let Some(s) = segments.iter().find(unsafe_segment) {
            return Err(bad(format!("refused to call the acquirer with the path segment {s:?}")));
        }
        let mut url = reqwest::Url::parse(&self.base).map_err(|e| bad(format!("the acquirer URL is invalid: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| bad("the acquirer URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<(&[u8], &str)>,
        timeout: Option<Duration>,
    ) -> Result<T, BackendError> {
        self.call_with_recovery(method, path, query, body, timeout, || async { Ok(None) }).await
    }

    /// Calls with retries. Before resending after an ambiguous failure (the request may
    /// have been processed: timeout, dropped connection, 5xx) `recover` reads the
    /// resource by its reference; if it answers, that is the result and nothing is resent.
    async fn call_with_recovery<T, F, Fut>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<(&[u8], &str)>,
        timeout: Option<Duration>,
        recover: F,
    ) -> Result<T, BackendError>
    where
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, BackendError>>,
    {
        let start = std::time::Instant::now();
        let result = self.attempts(method.clone(), path, query, body, timeout, recover).await;
        self.connectivity.set(!matches!(&result, Err(e) if e.is_unreachable()));
        if let Some(m) = &self.metrics {
            let outcome = match &result {
                Ok(_) => "ok",
                Err(BackendError::Refused { status, .. }) if *status < 500 && *status != 429 => "refused",
                Err(_) => "failed",
            };
            m.acquirer_call(&format!("{method} {}", route_label(path)), outcome, start.elapsed());
        }
        result
    }

    async fn attempts<T, F, Fut>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<(&[u8], &str)>,
        timeout: Option<Duration>,
        recover: F,
    ) -> Result<T, BackendError>
    where
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, BackendError>>,
    {
        let url = self.endpoint(path)?;
        let mut retry = 0;
        loop {
            let mut req = self.http.request(method.clone(), url.clone()).bearer_auth(&self.api_key).query(query);
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
                Err(source) => {
                    (Err(BackendError::Unreachable { url: url.to_string(), source: source.without_url() }), None)
                }
                Ok(resp) => {
                    self.connectivity.record_date(resp.headers());
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (self.decode(url.as_str(), status, resp).await, retry_after)
                }
            };
            match outcome {
                Err(e) if e.is_unreachable() && retry + 1 < self.retry.attempts => {
                    retry += 1;
                    let rate_limited = matches!(&e, BackendError::Refused { status: 429, .. });
                    let wait = self.retry.delay(retry, retry_after, fastrand::f64());
                    tracing::warn!(%url, retry, wait_ms = wait.as_millis() as u64, error = %e, "acquirer call failed; retrying");
                    tokio::time::sleep(wait).await;
                    // A 429 was refused before processing; anything else may have been processed.
                    if body.is_some() && !rate_limited {
                        if let Ok(Some(found)) = recover().await {
                            tracing::info!(%url, "ambiguous outcome resolved by reading the resource by reference");
                            return Ok(found);
                        }
                    }
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
        let bytes = resp
            .bytes()
            .await
            .map_err(|source| BackendError::Unreachable { url: url.to_string(), source: source.without_url() })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| BackendError::Unexpected {
                url: url.to_string(),
                status: status.as_u16(),
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(error) => Err(BackendError::Refused { status: status.as_u16(), error: Box::new(error) }),
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
        self.call(Method::GET, &["v1", "klarna", "availability"], &query, None, None).await
    }

    /// Authorizes (first call: step-up; with a session token: the final authorization).
    /// An ambiguous failure is resolved by reading the payment request (step-up) or the
    /// transaction (final) by the sale's reference before anything is resent.
    pub async fn authorize(
        &self,
        req: &AuthorizeRequest,
        idempotency_key: &str,
    ) -> Result<AuthorizeResponse, BackendError> {
        let body = encode(&self.base, req)?;
        let reference = req.payment_transaction_reference.as_str();
        // A card authorization or a Klarna final authorization creates a transaction; a
        // Klarna step-up creates a payment request.
        let is_final = req.method == PaymentMethod::Card
            || req.klarna.as_ref().is_some_and(|k| k.klarna_network_session_token.is_some());
        let recover = || async move {
            if is_final {
                Ok(self.transaction_by_reference(reference).await?.map(AuthorizeResponse::approved))
            } else {
                Ok(self
                    .payment_request_by_reference(reference)
                    .await?
                    .filter(|pr| !pr.state.is_final())
                    .map(AuthorizeResponse::step_up))
            }
        };
        self.call_with_recovery(
            Method::POST,
            &["v1", "payments", "authorize"],
            &[],
            Some((&body, idempotency_key)),
            None,
            recover,
        )
        .await
    }

    /// A POST of `body` under `idempotency_key`, with the usual retries.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &[&str],
        body: &impl serde::Serialize,
        idempotency_key: &str,
    ) -> Result<T, BackendError> {
        let bytes = encode(&self.base, body)?;
        self.call(Method::POST, path, &[], Some((&bytes, idempotency_key)), None).await
    }

    /// Whether the acquirer answered the last call.
    pub fn connectivity(&self) -> &std::sync::Arc<super::Connectivity> {
        &self.connectivity
    }

    /// A cheap read that tells whether the acquirer answers (updates [`Self::connectivity`]),
    /// given [`PROBE_TIMEOUT`]: a probe that hangs on a dead connection must not hold up
    /// the news that the acquirer is back.
    pub async fn probe(&self) -> bool {
        match tokio::time::timeout(PROBE_TIMEOUT, self.transaction_by_reference("posagent-connectivity-probe")).await {
            Ok(r) => !matches!(r, Err(e) if e.is_unreachable()),
            Err(_) => {
                self.connectivity.set(false);
                false
            }
        }
    }

    /// The latest payment request of a sale reference, if any.
    pub async fn payment_request_by_reference(&self, reference: &str) -> Result<Option<PaymentRequest>, BackendError> {
        not_found_is_none(
            self.call(Method::GET, &["v1", "payment-requests"], &[("reference", reference.to_string())], None, None)
                .await,
        )
    }

    /// The transaction of a sale reference, if one was authorized.
    pub async fn transaction_by_reference(&self, reference: &str) -> Result<Option<PaymentTransaction>, BackendError> {
        not_found_is_none(
            self.call(
                Method::GET,
                &["v1", "payment-transactions"],
                &[("reference", reference.to_string())],
                None,
                None,
            )
            .await,
        )
    }

    /// A transaction by id.
    pub async fn transaction(&self, id: &str) -> Result<PaymentTransaction, BackendError> {
        self.call(Method::GET, &["v1", "payment-transactions", id], &[], None, None).await
    }

    /// Captures (part of) a transaction.
    pub async fn capture(
        &self,
        id: &str,
        req: &CaptureRequest,
        idempotency_key: &str,
    ) -> Result<PaymentTransaction, BackendError> {
        self.post(&["v1", "payment-transactions", id, "captures"], req, idempotency_key).await
    }

    /// Refunds (part of) a transaction, by capture or by lines.
    pub async fn refund(
        &self,
        id: &str,
        req: &RefundRequest,
        idempotency_key: &str,
    ) -> Result<PaymentTransaction, BackendError> {
        self.post(&["v1", "payment-transactions", id, "refunds"], req, idempotency_key).await
    }

    /// Voids the remaining authorization.
    pub async fn void(&self, id: &str, idempotency_key: &str) -> Result<PaymentTransaction, BackendError> {
        self.post(&["v1", "payment-transactions", id, "void"], &serde_json::json!({}), idempotency_key).await
    }

    /// An order (in store or online) by its reference, for returns.
    pub async fn order(&self, reference: &str) -> Result<Option<PaymentTransaction>, BackendError> {
        not_found_is_none(self.call(Method::GET, &["v1", "orders", reference], &[], None, None).await)
    }

    /// The settlement report of a day.
    pub async fn settlement(&self, date: chrono::NaiveDate) -> Result<SettlementReport, BackendError> {
        let day = date.format("%Y-%m-%d").to_string();
        self.call(Method::GET, &["v1", "settlements", &day], &[], None, None).await
    }

    /// Uploads operations queued offline; each keeps its own idempotency key.
    pub async fn batch(&self, req: &BatchRequest, idempotency_key: &str) -> Result<BatchResponse, BackendError> {
        self.post(&["v1", "batches"], req, idempotency_key).await
    }

    /// Events after `after`, waiting up to `wait` for one; the page's signature is checked
    /// before anything in it is believed.
    pub async fn events(&self, after: u64, wait: Duration) -> Result<EventPage, BackendError> {
        let url = format!("{}/v1/events", self.base);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.api_key)
            .query(&[("after", after.to_string()), ("timeout_ms", wait.as_millis().to_string())])
            .timeout(wait + Duration::from_secs(10))
            .send()
            .await
            .map_err(|source| BackendError::Unreachable { url: url.clone(), source: source.without_url() })?;
        self.connectivity.record_date(resp.headers());
        let status = resp.status();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (signature, key_id) = (header(events::SIGNATURE_HEADER), header(events::SIGNING_KEY_ID_HEADER));
        let bytes = resp
            .bytes()
            .await
            .map_err(|source| BackendError::Unreachable { url: url.clone(), source: source.without_url() })?;
        if !status.is_success() {
            return Err(BackendError::Unexpected {
                url,
                status: status.as_u16(),
                detail: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        if let Err(problem) = self.signing_keys.verify(key_id.as_deref(), &bytes, signature.as_deref()) {
            return Err(BackendError::BadSignature { url, problem });
        }
        serde_json::from_slice(&bytes).map_err(|e| BackendError::Unexpected {
            url,
            status: status.as_u16(),
            detail: e.to_string(),
        })
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
        self.call(Method::GET, &["v1", "payment-requests", id], &query, None, timeout).await
    }

    /// Cancels a payment request.
    pub async fn cancel_payment_request(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentRequest, BackendError> {
        self.post(&["v1", "payment-requests", id, "cancel"], &serde_json::json!({}), idempotency_key).await
    }
}

/// The path segments of the acquirer API that are names, not ids or references.
const ROUTE_NAMES: &[&str] = &[
    "v1",
    "klarna",
    "availability",
    "payments",
    "authorize",
    "reversals",
    "payment-requests",
    "payment-transactions",
    "captures",
    "refunds",
    "void",
    "cancel",
    "orders",
    "settlements",
    "batches",
    "events",
];

/// The route template of `segments` (`/v1/payment-transactions/{id}/captures`): every
/// segment that is not one of the API's names becomes `{id}`, so metric labels come from
/// a fixed set whatever the ids and references hold.
fn route_label(segments: &[&str]) -> String {
    segments.iter().fold(String::new(), |mut out, seg| {
        out.push('/');
        out.push_str(if ROUTE_NAMES.contains(seg) { seg } else { "{id}" });
        out
    })
}

fn encode<T: serde::Serialize>(base: &str, value: &T) -> Result<Vec<u8>, BackendError> {
    serde_json::to_vec(value).map_err(|e| BackendError::Unexpected {
        url: base.to_string(),
        status: 0,
        detail: format!("cannot encode the request: {e}"),
    })
}

fn not_found_is_none<T>(r: Result<T, BackendError>) -> Result<Option<T>, BackendError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(BackendError::Refused { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client(base: &str) -> AcquirerClient {
        AcquirerClient::new(base, "k".into(), Duration::from_secs(1), RetryPolicy::default()).unwrap()
    }

    #[test]
    fn ids_and_references_stay_inside_their_own_path_segment() {
        let c = client("https://acq.example/base/");
        let url = |segs: &[&str]| c.endpoint(segs).map(|u| u.to_string());
        assert_eq!(url(&["v1", "orders", "WEB-1002"]).unwrap(), "https://acq.example/base/v1/orders/WEB-1002");
        assert_eq!(
            url(&["v1", "orders", "../payment-transactions/krn:1"]).unwrap(),
            "https://acq.example/base/v1/orders/..%2Fpayment-transactions%2Fkrn:1"
        );
        assert_eq!(url(&["v1", "orders", "W?x=1#f%"]).unwrap(), "https://acq.example/base/v1/orders/W%3Fx=1%23f%25");
        for bad in ["..", ".", "", "WEB-1002\t", "WEB\n1002"] {
            assert!(url(&["v1", "orders", bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metric_labels_are_route_templates() {
        assert_eq!(route_label(&["v1", "orders", "../ledger\nposagent_acquirer_up NaN"]), "/v1/orders/{id}");
        assert_eq!(
            route_label(&["v1", "payment-transactions", "x", "captures"]),
            "/v1/payment-transactions/{id}/captures"
        );
    }
}
