//! posagent's simulator: simulated devices (receipt printer, customer display), the
//! simulated Klarna customer, and the simulated acquirer backend.
//!
//! [`SimEnvironment::start`] brings all of them up on loopback ports so the daemon runs
//! its real drivers and its real HTTP client against them; `posagent run --simulator`
//! embeds it, and `posagent-sim backend` runs the acquirer alone.

pub mod backend;
pub mod card_crypto;
pub mod customer;
pub mod devices;
pub mod scenario;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use customer::CustomerAction;
use devices::display::SimDisplay;
use devices::printer::SimPrinter;
use posagent_drivers::display::PanelFormat;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How to set the simulator up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where frames and receipts are written (`display/`, `printer/` below it); `None` keeps them in memory only.
    pub out_dir: Option<PathBuf>,
    /// The terminal API key the backend accepts.
    pub api_key: String,
    /// Display width in pixels.
    pub display_width: u16,
    /// Display height in pixels.
    pub display_height: u16,
    /// Display pixel format.
    pub display_format: PanelFormat,
    /// Printer columns.
    pub printer_columns: usize,
    /// Lifetime of payment requests (clamped to 15 min … 48 h).
    pub request_ttl: chrono::Duration,
}

impl SimConfig {
    /// Defaults: an 800×480 colour display, a 48-column printer, 15-minute payment requests.
    pub fn new(api_key: String, out_dir: Option<PathBuf>) -> Self {
        SimConfig {
            out_dir,
            api_key,
            display_width: 800,
            display_height: 480,
            display_format: PanelFormat::Rgb565,
            printer_columns: 48,
            request_ttl: chrono::Duration::minutes(15),
        }
    }
}

/// A running simulator.
pub struct SimEnvironment {
    /// Base URL of the acquirer API (and of the `/sim` control API).
    pub backend_url: String,
    /// The printer's TCP address.
    pub printer_addr: SocketAddr,
    /// The display's TCP address.
    pub display_addr: SocketAddr,
    /// The acquirer's books.
    pub backend: Arc<backend::SimBackend>,
    /// The printer.
    pub printer: Arc<SimPrinter>,
    /// The display.
    pub display: Arc<SimDisplay>,
    /// The printer also as a serial port (a pseudo-terminal bridged to its TCP port).
    pub printer_pty: Option<String>,
    _printer_pty: Option<serialport::TTYPort>,
    /// The card reader (on a pseudo-terminal); `None` where the system has no PTYs.
    pub card_reader: Option<Arc<devices::card_reader::SimCardReader>>,
    /// A 2×20 line display (on a pseudo-terminal), for counter-PC terminal profiles.
    pub line_display: Option<Arc<devices::line_display::SimLineDisplay>>,
    http: reqwest::Client,
}

#[derive(Clone)]
struct Control {
    card_reader: Option<Arc<devices::card_reader::SimCardReader>>,
    line_display: Option<Arc<devices::line_display::SimLineDisplay>>,
    display: Arc<SimDisplay>,
    printer: Arc<SimPrinter>,
    backend: Arc<backend::SimBackend>,
    http: reqwest::Client,
}

impl SimEnvironment {
    /// Starts everything on 127.0.0.1 ephemeral ports; it all stops when `cancel` fires.
    pub async fn start(config: SimConfig, cancel: CancellationToken) -> std::io::Result<Self> {
        let (display_dir, printer_dir) = match &config.out_dir {
            Some(d) => {
                let (a, b) = (d.join("display"), d.join("printer"));
                tokio::fs::create_dir_all(&a).await?;
                tokio::fs::create_dir_all(&b).await?;
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let display = SimDisplay::new(config.display_width, config.display_height, config.display_format, display_dir);
        let printer = SimPrinter::new(config.printer_columns, printer_dir);
        let display_listener = TcpListener::bind("127.0.0.1:0").await?;
        let printer_listener = TcpListener::bind("127.0.0.1:0").await?;
        let backend_listener = TcpListener::bind("127.0.0.1:0").await?;
        let display_addr = display_listener.local_addr()?;
        let printer_addr = printer_listener.local_addr()?;
        let backend_url = format!("http://{}", backend_listener.local_addr()?);
        let backend =
            backend::SimBackend::new(config.api_key.clone(), backend_url.clone(), config.request_ttl, cancel.clone());
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let card_reader = match devices::card_reader::SimCardReader::start(cancel.clone()) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "no pseudo-terminal for the simulated card reader; card payments are off");
                None
            }
        };
        let line_display = match devices::line_display::SimLineDisplay::start(cancel.clone()) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(error = %e, "no pseudo-terminal for the simulated line display");
                None
            }
        };
        let control = Control {
            card_reader: card_reader.clone(),
            line_display: line_display.clone(),
            display: display.clone(),
            printer: printer.clone(),
            backend: backend.clone(),
            http: http.clone(),
        };
        let app = backend::router(backend.clone()).merge(control_router(control));
        tokio::spawn(display.clone().serve(display_listener, cancel.clone()));
        tokio::spawn(printer.clone().serve(printer_listener, cancel.clone()));
        let c = cancel.clone();
        tokio::spawn(async move {
            if let Err(e) = backend::serve(backend_listener, app, c).await {
                tracing::error!(error = %e, "simulated acquirer stopped");
            }
        });
        let (printer_pty, keep) = match devices::pty_bridge(printer_addr, cancel.clone()) {
            Ok((path, slave)) => (Some(path), Some(slave)),
            Err(e) => {
                tracing::warn!(error = %e, "no pseudo-terminal for the simulated printer; it is on TCP only");
                (None, None)
            }
        };
        Ok(SimEnvironment {
            backend_url,
            printer_addr,
            printer_pty,
            _printer_pty: keep,
            display_addr,
            backend,
            printer,
            display,
            card_reader,
            line_display,
            http,
        })
    }

    /// The customer scans the display and acts; returns the URL the QR code held.
    pub async fn customer(&self, action: CustomerAction) -> Result<String, customer::CustomerError> {
        customer::act(&self.display, &self.http, action).await
    }
}

fn control_router(control: Control) -> axum::Router {
    axum::Router::new()
        .route("/", get(dashboard))
        .route("/sim/state", get(state_route))
        .route("/sim/customer", post(customer_route))
        .route("/sim/display.png", get(display_png))
        .route("/sim/line-display", get(line_display_route))
        .route("/sim/printer/paper", post(paper_route))
        .route("/sim/devices/{device}", post(plug_route))
        .route("/sim/card", post(card_route))
        .route("/sim/card-reader/fault", post(card_reader_fault_route))
        .route("/sim/receipts/{number}", get(receipt_png))
        .with_state(control)
}

/// The developer dashboard: live display, receipts, customer, devices, network faults.
const DASHBOARD: &str = include_str!("dashboard.html");

async fn dashboard() -> axum::response::Html<&'static str> {
    axum::response::Html(DASHBOARD)
}

async fn state_route(State(c): State<Control>) -> Response {
    let receipts: Vec<serde_json::Value> = c
        .printer
        .receipts()
        .into_iter()
        .map(|r| serde_json::json!({ "number": r.number, "text": r.text, "qr_payloads": r.qr_payloads }))
        .collect();
    let faults = c.backend.faults.lock().unwrap_or_else(|p| p.into_inner()).clone();
    axum::Json(serde_json::json!({
        "frames_shown": *c.display.subscribe().borrow(),
        "display_plugged": c.display.plug.is_plugged(),
        "printer_plugged": c.printer.plug.is_plugged(),
        "paper_out": c.printer.paper_out(),
        "drawer_kicks": c.printer.drawer_kicks(),
        "line_display": c.line_display.as_ref().map(|d| d.lines()),
        "card_reader": c.card_reader.as_ref().map(|r| r.state()),
        "card_reader_stats": c.card_reader.as_ref().map(|r| r.stats().summary()),
        "faults": faults,
        "receipts": receipts,
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct PlugBody {
    plugged: bool,
}

async fn plug_route(
    State(c): State<Control>,
    axum::extract::Path(device): axum::extract::Path<String>,
    axum::Json(body): axum::Json<PlugBody>,
) -> StatusCode {
    match device.as_str() {
        "display" => c.display.plug.set(body.plugged),
        "printer" => c.printer.plug.set(body.plugged),
        "card_reader" => match &c.card_reader {
            Some(r) => r.set_plugged(body.plugged),
            None => return StatusCode::NOT_FOUND,
        },
        _ => return StatusCode::NOT_FOUND,
    }
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
struct CustomerBody {
    action: CustomerAction,
    /// `display` (default) or `slip`: where the customer finds the QR code.
    #[serde(default)]
    from: Option<String>,
}

async fn customer_route(State(c): State<Control>, axum::Json(body): axum::Json<CustomerBody>) -> Response {
    let look = match body.from.as_deref() {
        None | Some("display") => customer::Look::Display(&c.display),
        Some("slip") => customer::Look::Slip(&c.printer),
        Some(other) => {
            let error = format!("`{other}` is not where a QR code can be: use \"display\" or \"slip\"");
            return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(serde_json::json!({ "error": error })))
                .into_response();
        }
    };
    match customer::act_on(look, &c.http, body.action).await {
        Ok(url) => axum::Json(serde_json::json!({ "scanned_url": url })).into_response(),
        Err(e) => (StatusCode::CONFLICT, axum::Json(serde_json::json!({ "error": e.to_string() }))).into_response(),
    }
}

async fn line_display_route(State(c): State<Control>) -> Response {
    match &c.line_display {
        Some(d) => axum::Json(serde_json::json!({ "path": d.path, "lines": d.lines() })).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({ "error": "no line display (no PTYs)" })))
            .into_response(),
    }
}

async fn display_png(State(c): State<Control>) -> Response {
    let frame = c.display.current();
    match tokio::task::spawn_blocking(move || frame.to_png()).await {
        Ok(Ok(png)) => {
            ([(axum::http::header::CONTENT_TYPE, "image/png"), (axum::http::header::CACHE_CONTROL, "no-store")], png)
                .into_response()
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct PaperBody {
    out: bool,
}

async fn paper_route(State(c): State<Control>, axum::Json(body): axum::Json<PaperBody>) -> StatusCode {
    c.printer.set_paper_out(body.out);
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
struct CardBody {
    card: devices::card_reader::TestCard,
    #[serde(default = "tap")]
    presentation: devices::card_reader::Presentation,
}

fn tap() -> devices::card_reader::Presentation {
    devices::card_reader::Presentation::Tap
}

async fn card_route(State(c): State<Control>, axum::Json(body): axum::Json<CardBody>) -> Response {
    let Some(reader) = &c.card_reader else {
        return (StatusCode::CONFLICT, axum::Json(serde_json::json!({ "error": "this simulator has no card reader" })))
            .into_response();
    };
    match reader.present(body.card, body.presentation) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => (StatusCode::CONFLICT, axum::Json(serde_json::json!({ "error": why }))).into_response(),
    }
}

/// `POST /sim/card-reader/fault` with a [`devices::card_reader::ReaderFault`] as JSON
/// (`{"kind": "stray_read", "card": "approve"}`): 204 when played, 409 when it cannot be.
async fn card_reader_fault_route(
    State(c): State<Control>,
    axum::Json(fault): axum::Json<devices::card_reader::ReaderFault>,
) -> Response {
    let Some(reader) = &c.card_reader else {
        return (StatusCode::CONFLICT, axum::Json(serde_json::json!({ "error": "this simulator has no card reader" })))
            .into_response();
    };
    match reader.inject(fault) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => (StatusCode::CONFLICT, axum::Json(serde_json::json!({ "error": why }))).into_response(),
    }
}

/// A printed receipt as PNG (`/sim/receipts/1.png`).
async fn receipt_png(State(c): State<Control>, axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let number: Option<usize> = name.strip_suffix(".png").and_then(|n| n.parse().ok());
    let Some(receipt) = number.and_then(|n| c.printer.receipts().into_iter().find(|r| r.number == n)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let columns = c.printer.columns();
    match tokio::task::spawn_blocking(move || receipt.png(columns)).await {
        Ok(Ok(png)) => ([(axum::http::header::CONTENT_TYPE, "image/png")], png).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
