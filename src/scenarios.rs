//! `posagent scenario FILE…`: runs scenario files (see `posagent_sim::scenario`), each
//! against a fresh daemon on a fresh simulator in a temporary data directory.

use crate::daemon::{DaemonError, start_simulated};
use posagent_sim::scenario::{self, Endpoints, Report, ScenarioError};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Why a scenario could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The file is unreadable or invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The daemon did not start.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// The temporary directory could not be made.
    #[error("cannot create a temporary data directory: {0}")]
    TempDir(#[source] std::io::Error),
}

/// Runs one scenario file in isolation and returns its report.
pub async fn run_isolated(path: &Path) -> Result<Report, RunError> {
    let scenario = scenario::load(path)?;
    let dir = std::env::temp_dir().join(format!("posagent-scenario-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(RunError::TempDir)?;
    let stop = CancellationToken::new();
    let result = async {
        let running = start_simulated(
            &dir.join("data"),
            &dir.join("sim"),
            "127.0.0.1:0".parse().map_err(|_| RunError::TempDir(std::io::Error::other("address")))?,
            None,
            false,
            stop.clone(),
        )
        .await?;
        let key = crate::ecr::read_token(&dir.join("data/acquirer.key"))
            .map_err(|source| DaemonError::Secret { path: dir.join("data/acquirer.key"), source })?;
        let endpoints = Endpoints {
            ecr_url: running.daemon.ecr_url.clone(),
            ecr_token: running.daemon.ecr_token.clone(),
            sim_url: running.sim.backend_url.clone(),
            acquirer_key: key,
        };
        let report = scenario::run(&scenario, &endpoints).await;
        running.daemon.hurry_handle().cancel();
        running.daemon.stop().await;
        Ok(report)
    }
    .await;
    stop.cancel();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
