//! What store IT's monitoring reads without the token: `/health` and `/metrics` in the
//! Prometheus text format. `/health` says `ok`, `degraded` (sales go on with a part
//! missing: the acquirer unreachable, the printer or the card reader failing, refused
//! operations in the queue) or `down` with 503 (no sale can be taken: the journal cannot
//! be read, or the customer display fails), listing each failing part; it is answered
//! from a cache at most [`HEALTH_CACHE`] old, so a flood of health checks costs no
//! journal reads.

use super::routes::EcrState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;

/// How old a `/health` answer may be.
pub const HEALTH_CACHE: Duration = Duration::from_millis(500);

/// The last `/health` answer and when it was made, and when the daemon started.
#[derive(Debug)]
pub struct HealthCache {
    started: SystemTime,
    last: Mutex<Option<(Instant, StatusCode, Value)>>,
}

impl Default for HealthCache {
    fn default() -> Self {
        HealthCache { started: SystemTime::now(), last: Mutex::new(None) }
    }
}

/// `/health`: the status, the failing parts, the devices, the acquirer and the queue.
pub async fn health(State(s): State<EcrState>) -> Response {
    let mut cached = s.health.last.lock().await;
    if let Some((at, status, body)) = cached.as_ref()
        && at.elapsed() < HEALTH_CACHE
    {
        return (*status, axum::Json(body.clone())).into_response();
    }
    let (status, body) = health_now(&s).await;
    *cached = Some((Instant::now(), status, body.clone()));
    (status, axum::Json(body)).into_response()
}

fn problem(part: &str, reason: impl Into<String>) -> Value {
    json!({ "part": part, "reason": reason.into() })
}

/// Every device's state: display, printer, and the card reader if there is one.
fn device_health(s: &EcrState) -> Vec<crate::devices::DeviceHealth> {
    [s.display.health(), s.printer.health()].into_iter().chain(s.card_reader.as_ref().map(|c| c.health())).collect()
}

async fn health_now(s: &EcrState) -> (StatusCode, Value) {
    let devices = device_health(s);
    let mut problems = vec![];
    let mut down = false;
    for d in &devices {
        if let Some(reason) = d.fault.as_ref().or(d.last_error.as_ref()) {
            down |= d.device == "display";
            problems.push(problem(d.device, reason.clone()));
        }
    }
    let online = s.checkout.acquirer_online();
    if !online {
        let why = "the acquirer does not answer: card payments within the offline limits only, Klarna not offered";
        problems.push(problem("acquirer", why));
    }
    let queue = match s.outbox.journal().queue_summary().await {
        Ok(q) => {
            if q.dead > 0 {
                let why = format!("{} operations refused by the acquirer for good; see `posagent queue list`", q.dead);
                problems.push(problem("queue", why));
            }
            serde_json::to_value(q).ok()
        }
        Err(e) => {
            down = true;
            problems.push(problem("journal", e.to_string()));
            None
        }
    };
    let status = if down {
        "down"
    } else if problems.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    let body = json!({
        "status": status,
        "problems": problems,
        "devices": devices,
        "acquirer": { "online": online },
        "queue": queue,
    });
    (if down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }, body)
}

/// Prometheus metrics (no token: read-only, no secrets, loopback).
pub async fn metrics(State(s): State<EcrState>) -> Response {
    use crate::metrics::gauge_labels;
    let mut gauges = vec![];
    for h in device_health(&s) {
        let labels = gauge_labels(&[("device", h.device), ("endpoint", &h.endpoint)]);
        let up = h.connected && h.last_error.is_none() && h.fault.is_none();
        gauges.push((
            "posagent_device_up",
            "Whether the device is open, answered its last job and reports no fault (paper out, cover open, tamper: 0).",
            labels,
            if up { 1.0 } else { 0.0 },
        ));
    }
    gauges.push((
        "posagent_build_info",
        "The running build (always 1).",
        gauge_labels(&[("version", env!("CARGO_PKG_VERSION"))]),
        1.0,
    ));
    let started = s.health.started.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    gauges.push((
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        String::new(),
        started,
    ));
    let labels = String::new();
    match s.outbox.journal().queue_summary().await {
        Ok(q) => {
            let age = q.oldest_pending_ms.map(|t| (crate::outbox::now_ms() - t).max(0) as f64 / 1000.0).unwrap_or(0.0);
            gauges.push((
                "posagent_queue_depth",
                "Operations waiting for the acquirer.",
                labels.clone(),
                q.pending as f64,
            ));
            gauges.push((
                "posagent_queue_oldest_age_seconds",
                "Age of the oldest operation waiting for the acquirer.",
                labels.clone(),
                age,
            ));
            gauges.push((
                "posagent_queue_dead_letters",
                "Operations the acquirer refused for good (see `posagent queue list`).",
                labels.clone(),
                q.dead as f64,
            ));
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the outbox for /metrics"),
    }
    let online = s.checkout.acquirer_online();
    gauges.push((
        "posagent_acquirer_up",
        "Whether the acquirer answered the last call.",
        labels,
        if online { 1.0 } else { 0.0 },
    ));
    let mut counters = vec![];
    if let Some(reader) = &s.card_reader {
        let fault = reader.health().fault.is_some();
        gauges.push((
            "posagent_card_reader_out_of_service",
            "Whether the card reader reports itself out of service (tamper, keys); see /health.",
            String::new(),
            if fault { 1.0 } else { 0.0 },
        ));
        counters = card_reader_counters(reader.counters());
    }
    let body = s.metrics.render_with(&gauges, &counters);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The card reader's counters as Prometheus counters.
fn card_reader_counters(c: &crate::devices::ReaderCounters) -> Vec<(&'static str, &'static str, u64)> {
    let help = |kind: &str| match kind {
        "discarded" => (
            "posagent_card_reader_discarded_events_total",
            "Reader events discarded: another transaction's, a read crossing a cancel, before any sale.",
        ),
        "duplicate" => ("posagent_card_reader_duplicate_frames_total", "Frames the reader sent again (dropped)."),
        "damaged" => {
            ("posagent_card_reader_damaged_frames_total", "Damaged or partial frames from the reader (NAKed).")
        }
        "resent" => ("posagent_card_reader_resent_frames_total", "Frames the host sent the reader again."),
        _ => ("posagent_card_reader_read_retries_total", "Card reads the customer was asked to try again."),
    };
    c.snapshot()
        .into_iter()
        .map(|(kind, v)| {
            let (name, text) = help(kind);
            (name, text, v)
        })
        .collect()
}
