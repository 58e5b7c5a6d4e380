//! ECR API routes.

use super::auth::require_token;
use super::problem::Problem;
use crate::checkout::{Checkout, NewSale};
use crate::devices::{DisplayService, PrinterService};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

/// Largest request body (1000 order lines fit easily).
const MAX_BODY: usize = 1024 * 1024;

/// What the routes need.
#[derive(Clone)]
pub struct EcrState {
    /// The checkout.
    pub checkout: Checkout,
    /// The display (for `/health`).
    pub display: DisplayService,
    /// The printer (for `/health`).
    pub printer: PrinterService,
    /// The card reader (for `/health`), if any.
    pub card_reader: Option<crate::devices::CardReaderService>,
    /// Returns.
    pub returns: crate::returns::Returns,
    /// Metrics.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// End-of-day reports.
    pub reports: crate::reports::Reports,
    /// The outbox of operations waiting for the acquirer.
    pub outbox: crate::outbox::SyncHandle,
    /// The last `/health` answer.
    pub health: Arc<super::health::HealthCache>,
}

/// The ECR router; everything but `/health`, `/metrics` and the console page needs the
/// bearer `token`; rate limits, allowed host names from `ecr`.
pub fn router(state: EcrState, token: String, ecr: &crate::config::EcrConfig) -> Router {
    let token = Arc::new(token);
    let limits = super::limit::Limits::new(token.clone(), ecr.max_requests_per_sec, ecr.max_unauthenticated_per_sec);
    let hosts = super::web::HostPolicy::new(&ecr.allowed_hosts);
    let api = Router::new()
        .route("/v1/sales", post(create_sale))
        .route("/v1/sales/{id}", get(read_sale))
        .route("/v1/sales/{id}/history", get(sale_history))
        .route("/v1/sales/{id}/cancel", post(cancel_sale))
        .route("/v1/sales/{id}/method", post(choose_method))
        .route("/v1/sales/{id}/reprint", post(reprint_sale))
        .route("/v1/sales/{id}/retry", post(retry_sale))
        .route("/v1/sales/{id}/capture", post(capture_sale))
        .route("/v1/sales/{id}/void", post(void_sale))
        .route("/v1/drawer/open", post(open_drawer))
        .route("/v1/returns", post(create_return))
        .route("/v1/returns/{id}", get(read_return))
        .route("/v1/events", get(events))
        .route("/v1/klarna", get(klarna_availability))
        .route("/v1/reports/x", get(report_x))
        .route("/v1/reports/z", post(report_z))
        .route("/v1/reports/reconciliation", get(reconciliation))
        .route("/v1/log-level", get(super::admin::read).put(super::admin::change))
        .route("/v1/queue", get(super::queue::list))
        .route("/v1/queue/summary", get(super::queue::summary))
        .route("/v1/queue/sync", post(super::queue::sync))
        .route("/v1/queue/{id}", get(super::queue::read))
        .route("/v1/queue/{id}/retry", post(super::queue::retry))
        .layer(axum::middleware::from_fn_with_state(token, require_token))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Router::new()
        .route("/health", get(super::health::health))
        .route("/metrics", get(super::health::metrics))
        .route("/console", get(console))
        .route("/console/info", get(console_info))
        .merge(api)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(limits, super::limit::limit))
        .layer(axum::middleware::from_fn_with_state(hosts, super::web::check_host))
        .layer(axum::middleware::from_fn(super::web::harden))
        .with_state(state)
}

/// The monitoring listener's router (`metrics.listen`): `/health` and `/metrics` only,
/// no token, no way to reach the payment API; requests per peer limited as the ECR
/// listener limits callers without the token.
pub fn monitoring_router(state: EcrState, ecr: &crate::config::EcrConfig) -> Router {
    // No request here is the register's: a "token" no header can carry (a line feed)
    // puts every caller in the per-peer buckets.
    let nobody = Arc::new("\n".to_string());
    let limits = super::limit::Limits::new(nobody, ecr.max_requests_per_sec, ecr.max_unauthenticated_per_sec);
    Router::new()
        .route("/health", get(super::health::health))
        .route("/metrics", get(super::health::metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(limits, super::limit::limit))
        .layer(axum::middleware::from_fn(super::web::harden))
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint; see docs/ecr-api.md")
}

async fn create_sale(State(s): State<EcrState>, body: Bytes) -> Response {
    let request: NewSale = match Problem::parse_json(&body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match s.checkout.create_sale(request).await {
        Ok((view, true)) => (StatusCode::CREATED, axum::Json(view)).into_response(),
        Ok((view, false)) => (StatusCode::OK, axum::Json(view)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Starts an unpaid sale's purchase again, as a new sale (201; 200 when resent).
async fn retry_sale(State(s): State<EcrState>, Path(id): Path<String>, body: Bytes) -> Response {
    let request: crate::checkout::RetrySale = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        match Problem::parse_json(&body) {
            Ok(v) => v,
            Err(p) => return p.into_response(),
        }
    };
    match s.checkout.retry_sale(&id, request).await {
        Ok((view, true)) => (StatusCode::CREATED, axum::Json(view)).into_response(),
        Ok((view, false)) => (StatusCode::OK, axum::Json(view)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn read_sale(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    match s.checkout.sale(&id).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// The sale and every change journaled for it.
async fn sale_history(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    match s.checkout.history(&id).await {
        Ok((sale, history)) => axum::Json(serde_json::json!({ "sale": sale, "history": history })).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn cancel_sale(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    match s.checkout.cancel(&id).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn events(State(s): State<EcrState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(s.checkout.subscribe()).filter_map(|item| match item {
        Ok(view) => Event::default().event("sale").json_data(&view).ok().map(Ok),
        // A slow reader missed changes: tell it to re-read the sales it follows.
        Err(_) => Some(Ok(Event::default().event("lagged").data("re-read your open sales"))),
    });
    // The stream ends when the daemon stops: an open stream would hold the API open.
    let stream = futures_util::StreamExt::take_until(stream, s.checkout.stopping().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Kicks open the cash drawer wired to the receipt printer.
async fn open_drawer(State(s): State<EcrState>) -> Response {
    match s.printer.open_drawer().await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => Problem::new(
            StatusCode::CONFLICT,
            "NO_CASH_DRAWER",
            "this terminal's printer profile has no cash drawer (printer.cash_drawer)".to_string(),
        )
        .into_response(),
        Err(e) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "PRINTER_UNAVAILABLE", e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityParams {
    amount: i64,
    locale: Option<String>,
    interoperability_token: Option<String>,
}

/// Whether the register may show Klarna for an amount, with Klarna's wording.
async fn klarna_availability(
    State(s): State<EcrState>,
    q: Result<axum::extract::Query<AvailabilityParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = q else {
        return Problem::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "pass ?amount=<minor units>[&locale=sv-SE]")
            .into_response();
    };
    if q.amount < 1 || q.amount > posagent_acquirer_api::MAX_AMOUNT {
        return Problem::invalid_field("amount", "amount must be 1 to 2147483647 minor units").into_response();
    }
    if let Some(l) = q.locale.as_deref().filter(|l| !crate::config::valid_locale(l)) {
        let shown: String = l.chars().take(16).collect();
        return Problem::invalid_field("locale", format!("`{shown}` is not a locale like \"sv-SE\"")).into_response();
    }
    if let Some(Err(m)) =
        q.interoperability_token.as_deref().map(posagent_acquirer_api::validate::check_interoperability_token)
    {
        return Problem::invalid_field("interoperability_token", format!("interoperability_token {m}")).into_response();
    }
    match s.checkout.klarna_availability(q.amount, q.locale, q.interoperability_token).await {
        Ok(a) => axum::Json(a).into_response(),
        Err(e) => Problem::new(StatusCode::BAD_GATEWAY, "ACQUIRER_ERROR", e.to_string()).into_response(),
    }
}

async fn reprint_sale(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    match s.checkout.reprint(&id).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn create_return(State(s): State<EcrState>, body: Bytes) -> Response {
    let request: crate::returns::NewReturn = match Problem::parse_json(&body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match s.returns.create(request).await {
        Ok((r, _)) if r.state == crate::domain::ReturnState::Pending => {
            (StatusCode::ACCEPTED, axum::Json(r)).into_response()
        }
        Ok((r, true)) => (StatusCode::CREATED, axum::Json(r)).into_response(),
        Ok((r, false)) => (StatusCode::OK, axum::Json(r)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn read_return(State(s): State<EcrState>, Path(id): Path<String>) -> Response {
    match s.returns.get(&id).await {
        Ok(Some(r)) => axum::Json(r).into_response(),
        Ok(None) => Problem::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no return {id}")).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

fn report_problem(e: crate::reports::ReportError) -> Response {
    match e {
        crate::reports::ReportError::Backend(b) => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "ACQUIRER_UNREACHABLE", b.to_string()).into_response()
        }
        crate::reports::ReportError::Store(e) => Problem::from(e).into_response(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct XParams {
    #[serde(default)]
    print: bool,
}

/// The X report (`?print=true` prints it).
async fn report_x(
    State(s): State<EcrState>,
    q: Result<axum::extract::Query<XParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(XParams { print })) = q else {
        return Problem::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "pass ?print=true or ?print=false")
            .into_response();
    };
    match s.reports.x(print).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => report_problem(e),
    }
}

/// The Z report: closes the day and prints.
async fn report_z(State(s): State<EcrState>) -> Response {
    match s.reports.z().await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => report_problem(e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconcileParams {
    date: Option<String>,
}

/// The day's reconciliation against the acquirer's settlement report (`?date=YYYY-MM-DD`, default today).
async fn reconciliation(
    State(s): State<EcrState>,
    q: Result<axum::extract::Query<ReconcileParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(params)) = q else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "pass one ?date=YYYY-MM-DD, or none for today",
        )
        .into_response();
    };
    let date = match params.date {
        None => chrono::Utc::now().date_naive(),
        Some(d) => match chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "INVALID_FIELD",
                    format!("`{d}` is not a date like 2026-11-25"),
                );
                p.field = Some("date".into());
                return p.into_response();
            }
        },
    };
    match s.reports.reconcile(date).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => report_problem(e),
    }
}

/// The cashier console for terminals without an integrated register (the page holds no
/// secret; it asks for the ECR token).
async fn console() -> Response {
    super::web::console_page(include_str!("console.html"))
}

/// What the console needs to format amounts: the store's currency.
async fn console_info(State(s): State<EcrState>) -> Response {
    let store = s.checkout.store();
    axum::Json(serde_json::json!({
        "currency": store.currency.code(),
        "exponent": store.currency.exponent(),
        "locale": store.locale,
        "card_reader": s.checkout.takes_cards(),
    }))
    .into_response()
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    #[serde(default, deserialize_with = "posagent_acquirer_api::integer::de_opt")]
    amount: Option<i64>,
}

/// The request's `Idempotency-Key`: absent, or 1 to 255 visible ASCII characters (a key
/// that is not is refused, never silently dropped: the register would lose its retry safety).
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str() {
        Ok(k) if posagent_acquirer_api::validate::is_idempotency_key(k) => Ok(Some(k.to_string())),
        _ => {
            let mut p = Problem::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID fits)",
            );
            p.field = Some("Idempotency-Key".into());
            Err(p)
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MethodBody {
    method: String,
}

/// The customer's choice of method for a `CHOICE` sale in AWAITING_METHOD; answers the
/// sale once it has taken the choice up.
async fn choose_method(State(s): State<EcrState>, Path(id): Path<String>, body: Bytes) -> Response {
    let req: MethodBody = match Problem::parse_json(&body) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match s.checkout.choose_method(&id, &req.method).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Captures (the rest of) a `capture: LATER` sale; body `{"amount": N}` or empty for all.
async fn capture_sale(
    State(s): State<EcrState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let req: CaptureBody = if body.is_empty() {
        CaptureBody::default()
    } else {
        match Problem::parse_json(&body) {
            Ok(r) => r,
            Err(p) => return p.into_response(),
        }
    };
    let key = match idempotency_key(&headers) {
        Ok(k) => k,
        Err(p) => return p.into_response(),
    };
    match s.checkout.capture(&id, req.amount, key).await {
        Ok((v, false)) => axum::Json(v).into_response(),
        Ok((v, true)) => (StatusCode::ACCEPTED, axum::Json(v)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Releases what remains of a sale's authorization.
async fn void_sale(State(s): State<EcrState>, Path(id): Path<String>, headers: axum::http::HeaderMap) -> Response {
    let key = match idempotency_key(&headers) {
        Ok(k) => k,
        Err(p) => return p.into_response(),
    };
    match s.checkout.void(&id, key).await {
        Ok((v, false)) => axum::Json(v).into_response(),
        Ok((v, true)) => (StatusCode::ACCEPTED, axum::Json(v)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}
