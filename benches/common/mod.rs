//! What the end-to-end benchmarks share: a count from the environment, the daemon
//! started on the embedded simulator in a temporary directory, and the percentiles of
//! their samples.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "simulator")]
use posagent::daemon::{SimulatedDaemon, start_simulated};
use std::time::Duration;
#[cfg(feature = "simulator")]
use tokio_util::sync::CancellationToken;

/// `name` from the environment as a count, else `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The daemon on the simulator, in `dir`, until `stop` (benches/fleet_links.rs, which
/// needs no simulator, builds without the feature too).
#[cfg(feature = "simulator")]
pub async fn simulated(dir: &tempfile::TempDir, stop: &CancellationToken) -> SimulatedDaemon {
    start_simulated(
        &dir.path().join("data"),
        &dir.path().join("sim"),
        "127.0.0.1:0".parse().unwrap(),
        None,
        false,
        stop.clone(),
    )
    .await
    .unwrap()
}

/// The `q` quantile (0 to 1) of `sorted` samples, by rank: the sample at `len × q`, the
/// last one for `q = 1`.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// `name: n=… p50=… p90=… p99=… max=…` of latency samples, the line the benchmarks print
/// and docs/performance.md quotes.
pub fn latency_line(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let at = |q| quantile(&samples, q);
    format!(
        "{name}: n={} p50={:.2?} p90={:.2?} p99={:.2?} max={:.2?}",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    )
}
