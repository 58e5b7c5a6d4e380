//! What store IT's monitoring reads without the token: `/health` and `/metrics`
//! (OpenMetrics). `/health` says `ok`, `degraded` (sales go on with a part missing: the
//! acquirer unreachable while card payments are taken offline, the printer or the card
//! reader failing, refused operations in the queue) or `down` with 503 (no sale can be
//! taken: the journal cannot be read, the customer display fails, or the acquirer is
//! unreachable and nothing is sold offline), listing each failing part; it is answered
//! from a cache at most [`HEALTH_CACHE`] old, so a flood of health checks costs no
//! journal reads.

use super::routes::EcrState;
use crate::metrics::{DeviceSample, OfflineSample, QueueSample, Scrape};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use posagent_ecr_api::{AcquirerStatus, Health, HealthProblem};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How old a `/health` answer may be.
pub const HEALTH_CACHE: Duration = Duration::from_millis(500);

/// The last `/health` answer and when it was made; where the journal lives and the
/// store's currency (for `/metrics`).
#[derive(Debug)]
pub struct HealthCache {
    data_dir: PathBuf,
    currency: String,
    last: Mutex<Option<(Instant, StatusCode, Health)>>,
}

impl HealthCache {
    /// A cache for a daemon whose journal is in `data_dir`, selling in `currency`.
    pub fn new(data_dir: PathBuf, currency: &str) -> Self {
        HealthCache { data_dir, currency: currency.to_string(), last: Mutex::new(None) }
    }
}

/// `/health`: the status, the failing parts, the devices, the acquirer and the queue.
pub async fn health(State(s): State<EcrState>) -> Response {
    let (status, body) = cached(&s).await;
    (status, axum::Json(body)).into_response()
}

/// The health as `/health` answers it, from the same cache, for the fleet link.
pub async fn snapshot(s: &EcrState) -> Health {
    cached(s).await.1
}

/// The last answer while younger than [`HEALTH_CACHE`], else a new one (kept).
async fn cached(s: &EcrState) -> (StatusCode, Health) {
    let mut cached = s.health.last.lock().await;
    if let Some((at, status, body)) = cached.as_ref()
        && at.elapsed() < HEALTH_CACHE
    {
        return (*status, body.clone());
    }
    let (status, body) = health_now(s).await;
    *cached = Some((Instant::now(), status, body.clone()));
    (status, body)
}

fn problem(part: &str, reason: impl Into<String>) -> HealthProblem {
    HealthProblem { part: part.to_string(), reason: reason.into() }
}

/// Every device's state: display, printer, and the card reader if there is one.
fn device_health(s: &EcrState) -> Vec<crate::devices::DeviceHealth> {
    [s.display.health(), s.printer.health()].into_iter().chain(s.card_reader.as_ref().map(|c| c.health())).collect()
}

async fn health_now(s: &EcrState) -> (StatusCode, Health) {
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
    if !online && s.checkout.sells_offline() {
        let why = "the acquirer does not answer: card payments within the offline limits only, Klarna not offered";
        problems.push(problem("acquirer", why));
    } else if !online {
        down = true;
        let why = "the acquirer does not answer and this terminal takes no payment offline (no card reader, or offline.card_payments = false): no sale can be taken";
        problems.push(problem("acquirer", why));
    }
    let queue = match s.outbox.journal().queue_summary().await {
        Ok(q) => {
            if q.dead > 0 {
                let why = format!("{} operations refused by the acquirer for good; see `posagent queue list`", q.dead);
                problems.push(problem("queue", why));
            }
            Some(super::wire::queue_summary(q))
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
    let body = Health {
        status: status.to_string(),
        problems,
        devices: devices.into_iter().map(super::wire::device).collect(),
        acquirer: AcquirerStatus { online },
        queue,
    };
    (if down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }, body)
}

/// Prometheus metrics (no token: read-only, no secrets, loopback or the metrics listener).
pub async fn metrics(State(s): State<EcrState>) -> Response {
    let scrape = scrape(&s).await;
    let body = s.metrics.render(&scrape);
    ([(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response()
}

/// What `/metrics` reads at each scrape: devices, queue, acquirer, disk, offline payments.
async fn scrape(s: &EcrState) -> Scrape {
    let devices = device_health(s)
        .into_iter()
        .map(|h| DeviceSample {
            device: h.device,
            endpoint: h.endpoint.clone(),
            up: h.connected && h.last_error.is_none() && h.fault.is_none(),
            conditions: h.known_conditions().iter().map(|c| (*c, h.conditions.contains(c))).collect(),
        })
        .collect();
    let journal = s.outbox.journal();
    let queue = match journal.queue_summary().await {
        Ok(q) => Some(QueueSample {
            depth: q.pending,
            oldest_age: q
                .oldest_pending_ms
                .map(|t| Duration::from_millis((crate::domain::now_ms() - t).max(0) as u64))
                .unwrap_or_default(),
            dead: q.dead,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the outbox for /metrics");
            None
        }
    };
    let mut offline = vec![OfflineSample { currency: s.health.currency.clone(), amount_minor: 0, count: 0 }];
    match journal.offline_exposure_by_currency().await {
        Ok(waiting) => {
            for (currency, e) in waiting {
                let sample = OfflineSample { currency, amount_minor: e.total, count: e.count };
                match offline.iter_mut().find(|o| o.currency == sample.currency) {
                    Some(o) => *o = sample,
                    None => offline.push(sample),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the offline payments for /metrics"),
    }
    let data_dir_free_bytes =
        rustix::fs::statvfs(&s.health.data_dir).ok().map(|v| v.f_bavail.saturating_mul(v.f_frsize));
    let counters = s.card_reader.as_ref().map(|r| card_reader_counters(r.counters())).unwrap_or_default();
    Scrape {
        devices,
        queue,
        acquirer_up: s.checkout.acquirer_online(),
        clock_offset_seconds: s.checkout.acquirer_clock_offset(),
        offline,
        data_dir_free_bytes,
        counters,
    }
}

/// The card reader's counters as Prometheus counters.
fn card_reader_counters(c: &crate::devices::ReaderCounters) -> Vec<(&'static str, &'static str, u64)> {
    let help = |kind: &str| match kind {
        "discarded" => (
            "posagent_card_reader_discarded_events",
            "Reader events discarded: another transaction's, a read crossing a cancel, before any sale.",
        ),
        "duplicate" => ("posagent_card_reader_duplicate_frames", "Frames the reader sent again (dropped)."),
        "damaged" => ("posagent_card_reader_damaged_frames", "Damaged or partial frames from the reader (NAKed)."),
        "resent" => ("posagent_card_reader_resent_frames", "Frames the host sent the reader again."),
        _ => ("posagent_card_reader_read_retries", "Card reads the customer was asked to try again."),
    };
    c.snapshot()
        .into_iter()
        .map(|(kind, v)| {
            let (name, text) = help(kind);
            (name, text, v)
        })
        .collect()
}
