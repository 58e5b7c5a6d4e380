//! ECR API routes.

use super::console::{Caller, Gate, require_caller};
use super::problem::Problem;
use super::wire;
use crate::checkout::Checkout;
use crate::devices::{DisplayService, PrinterService};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Extension, Json};
use futures_util::Stream;
use posagent_ecr_api::{
    CaptureBody, ConsoleInfo, DayReport, ErrorCode, KlarnaAvailability, KlarnaQuery, MethodBody, NewReturn,
    Reconciliation, ReconciliationQuery, RetrySale, Return, Sale, SaleHistory, XReportQuery,
};
use std::convert::Infallible;
use std::sync::Arc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

/// An answer: the wire type, or the error envelope.
type Answer<T> = Result<Json<T>, Problem>;

/// An answer with its status (201 created, 202 queued, 200 again).
type StatusAnswer<T> = Result<(StatusCode, Json<T>), Problem>;

/// Largest request body (1000 order lines fit easily).
pub(super) const MAX_BODY: usize = 1024 * 1024;

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
    /// The cashier console: sessions, staff, catalogue.
    pub console: Arc<super::console::Console>,
}

/// The ECR router; everything but `/health`, `/metrics` and the console's page and
/// sign-in needs the bearer `token` or a console session; rate limits, allowed host names
/// from `ecr`.
pub fn router(state: EcrState, token: String, ecr: &crate::config::EcrConfig) -> Router {
    let token = Arc::new(token);
    let gate = Arc::new(Gate {
        token: token.clone(),
        sessions: state.console.sessions.clone(),
        staff: state.console.staff.clone(),
        refund_limit: state.console.refund_limit,
    });
    let limits = super::limit::Limits::new(token.clone(), ecr.max_requests_per_sec, ecr.max_unauthenticated_per_sec);
    let hosts = super::web::HostPolicy::new(&ecr.allowed_hosts);
    let api = Router::new()
        .route("/v1/sales", post(create_sale).get(super::sales_list::list))
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
        .route("/v1/cashiers", get(super::console::api::list))
        .route("/v1/cashiers/{id}", axum::routing::put(super::console::api::put))
        .route("/v1/catalogue", get(super::console::api::catalogue))
        .route("/v1/offline", get(offline_room))
        .layer(axum::middleware::from_fn_with_state(gate, require_caller))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Router::new()
        .route("/health", get(super::health::health))
        .route("/metrics", get(super::health::metrics))
        .route("/console", get(super::console::page))
        .route("/console/app.js", get(super::console::script))
        .route("/console/app.css", get(super::console::style))
        .route("/console/texts/{lang}", get(super::console::texts))
        .route("/console/info", get(console_info))
        .route(
            "/console/session",
            post(super::console::api::sign_in).get(super::console::api::read).delete(super::console::api::sign_out),
        )
        .route("/console/session/approval", post(super::console::api::approve))
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
    Problem::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such endpoint; see docs/ecr-api.md")
}

/// 201 for a new sale, 200 for the same request again.
fn created(sale: crate::domain::SaleView, new: bool) -> (StatusCode, Json<Sale>) {
    (if new { StatusCode::CREATED } else { StatusCode::OK }, Json(wire::sale(sale)))
}

/// 202 when the operation waits for the acquirer.
fn queued(sale: crate::domain::SaleView, queued: bool) -> (StatusCode, Json<Sale>) {
    (if queued { StatusCode::ACCEPTED } else { StatusCode::OK }, Json(wire::sale(sale)))
}

async fn create_sale(
    State(s): State<EcrState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> StatusAnswer<Sale> {
    let mut request: crate::checkout::NewSale = Problem::parse_json(&body)?;
    request.cashier = caller.cashier_id();
    let (view, new) = s.checkout.create_sale(request).await?;
    Ok(created(view, new))
}

/// Starts an unpaid sale's purchase again, as a new sale (201; 200 when resent).
async fn retry_sale(
    State(s): State<EcrState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusAnswer<Sale> {
    let request: RetrySale =
        if body.iter().all(u8::is_ascii_whitespace) { RetrySale::default() } else { Problem::parse_json(&body)? };
    let (view, new) = s.checkout.retry_sale(&id, request, caller.cashier_id()).await?;
    Ok(created(view, new))
}

async fn read_sale(State(s): State<EcrState>, Path(id): Path<String>) -> Answer<Sale> {
    Ok(Json(wire::sale(s.checkout.sale(&id).await?)))
}

/// The sale and every change journaled for it.
async fn sale_history(State(s): State<EcrState>, Path(id): Path<String>) -> Answer<SaleHistory> {
    let (sale, history) = s.checkout.history(&id).await?;
    let actions = s.console.staff.actions_on(vec![sale.id.clone(), sale.reference.clone()]).await?;
    Ok(Json(wire::history(sale, history, actions)))
}

async fn cancel_sale(State(s): State<EcrState>, Path(id): Path<String>) -> Answer<Sale> {
    Ok(Json(wire::sale(s.checkout.cancel(&id).await?)))
}

async fn events(State(s): State<EcrState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(s.checkout.subscribe()).filter_map(|item| match item {
        Ok(view) => Event::default().event("sale").json_data(wire::sale(view)).ok().map(Ok),
        // A slow reader missed changes: tell it to re-read the sales it follows.
        Err(_) => Some(Ok(Event::default().event("lagged").data("re-read your open sales"))),
    });
    // The stream ends when the daemon stops: an open stream would hold the API open.
    let stream = futures_util::StreamExt::take_until(stream, s.checkout.stopping().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Kicks open the cash drawer wired to the receipt printer.
async fn open_drawer(State(s): State<EcrState>) -> Result<StatusCode, Problem> {
    match s.printer.open_drawer().await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::NoCashDrawer,
            "this terminal's printer profile has no cash drawer (printer.cash_drawer)",
        )),
        Err(e) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::PrinterUnavailable, e.to_string())),
    }
}

/// Whether the register may show Klarna for an amount, with Klarna's wording.
async fn klarna_availability(
    State(s): State<EcrState>,
    q: Result<Query<KlarnaQuery>, QueryRejection>,
) -> Answer<KlarnaAvailability> {
    let Ok(Query(q)) = q else {
        return Err(Problem::invalid_request("pass ?amount=<minor units>[&locale=sv-SE]"));
    };
    if q.amount < 1 || q.amount > posagent_acquirer_api::MAX_AMOUNT {
        return Err(Problem::invalid_field("amount", "amount must be 1 to 2147483647 minor units"));
    }
    if let Some(l) = q.locale.as_deref().filter(|l| !crate::config::valid_locale(l)) {
        let shown: String = l.chars().take(16).collect();
        return Err(Problem::invalid_field("locale", format!("`{shown}` is not a locale like \"sv-SE\"")));
    }
    if let Some(Err(m)) =
        q.interoperability_token.as_deref().map(posagent_acquirer_api::validate::check_interoperability_token)
    {
        return Err(Problem::invalid_field("interoperability_token", format!("interoperability_token {m}")));
    }
    match s.checkout.klarna_availability(q.amount, q.locale, q.interoperability_token).await {
        Ok(a) => Ok(Json(wire::klarna(a))),
        Err(e) => Err(Problem::new(StatusCode::BAD_GATEWAY, ErrorCode::AcquirerError, e.to_string())),
    }
}

async fn reprint_sale(State(s): State<EcrState>, Path(id): Path<String>) -> Answer<Sale> {
    Ok(Json(wire::sale(s.checkout.reprint(&id).await?)))
}

/// 201 refunded, 200 the same reference again, 202 waiting for the acquirer.
async fn create_return(
    State(s): State<EcrState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> StatusAnswer<Return> {
    let request: NewReturn = Problem::parse_json(&body)?;
    let (r, new) = s.returns.create_by(request, caller.refunder()).await?;
    let status = match (r.state, new) {
        (crate::domain::ReturnState::Pending, _) => StatusCode::ACCEPTED,
        (_, true) => StatusCode::CREATED,
        (_, false) => StatusCode::OK,
    };
    Ok((status, Json(wire::return_(r))))
}

async fn read_return(State(s): State<EcrState>, Path(id): Path<String>) -> Answer<Return> {
    match s.returns.get(&id).await? {
        Some(r) => Ok(Json(wire::return_(r))),
        None => Err(Problem::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no return {id}"))),
    }
}

/// The X report (`?print=true` prints it).
async fn report_x(
    State(s): State<EcrState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<XReportQuery>, QueryRejection>,
) -> Answer<DayReport> {
    let Ok(Query(XReportQuery { print })) = q else {
        return Err(Problem::invalid_request("pass ?print=true or ?print=false"));
    };
    Ok(Json(wire::day_report(s.reports.x(print, caller.cashier_id()).await?)))
}

/// The Z report: closes the day and prints.
async fn report_z(State(s): State<EcrState>, Extension(caller): Extension<Caller>) -> Answer<DayReport> {
    Ok(Json(wire::day_report(s.reports.z(caller.cashier_id()).await?)))
}

/// The day's reconciliation against the acquirer's settlement report (`?date=YYYY-MM-DD`, default today).
async fn reconciliation(
    State(s): State<EcrState>,
    q: Result<Query<ReconciliationQuery>, QueryRejection>,
) -> Answer<Reconciliation> {
    let Ok(Query(params)) = q else {
        return Err(Problem::invalid_request("pass one ?date=YYYY-MM-DD, or none for today"));
    };
    let date = match params.date {
        None => chrono::Utc::now().date_naive(),
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| Problem::invalid_field("date", format!("`{d}` is not a date like 2026-11-25")))?,
    };
    Ok(Json(wire::reconciliation(s.reports.reconcile(date).await?)))
}

/// What may still be approved offline.
async fn offline_room(State(s): State<EcrState>) -> Answer<posagent_ecr_api::OfflineRoom> {
    let r = s.checkout.offline_room().await?;
    Ok(Json(posagent_ecr_api::OfflineRoom {
        card_payments: r.card_payments,
        currency: r.currency,
        floor_limit: r.floor_limit,
        total_left: r.total_left,
        count_left: r.count_left,
        waiting_total: r.waiting_total,
        waiting_count: r.waiting_count,
    }))
}

/// What the console needs to format amounts: the store's currency.
async fn console_info(State(s): State<EcrState>) -> Json<ConsoleInfo> {
    let store = s.checkout.store();
    Json(ConsoleInfo {
        currency: store.currency,
        exponent: store.currency.exponent(),
        locale: store.locale.clone(),
        card_reader: s.checkout.takes_cards(),
    })
}

/// The request's `Idempotency-Key`: absent, or 1 to 255 visible ASCII characters (a key
/// that is not is refused, never silently dropped: the register would lose its retry safety).
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str() {
        Ok(k) if posagent_acquirer_api::validate::is_idempotency_key(k) => Ok(Some(k.to_string())),
        _ => Err(Problem::invalid_request("Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID fits)")
            .with_field("Idempotency-Key")),
    }
}

/// The customer's choice of method for a `CHOICE` sale in AWAITING_METHOD; answers the
/// sale once it has taken the choice up.
async fn choose_method(State(s): State<EcrState>, Path(id): Path<String>, body: Bytes) -> Answer<Sale> {
    let req: MethodBody = Problem::parse_json(&body)?;
    Ok(Json(wire::sale(s.checkout.choose_method(&id, &req.method).await?)))
}

/// Captures (the rest of) a `capture: LATER` sale; body `{"amount": N}` or empty for all.
async fn capture_sale(
    State(s): State<EcrState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> StatusAnswer<Sale> {
    let req: CaptureBody = if body.is_empty() { CaptureBody::default() } else { Problem::parse_json(&body)? };
    let key = idempotency_key(&headers)?;
    let (view, waits) = s.checkout.capture(&id, req.amount, key).await?;
    Ok(queued(view, waits))
}

/// Releases what remains of a sale's authorization.
async fn void_sale(
    State(s): State<EcrState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> StatusAnswer<Sale> {
    let key = idempotency_key(&headers)?;
    let (view, waits) = s.checkout.void(&id, key).await?;
    Ok(queued(view, waits))
}
