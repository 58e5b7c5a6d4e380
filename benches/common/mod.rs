//! What the end-to-end benchmarks share: a count from the environment, and the daemon
//! started on the embedded simulator in a temporary directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use posagent::daemon::{SimulatedDaemon, start_simulated};
use tokio_util::sync::CancellationToken;

/// `name` from the environment as a count, else `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The daemon on the simulator, in `dir`, until `stop`.
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
