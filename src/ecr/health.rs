//! What store IT's monitoring reads without the token: `/health` (devices, acquirer,
//! queue; answered from a cache at most [`HEALTH_CACHE`] old, so a flood of health
//! checks costs no journal reads) and `/metrics` in the Prometheus text format.

use super::routes::EcrState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How old a `/health` answer may be.
pub const HEALTH_CACHE: Duration = Duration::from_millis(500);

/// The last `/health` answer and when it was made.
#[derive(Debug, Default)]
pub struct HealthCache(Mutex<Option<(Instant, serde_json::Value)>>);

/// `/health`: the devices, the acquirer and the queue.
pub async fn health(State(s): State<EcrState>) -> Response {
    let mut cached = s.health.0.lock().await;
    if let Some((at, body)) = cached.as_ref()
        && at.elapsed() < HEALTH_CACHE
    {
        return axum::Json(body.clone()).into_response();
    }
    let body = health_now(&s).await;
    *cached = Some((Instant::now(), body.clone()));
    axum::Json(body).into_response()
}

async fn health_now(s: &EcrState) -> serde_json::Value {
    let devices: Vec<_> = [s.display.health(), s.printer.health()]
        .into_iter()
        .chain(s.card_reader.as_ref().map(|c| c.health()))
        .collect();
    let queue = s.outbox.journal().queue_summary().await.ok();
    let acquirer = serde_json::json!({ "online": s.checkout.acquirer_online() });
    serde_json::json!({ "status": "ok", "devices": devices, "acquirer": acquirer, "queue": queue })
}

/// Prometheus metrics (no token: read-only, no secrets, loopback).
pub async fn metrics(State(s): State<EcrState>) -> Response {
    use crate::metrics::gauge_labels;
    let mut gauges = vec![];
    for h in [s.display.health(), s.printer.health()].into_iter().chain(s.card_reader.as_ref().map(|c| c.health())) {
        let labels = gauge_labels(&[("device", h.device), ("endpoint", &h.endpoint)]);
        gauges.push((
            "posagent_device_up",
            "Whether the device is open and answered its last job.",
            labels,
            if h.connected { 1.0 } else { 0.0 },
        ));
    }
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
