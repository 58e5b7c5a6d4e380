//! Prometheus metrics: sales by method and result, sale and acquirer-call latencies,
//! acquirer errors, returns, and device state. Rendered in the text exposition format
//! at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histograms.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 120.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += s;
    }
}

#[derive(Default)]
struct Inner {
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

/// The daemon's metrics (shared; cheap to update).
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect::<Vec<_>>()
        .join(",")
}

const HELP: &[(&str, &str, &str)] = &[
    ("posagent_sales_total", "counter", "Sales that reached a final state, by method and result."),
    ("posagent_sale_duration_seconds", "histogram", "Time from the register's request to the sale's final state."),
    ("posagent_acquirer_requests_total", "counter", "Calls to the acquirer, by operation and outcome."),
    ("posagent_acquirer_request_duration_seconds", "histogram", "Latency of calls to the acquirer (retries included)."),
    ("posagent_returns_total", "counter", "Returns, by state."),
    (
        "posagent_offline_approvals_total",
        "counter",
        "Card payments approved by the terminal while the acquirer was unreachable.",
    ),
    (
        "posagent_queue_operations_total",
        "counter",
        "Queued operations finished by the sync worker, by kind and result (DONE or DEAD).",
    ),
    (
        "posagent_acquirer_events_total",
        "counter",
        "Events read from the acquirer's stream, by outcome (applied, or refused: a page failing its signature check).",
    ),
];

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts a sale's final state and its duration.
    pub fn sale_finished(&self, method: &str, result: &str, took: Duration) {
        self.with(|m| {
            *m.counters
                .entry(("posagent_sales_total", labels(&[("method", method), ("result", result)])))
                .or_default() += 1;
            m.histograms
                .entry(("posagent_sale_duration_seconds", labels(&[("method", method)])))
                .or_default()
                .observe(took);
        });
    }

    /// Counts an acquirer call.
    pub fn acquirer_call(&self, operation: &str, outcome: &str, took: Duration) {
        self.with(|m| {
            *m.counters
                .entry(("posagent_acquirer_requests_total", labels(&[("operation", operation), ("outcome", outcome)])))
                .or_default() += 1;
            m.histograms
                .entry(("posagent_acquirer_request_duration_seconds", labels(&[("operation", operation)])))
                .or_default()
                .observe(took);
        });
    }

    /// Counts a card payment approved offline.
    pub fn offline_approved(&self) {
        self.with(|m| *m.counters.entry(("posagent_offline_approvals_total", String::new())).or_default() += 1);
    }

    /// Counts a queued operation the sync worker finished.
    pub fn queue_finished(&self, kind: &str, result: &str) {
        self.with(|m| {
            *m.counters
                .entry(("posagent_queue_operations_total", labels(&[("kind", kind), ("result", result)])))
                .or_default() += 1
        });
    }

    /// Counts `n` events of the acquirer's stream with their outcome.
    pub fn acquirer_events(&self, outcome: &str, n: u64) {
        self.with(|m| {
            *m.counters.entry(("posagent_acquirer_events_total", labels(&[("outcome", outcome)]))).or_default() += n
        });
    }

    /// Counts a return.
    pub fn return_done(&self, state: &str) {
        self.with(|m| *m.counters.entry(("posagent_returns_total", labels(&[("state", state)]))).or_default() += 1);
    }

    /// The exposition text, with `gauges` (name, help, labels, value) appended.
    pub fn render(&self, gauges: &[(&str, &str, String, f64)]) -> String {
        self.render_with(gauges, &[])
    }

    /// As [`Self::render`], with counters kept elsewhere (name, help, value) appended.
    pub fn render_with(&self, gauges: &[(&str, &str, String, f64)], counters: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        self.with(|m| {
            for (name, kind, help) in HELP {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for ((n, l), v) in m.counters.iter().filter(|((n, _), _)| n == name) {
                    let _ = writeln!(out, "{n}{{{l}}} {v}");
                }
                for ((n, l), h) in m.histograms.iter().filter(|((n, _), _)| n == name) {
                    let sep = if l.is_empty() { "" } else { "," };
                    for (i, b) in BUCKETS.iter().enumerate() {
                        let _ = writeln!(out, "{n}_bucket{{{l}{sep}le=\"{b}\"}} {}", h.counts[i]);
                    }
                    let _ = writeln!(out, "{n}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
                    let _ = writeln!(out, "{n}_sum{{{l}}} {}", h.sum);
                    let _ = writeln!(out, "{n}_count{{{l}}} {}", h.count);
                }
            }
        });
        let mut last = "";
        for (name, help, labels, value) in gauges {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                last = name;
            }
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
        out
    }
}

/// Label text for gauges.
pub fn gauge_labels(pairs: &[(&str, &str)]) -> String {
    labels(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_so_no_line_can_be_forged() {
        assert_eq!(
            labels(&[("route", "a\"b\\c\nposagent_acquirer_up NaN")]),
            r#"route="a\"b\\c\nposagent_acquirer_up NaN""#
        );
    }

    #[test]
    fn exposition_format() {
        let m = Metrics::default();
        m.sale_finished("KLARNA", "APPROVED", Duration::from_millis(30));
        m.sale_finished("KLARNA", "APPROVED", Duration::from_secs(3));
        let text = m.render(&[(
            "posagent_device_up",
            "Whether the device is open.",
            gauge_labels(&[("device", "printer")]),
            1.0,
        )]);
        assert!(text.contains("posagent_sales_total{method=\"KLARNA\",result=\"APPROVED\"} 2\n"), "{text}");
        assert!(text.contains("posagent_sale_duration_seconds_bucket{method=\"KLARNA\",le=\"0.05\"} 1\n"), "{text}");
        assert!(text.contains("posagent_sale_duration_seconds_bucket{method=\"KLARNA\",le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("posagent_sale_duration_seconds_count{method=\"KLARNA\"} 2\n"), "{text}");
        assert!(text.contains("# TYPE posagent_device_up gauge\nposagent_device_up{device=\"printer\"} 1\n"), "{text}");
    }
}
