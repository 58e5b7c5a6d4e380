//! Prometheus metrics (prometheus-client, OpenMetrics text): sales by method and result,
//! sale and acquirer-call latencies, acquirer errors, returns, queued operations, and at
//! each scrape the state of the devices, the queue, the acquirer, the disk and the
//! unforwarded offline payments. Every counter whose labels are known in advance is
//! there from the start at 0 (a rate over a counter that appears late loses its first
//! increase). Label values are escaped: no value can forge a line.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the latency histograms: a Klarna QR may stay up 600 s.
const BUCKETS: [f64; 15] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 120.0, 300.0, 600.0, 900.0];

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Label values known before anything happens, so their counters start at 0.
#[derive(Debug, Clone, Default)]
pub struct KnownLabels {
    /// Payment methods (`KLARNA`, `CARD`).
    pub methods: Vec<&'static str>,
    /// Final sale states.
    pub sale_results: Vec<&'static str>,
    /// Return states.
    pub return_states: Vec<&'static str>,
    /// Kinds of queued operations.
    pub queue_kinds: Vec<&'static str>,
    /// Final states of queued operations.
    pub queue_results: Vec<&'static str>,
}

/// Who this terminal is, on `posagent_terminal_info`.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `store.store_reference`.
    pub store: String,
    /// `store.terminal_reference`.
    pub terminal: String,
    /// The device profile's model.
    pub model: String,
}

/// The daemon's metrics (shared; cheap to update).
#[derive(Debug)]
pub struct Metrics {
    identity: Identity,
    started: f64,
    sales: Family<Labels, Counter>,
    sale_duration: Family<Labels, Histogram, fn() -> Histogram>,
    acquirer_requests: Family<Labels, Counter>,
    acquirer_duration: Family<Labels, Histogram, fn() -> Histogram>,
    returns: Family<Labels, Counter>,
    offline_approvals: Counter,
    queue_operations: Family<Labels, Counter>,
    acquirer_events: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(Identity::default(), &KnownLabels::default())
    }
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// `value` escaped for a label (backslash, double quote, line feed).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, escape(v))).collect()
}

/// A device's state at a scrape.
#[derive(Debug, Clone)]
pub struct DeviceSample {
    /// `display`, `printer`, `card_reader`.
    pub device: &'static str,
    /// Where it is attached.
    pub endpoint: String,
    /// Open, answered its last job, reports no fault.
    pub up: bool,
    /// Every condition the device can report, and whether it does now.
    pub conditions: Vec<(&'static str, bool)>,
}

/// The journal's queue at a scrape.
#[derive(Debug, Clone, Copy)]
pub struct QueueSample {
    /// Operations waiting for the acquirer.
    pub depth: i64,
    /// Age of the oldest of them.
    pub oldest_age: Duration,
    /// Operations refused for good.
    pub dead: i64,
}

/// Unforwarded offline card approvals in one currency.
#[derive(Debug, Clone)]
pub struct OfflineSample {
    /// ISO 4217 code.
    pub currency: String,
    /// Sum, minor units.
    pub amount_minor: i64,
    /// How many.
    pub count: i64,
}

/// What is read at each scrape.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Every device.
    pub devices: Vec<DeviceSample>,
    /// The queue, when the journal answered.
    pub queue: Option<QueueSample>,
    /// Whether the acquirer answered the last call.
    pub acquirer_up: bool,
    /// The acquirer's clock minus ours, from its last `Date` header.
    pub clock_offset_seconds: Option<f64>,
    /// Offline approvals waiting, per currency (the store's currency always).
    pub offline: Vec<OfflineSample>,
    /// Free bytes (for an unprivileged user) of the data directory's file system.
    pub data_dir_free_bytes: Option<u64>,
    /// Counters kept elsewhere (the card reader's): name without `_total`, help, value.
    pub counters: Vec<(&'static str, &'static str, u64)>,
}

impl Metrics {
    /// Metrics of `identity`, with the counters of `known` labels at 0.
    pub fn new(identity: Identity, known: &KnownLabels) -> Self {
        let started =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let m = Metrics {
            identity,
            started,
            sales: Family::default(),
            sale_duration: Family::new_with_constructor(histogram),
            acquirer_requests: Family::default(),
            acquirer_duration: Family::new_with_constructor(histogram),
            returns: Family::default(),
            offline_approvals: Counter::default(),
            queue_operations: Family::default(),
            acquirer_events: Family::default(),
        };
        for method in &known.methods {
            let _ = m.sale_duration.get_or_create(&labels(&[("method", method)]));
            for result in &known.sale_results {
                let _ = m.sales.get_or_create(&labels(&[("method", method), ("result", result)]));
            }
        }
        for state in &known.return_states {
            let _ = m.returns.get_or_create(&labels(&[("state", state)]));
        }
        for kind in &known.queue_kinds {
            for result in &known.queue_results {
                let _ = m.queue_operations.get_or_create(&labels(&[("kind", kind), ("result", result)]));
            }
        }
        for outcome in ["applied", "refused"] {
            let _ = m.acquirer_events.get_or_create(&labels(&[("outcome", outcome)]));
        }
        m
    }

    /// Counts a sale's final state and its duration.
    pub fn sale_finished(&self, method: &str, result: &str, took: Duration) {
        self.sales.get_or_create(&labels(&[("method", method), ("result", result)])).inc();
        self.sale_duration.get_or_create(&labels(&[("method", method)])).observe(took.as_secs_f64());
    }

    /// Counts an acquirer call.
    pub fn acquirer_call(&self, operation: &str, outcome: &str, took: Duration) {
        self.acquirer_requests.get_or_create(&labels(&[("operation", operation), ("outcome", outcome)])).inc();
        self.acquirer_duration.get_or_create(&labels(&[("operation", operation)])).observe(took.as_secs_f64());
    }

    /// Counts a card payment approved offline.
    pub fn offline_approved(&self) {
        self.offline_approvals.inc();
    }

    /// Counts a queued operation the sync worker finished.
    pub fn queue_finished(&self, kind: &str, result: &str) {
        self.queue_operations.get_or_create(&labels(&[("kind", kind), ("result", result)])).inc();
    }

    /// Counts `n` events of the acquirer's stream with their outcome.
    pub fn acquirer_events(&self, outcome: &str, n: u64) {
        self.acquirer_events.get_or_create(&labels(&[("outcome", outcome)])).inc_by(n);
    }

    /// Counts a return.
    pub fn return_done(&self, state: &str) {
        self.returns.get_or_create(&labels(&[("state", state)])).inc();
    }

    /// The exposition text (OpenMetrics, [`CONTENT_TYPE`]) with what `scrape` read.
    pub fn render(&self, scrape: &Scrape) -> String {
        let mut r = Registry::default();
        self.register_events(&mut r);
        register_scrape(&mut r, scrape);
        let info = &self.identity;
        r.register(
            "posagent_build",
            "The running build.",
            Info::new(vec![("version", escape(env!("CARGO_PKG_VERSION")))]),
        );
        r.register(
            "posagent_terminal",
            "Which terminal this is: store and terminal references, device profile model.",
            Info::new(labels(&[("store", &info.store), ("terminal", &info.terminal), ("model", &info.model)])),
        );
        r.register_with_unit(
            "process_start_time",
            "Start time of the process since unix epoch.",
            Unit::Seconds,
            gauge(self.started),
        );
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &r);
        out
    }

    fn register_events(&self, r: &mut Registry) {
        r.register("posagent_sales", "Sales that reached a final state, by method and result.", self.sales.clone());
        r.register_with_unit(
            "posagent_sale_duration",
            "Time from the register's request to the sale's final state.",
            Unit::Seconds,
            self.sale_duration.clone(),
        );
        r.register(
            "posagent_acquirer_requests",
            "Calls to the acquirer, by operation and outcome.",
            self.acquirer_requests.clone(),
        );
        r.register_with_unit(
            "posagent_acquirer_request_duration",
            "Latency of calls to the acquirer (retries included).",
            Unit::Seconds,
            self.acquirer_duration.clone(),
        );
        r.register("posagent_returns", "Returns, by state.", self.returns.clone());
        r.register(
            "posagent_offline_approvals",
            "Card payments approved by the terminal while the acquirer was unreachable.",
            self.offline_approvals.clone(),
        );
        r.register(
            "posagent_queue_operations",
            "Queued operations finished by the sync worker, by kind and result (DONE or DEAD).",
            self.queue_operations.clone(),
        );
        r.register(
            "posagent_acquirer_events",
            "Events read from the acquirer's stream, by outcome (applied, or refused: a page failing its signature check).",
            self.acquirer_events.clone(),
        );
    }
}

fn gauge(value: f64) -> FloatGauge {
    let g = FloatGauge::default();
    g.set(value);
    g
}

fn count(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

fn flag(on: bool) -> i64 {
    i64::from(on)
}

fn register_scrape(r: &mut Registry, s: &Scrape) {
    let up: Family<Labels, Gauge> = Family::default();
    let condition: Family<Labels, Gauge> = Family::default();
    for d in &s.devices {
        up.get_or_create(&labels(&[("device", d.device), ("endpoint", &d.endpoint)])).set(flag(d.up));
        for (name, on) in &d.conditions {
            condition.get_or_create(&labels(&[("device", d.device), ("condition", name)])).set(flag(*on));
        }
    }
    r.register(
        "posagent_device_up",
        "Whether the device is open, answered its last job and reports no fault (paper out, cover open, tamper: 0).",
        up,
    );
    r.register(
        "posagent_device_condition",
        "Whether the device reports this condition now (printer: paper_out, paper_low, cover_open, error; card reader: out_of_service).",
        condition,
    );
    if let Some(q) = s.queue {
        r.register("posagent_queue_depth", "Operations waiting for the acquirer.", count(q.depth));
        r.register_with_unit(
            "posagent_queue_oldest_age",
            "Age of the oldest operation waiting for the acquirer.",
            Unit::Seconds,
            gauge(q.oldest_age.as_secs_f64()),
        );
        r.register(
            "posagent_queue_dead_letters",
            "Operations the acquirer refused for good (see `posagent queue list`).",
            count(q.dead),
        );
    }
    r.register("posagent_acquirer_up", "Whether the acquirer answered the last call.", count(flag(s.acquirer_up)));
    if let Some(offset) = s.clock_offset_seconds {
        r.register_with_unit(
            "posagent_acquirer_clock_offset",
            "The acquirer's clock minus this terminal's, from the Date of its last answer (1 s resolution).",
            Unit::Seconds,
            gauge(offset),
        );
    }
    let amount: Family<Labels, Gauge> = Family::default();
    let payments: Family<Labels, Gauge> = Family::default();
    for o in &s.offline {
        amount.get_or_create(&labels(&[("currency", &o.currency)])).set(o.amount_minor);
        payments.get_or_create(&labels(&[("currency", &o.currency)])).set(o.count);
    }
    r.register(
        "posagent_offline_pending_amount_minor_units",
        "Card payments approved offline and not yet forwarded: their sum in minor units of the currency (ISO 4217).",
        amount,
    );
    r.register("posagent_offline_pending_payments", "Card payments approved offline and not yet forwarded.", payments);
    if let Some(free) = s.data_dir_free_bytes {
        r.register_with_unit(
            "posagent_data_dir_free",
            "Free space of the data directory's file system (for the service user).",
            Unit::Bytes,
            count(i64::try_from(free).unwrap_or(i64::MAX)),
        );
    }
    for (name, help, value) in &s.counters {
        r.register(*name, *help, ConstCounter::new(*value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_so_no_line_can_be_forged() {
        let m = Metrics::default();
        m.acquirer_call("a\"b\\c\nposagent_acquirer_up NaN", "ok", Duration::from_millis(1));
        let text = m.render(&Scrape::default());
        assert!(
            text.contains(
                r#"posagent_acquirer_requests_total{operation="a\"b\\c\nposagent_acquirer_up NaN",outcome="ok"} 1"#
            ),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("posagent_acquirer_up NaN")), "{text}");
    }

    #[test]
    fn exposition_format() {
        let known =
            KnownLabels { methods: vec!["KLARNA"], sale_results: vec!["APPROVED", "DECLINED"], ..Default::default() };
        let m = Metrics::new(Identity { store: "S1".into(), terminal: "T1".into(), model: "sim".into() }, &known);
        m.sale_finished("KLARNA", "APPROVED", Duration::from_millis(30));
        m.sale_finished("KLARNA", "APPROVED", Duration::from_secs(700));
        let scrape = Scrape {
            devices: vec![DeviceSample {
                device: "printer",
                endpoint: "tcp:10.0.0.5:9100".into(),
                up: false,
                conditions: vec![("paper_out", true), ("cover_open", false)],
            }],
            ..Default::default()
        };
        let text = m.render(&scrape);
        for line in [
            "posagent_sales_total{method=\"KLARNA\",result=\"APPROVED\"} 2\n",
            // Known before the first one: there at 0.
            "posagent_sales_total{method=\"KLARNA\",result=\"DECLINED\"} 0\n",
            "posagent_sale_duration_seconds_bucket{le=\"0.05\",method=\"KLARNA\"} 1\n",
            "posagent_sale_duration_seconds_bucket{le=\"900.0\",method=\"KLARNA\"} 2\n",
            "posagent_sale_duration_seconds_count{method=\"KLARNA\"} 2\n",
            "posagent_device_up{device=\"printer\",endpoint=\"tcp:10.0.0.5:9100\"} 0\n",
            "posagent_device_condition{device=\"printer\",condition=\"paper_out\"} 1\n",
            "posagent_device_condition{device=\"printer\",condition=\"cover_open\"} 0\n",
            "posagent_terminal_info{store=\"S1\",terminal=\"T1\",model=\"sim\"} 1\n",
            "posagent_offline_approvals_total 0\n",
            "# TYPE process_start_time_seconds gauge\n",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
