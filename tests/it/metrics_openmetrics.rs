//! `/metrics` as a Prometheus server reads it: every scrape parsed by the Prometheus
//! project's own OpenMetrics parser (Python `prometheus_client`, pinned, in a venv under
//! the target dir) with the naming conventions checked (tests/oracles/openmetrics_check.py),
//! on the monitoring listener (`metrics.listen`, which serves nothing of the payment API).
//! Checked: counters there at 0 before anything happened, the terminal's identity, disk
//! free, the acquirer's clock offset after its first answer, a sale counted, and the
//! offline payments waiting per currency.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::eventually::{Seen, eventually_seen};
use common::Harness;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const PARSER: &str = "prometheus-client==0.26.0";

/// The venv with the pinned parser (made once per target dir).
fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openmetrics-venv");
    let stamp = venv.join(".pinned");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(PARSER) {
        let _ = std::fs::remove_dir_all(&venv);
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().expect("python3 with venv");
        assert!(made.success(), "python3 -m venv failed");
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", PARSER])
            .status()
            .expect("pip");
        assert!(pip.success(), "pip install {PARSER} failed");
        std::fs::write(&stamp, PARSER).unwrap();
    }
    venv.join("bin/python")
}

/// The scrape at `url`, checked by the oracle: its families by name.
async fn scrape(url: &str) -> Value {
    let r = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let text = r.text().await.unwrap();
    let mut child = Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/openmetrics_check.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n--- the scrape:\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["families"].clone()
}

/// The value of `sample` with exactly `labels` in `families`.
fn value(families: &Value, family: &str, sample: &str, labels: Value) -> Option<f64> {
    families[family]["samples"]
        .as_array()?
        .iter()
        .find(|s| s[0] == sample && s[1] == labels)
        .and_then(|s| s[2].as_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_server_reads_every_scrape_from_the_monitoring_listener() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        c.acquirer.timeout_ms = 1000;
    })
    .await;
    let url = h.daemon.as_ref().unwrap().metrics_url.clone().expect("the monitoring listener runs");

    // The payment API is not there, not even with the token.
    let api = h.http.get(format!("{url}/v1/sales/x")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(api.status(), 404);
    let health = h.http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let m = scrape(&url).await;
    for (method, result) in [("KLARNA", "APPROVED"), ("CARD", "DECLINED"), ("CARD", "FAILED")] {
        let labels = json!({"method": method, "result": result});
        assert_eq!(value(&m, "posagent_sales", "posagent_sales_total", labels), Some(0.0), "{m}");
    }
    let refused = json!({"kind": "CAPTURE", "result": "DEAD"});
    assert_eq!(value(&m, "posagent_queue_operations", "posagent_queue_operations_total", refused), Some(0.0));
    let who = json!({"store": "sim-store-0001", "terminal": "SIM01", "model": "simulator"});
    assert_eq!(value(&m, "posagent_terminal", "posagent_terminal_info", who), Some(1.0), "{m}");
    assert_eq!(m["posagent_sale_duration_seconds"]["type"], "histogram");
    assert!(value(&m, "posagent_data_dir_free_bytes", "posagent_data_dir_free_bytes", json!({})).unwrap() > 0.0);
    let sek = json!({"currency": "SEK"});
    let pending = |m: &Value| {
        value(
            m,
            "posagent_offline_pending_amount_minor_units",
            "posagent_offline_pending_amount_minor_units",
            sek.clone(),
        )
    };
    assert_eq!(pending(&m), Some(0.0), "the store's currency is always there");

    // A Klarna sale: counted; the acquirer has answered, its clock is known.
    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    assert_eq!(h.customer("approve").await.0, 200);
    h.wait_state(&id, "APPROVED").await;
    let m = scrape(&url).await;
    let approved = json!({"method": "KLARNA", "result": "APPROVED"});
    assert_eq!(value(&m, "posagent_sales", "posagent_sales_total", approved), Some(1.0), "{m}");
    let offset =
        value(&m, "posagent_acquirer_clock_offset_seconds", "posagent_acquirer_clock_offset_seconds", json!({}))
            .expect("the acquirer's clock offset after its first answer");
    assert!(offset.abs() <= 2.0, "the simulator runs on this machine's clock: {offset}");

    // The acquirer unreachable: a card payment approved offline waits, counted per currency.
    let faults = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&json!({"partition": true}));
    assert!(faults.send().await.unwrap().status().is_success());
    let sale = h.create(json!({"amount": 1250, "currency": "SEK", "method": "CARD"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "AWAITING_CARD").await;
    h.present_card_when_waiting("approve", "tap").await;
    let done = h.wait_for(&id, |s| s["state"] == "APPROVED").await;
    assert_eq!(done["offline"], "QUEUED", "{done}");
    let m = eventually_seen("the offline payment to show", Duration::from_secs(10), || async {
        let m = scrape(&url).await;
        let count = value(&m, "posagent_offline_pending_payments", "posagent_offline_pending_payments", sek.clone());
        if pending(&m) == Some(1250.0) && count == Some(1.0) { Seen::Done(m) } else { Seen::Not(m) }
    })
    .await;
    assert_eq!(value(&m, "posagent_acquirer_up", "posagent_acquirer_up", json!({})), Some(0.0));
}
