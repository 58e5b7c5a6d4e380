//! The outside world against the daemon: the acquirer's network faults switched every few
//! hundred milliseconds to a few seconds (back to none too: the network comes back
//! without a restart), and SIGKILL at random moments, with the journal's integrity
//! checked after every kill before the daemon starts again.

use super::link::Endpoint;
use crate::common::process::{Daemon, Setup, start_daemon};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// No fault at all: every field of `POST /sim/faults` (a POST sets them all; a field
/// left out is off).
pub fn no_faults() -> Value {
    json!({"latency_ms": 0, "error_5xx_rate": 0.0, "error_5xx_path": null, "rate_limit_next": 0,
           "retry_after_secs": 0, "drop_response_next": 0, "partition": false, "partition_posts": false})
}

/// An outage (a partition longer than a card authorization may take) at most this often.
const OUTAGE_EVERY: Duration = Duration::from_secs(60);

/// Paths `error_5xx_path` narrows the server errors to.
const PATHS_5XX: [&str; 6] = [
    "/v1/payments/authorize",
    "/v1/payment-transactions",
    "/v1/batches",
    "/v1/payment-requests",
    "/v1/klarna/availability",
    "/v1/payments/reversals",
];

/// One fault set, by name, and how long it lasts (ms); an outage only when `outage_due`.
fn pick(rng: &mut fastrand::Rng, outage_due: bool) -> (&'static str, Value, u64) {
    let mut f = no_faults();
    let roll = if outage_due && rng.u32(0..10) < 3 { 100 } else { rng.u32(0..100) };
    let name = match roll {
        0..=39 => "none",
        40..=49 => {
            f["latency_ms"] = json!(rng.u64(50..=800));
            "latency"
        }
        50..=55 => {
            f["error_5xx_rate"] = json!(f64::from(rng.u32(20..=60)) / 100.0);
            "5xx"
        }
        56..=61 => {
            f["error_5xx_rate"] = json!(f64::from(rng.u32(30..=100)) / 100.0);
            f["error_5xx_path"] = json!(PATHS_5XX[rng.usize(..PATHS_5XX.len())]);
            "5xx_path"
        }
        62..=67 => {
            f["rate_limit_next"] = json!(rng.u32(1..=4));
            f["retry_after_secs"] = json!(rng.u32(0..=1));
            "rate_limit"
        }
        68..=79 => {
            f["drop_response_next"] = json!(rng.u32(1..=3));
            "drop_response"
        }
        80..=85 => {
            f["partition"] = json!(true);
            "partition"
        }
        86..=91 => {
            f["partition_posts"] = json!(true);
            "partition_posts"
        }
        92..=99 => {
            f["latency_ms"] = json!(rng.u64(50..=400));
            f["drop_response_next"] = json!(rng.u32(1..=2));
            f["error_5xx_rate"] = json!(0.2);
            "mixed"
        }
        _ => {
            f["partition"] = json!(true);
            "outage"
        }
    };
    // An outage outlasts a card authorization's budget (8 s): the terminal approves
    // offline and queues; the other faults come and go within a payment's retries.
    let lasts = match name {
        "outage" => rng.u64(9_000..=10_000),
        "partition" | "partition_posts" => rng.u64(150..=1_500),
        _ => rng.u64(150..=2_000),
    };
    (name, f, lasts)
}

pub async fn post_faults(http: &reqwest::Client, backend: &str, faults: &Value) {
    let r = http.post(format!("{backend}/sim/faults")).json(faults).send().await.unwrap();
    assert!(r.status().is_success(), "faults refused: {}", r.status());
}

/// Switches faults until `stop`; how often each set was switched on.
pub async fn switch_faults(
    http: reqwest::Client,
    backend: String,
    stop: Arc<AtomicBool>,
    mut rng: fastrand::Rng,
) -> BTreeMap<&'static str, usize> {
    let mut switched = BTreeMap::new();
    let mut last_outage = tokio::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let (name, faults, lasts) = pick(&mut rng, last_outage.elapsed() > OUTAGE_EVERY);
        if name == "outage" {
            last_outage = tokio::time::Instant::now();
        }
        post_faults(&http, &backend, &faults).await;
        super::log(format!("FAULTS {name} for {lasts} ms: {faults}"));
        *switched.entry(name).or_default() += 1;
        let until = tokio::time::Instant::now() + Duration::from_millis(lasts);
        while tokio::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    post_faults(&http, &backend, &no_faults()).await;
    switched
}

/// `PRAGMA integrity_check` on the journal, read-only (nothing checkpointed, the WAL left
/// as the killed process left it).
pub fn integrity(data: &Path) -> String {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = match rusqlite::Connection::open_with_flags(data.join("posagent.db"), flags) {
        Ok(db) => db,
        Err(e) => return format!("cannot open: {e}"),
    };
    let rows: Result<Vec<String>, _> =
        db.prepare("PRAGMA integrity_check").and_then(|mut st| st.query_map([], |r| r.get(0))?.collect());
    match rows {
        Ok(rows) => rows.join("; "),
        Err(e) => format!("cannot check: {e}"),
    }
}

/// The daemon's process, restarted after each kill.
pub struct Killer {
    pub setup: Arc<Setup>,
    pub daemon: Option<Daemon>,
    pub endpoint: watch::Sender<Option<Endpoint>>,
    pub generation: u64,
    pub kills: usize,
    /// Kills aimed at a register command on the wire.
    pub aimed: usize,
    pub integrity_failures: Vec<String>,
}

impl Killer {
    pub async fn start(setup: Arc<Setup>) -> Killer {
        let (endpoint, _) = watch::channel(None);
        let mut k =
            Killer { setup, daemon: None, endpoint, generation: 0, kills: 0, aimed: 0, integrity_failures: vec![] };
        k.restart().await;
        k
    }

    pub async fn restart(&mut self) {
        let s = self.setup.clone();
        let d = tokio::task::spawn_blocking(move || start_daemon(&s)).await.unwrap();
        self.generation += 1;
        super::log(format!("START generation {} at {}", self.generation, d.url));
        self.endpoint.send_replace(Some(Endpoint {
            url: d.url.clone(),
            token: d.token.clone(),
            generation: self.generation,
        }));
        self.daemon = Some(d);
    }

    /// SIGKILL, then the journal's integrity, then a new start.
    pub async fn kill_and_restart(&mut self) {
        self.endpoint.send_replace(None);
        if let Some(mut d) = self.daemon.take() {
            d.child.kill().unwrap();
            d.child.wait().unwrap();
        }
        self.kills += 1;
        super::log(format!("KILL {} (generation {})", self.kills, self.generation));
        let check = integrity(&self.setup.data);
        if check != "ok" {
            self.integrity_failures.push(format!("after kill {}: {check}", self.kills));
        }
        self.restart().await;
    }

    /// Kills `kills` times, spread over `operations` register operations (counted in
    /// `ops`), each a random moment after its turn came — half of the time aimed at a
    /// register command on the wire (`posts`), a few milliseconds into it.
    pub async fn run(
        &mut self,
        ops: Arc<AtomicUsize>,
        posts: Arc<AtomicUsize>,
        done: Arc<AtomicBool>,
        plan: (usize, usize),
        mut rng: fastrand::Rng,
    ) {
        let (kills, operations) = plan;
        let gap = (operations / (kills + 1)).max(1);
        for i in 0..kills {
            let at = (i + 1) * gap + rng.usize(0..=gap / 2) - gap / 4;
            while ops.load(Ordering::Relaxed) < at && !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if done.load(Ordering::Relaxed) {
                return;
            }
            let aim = tokio::time::Instant::now() + Duration::from_secs(5);
            if rng.bool() {
                while posts.load(Ordering::Relaxed) == 0 && tokio::time::Instant::now() < aim {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(Duration::from_millis(rng.u64(0..30))).await;
                self.aimed += 1;
            } else {
                tokio::time::sleep(Duration::from_millis(rng.u64(0..400))).await;
            }
            self.kill_and_restart().await;
        }
    }

    /// Stops the daemon with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            std::process::Command::new("kill").args(["-TERM", &d.child.id().to_string()]).status().unwrap();
            d.child.wait().unwrap();
        }
    }
}
