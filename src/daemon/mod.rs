//! Wiring and lifecycle in two phases: `build` opens and checks everything (journal,
//! secrets, devices, acquirer client, services, listeners) and `spawn` starts what runs
//! on one task tracker, resumes open sales and reports ready; `stop` stops in order. With the
//! `simulator` feature, `simulated.rs` starts the same daemon on the embedded simulator.

mod build;
mod facts;
mod notify;
mod reload;
#[cfg(feature = "simulator")]
mod simulated;
mod spawn;

pub use facts::DaemonFacts;
pub use reload::ReloadHandle;

#[cfg(feature = "simulator")]
pub use simulated::{
    SimulatedDaemon, simulated_line_display_profile, simulated_profile, simulated_store_config, start_simulated,
    start_simulator,
};

use crate::backend::BackendError;
use crate::checkout::{Checkout, CheckoutError};
use crate::config::{DeviceProfile, StoreConfig};
use crate::devices::{CardReaderService, DisplayService, PrinterService};
use crate::store::StoreError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a stop waits, at the end, for tasks still running (a return receipt being
/// printed); they are left behind after it.
const TASKS_GRACE: Duration = Duration::from_secs(5);

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The ZVT terminal could not start.
    #[error(transparent)]
    Zvt(#[from] crate::zvt::ZvtError),
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}: {source}; check permissions or pass --data-dir")]
    DataDir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A secret file is missing, unreadable or too open.
    #[error("cannot use the secret file {path}: {source}")]
    Secret {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The ECR API's certificate or key does not load.
    #[error(
        "ECR API TLS ({path}): {message}; give a PEM certificate chain in ecr.tls_cert_file and its private key in ecr.tls_key_file"
    )]
    EcrTls {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The event signing keys file does not parse.
    #[error("{path}: {message}; one `KEY_ID HEX_SECRET` per line, as the acquirer issued them")]
    SigningKeys {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The journal cannot be opened.
    #[error(transparent)]
    Journal(#[from] StoreError),
    /// The acquirer client cannot be set up.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The store's logo cannot be used.
    #[error("cannot use the receipt logo {path}: {message}; fix store.logo or remove it")]
    Logo {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A device owner thread cannot start.
    #[error("cannot start the {device} thread: {source}")]
    Device {
        /// Device.
        device: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The ECR API cannot listen.
    #[error("cannot listen on {addr} for the ECR API: {source}; is another posagent running? change ecr.listen")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The ECR API would be exposed in a way the config does not allow.
    #[error("{key}: {message}")]
    Exposure {
        /// The config key to change.
        key: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Resuming open sales failed.
    #[error(transparent)]
    Resume(#[from] CheckoutError),
}

/// A running daemon.
pub struct Daemon {
    /// Base URL of the ECR API.
    pub ecr_url: String,
    /// The register's bearer token.
    pub ecr_token: String,
    /// Where the token lives.
    pub ecr_token_file: PathBuf,
    /// The checkout.
    pub checkout: Checkout,
    /// Base URL of the monitoring listener (`metrics.listen`), if there is one.
    pub metrics_url: Option<String>,
    /// Where ZVT registers connect (`[zvt] listen`, bound).
    pub zvt_addrs: Vec<SocketAddr>,
    shutdown: CancellationToken,
    running: spawn::Running,
    devices: (DisplayService, PrinterService, Option<CardReaderService>),
    grace: Duration,
    hurry: CancellationToken,
    facts: DaemonFacts,
}

impl Daemon {
    /// Builds everything (nothing runs if that fails), then starts it; the daemon stops
    /// when `shutdown` fires.
    pub async fn start(
        config: StoreConfig,
        profile: DeviceProfile,
        shutdown: CancellationToken,
    ) -> Result<Daemon, DaemonError> {
        // The daemon's own token: a start that fails half-way stops what it started.
        let stop = shutdown.child_token();
        let parts = build::build(config, profile, &stop).await?;
        let started = spawn::spawn(parts, stop.clone()).await;
        if started.is_err() {
            stop.cancel();
        }
        started
    }

    /// Applies a reloaded config (SIGHUP).
    pub fn reload_handle(&self) -> ReloadHandle {
        self.facts.reload.clone()
    }

    /// What the daemon tells about itself (the fleet link reads it).
    pub fn facts(&self) -> DaemonFacts {
        self.facts.clone()
    }

    /// Cancelling this cuts the grace period of a stop short (a second SIGTERM).
    pub fn hurry_handle(&self) -> CancellationToken {
        self.hurry.clone()
    }

    /// Stops in order: refuses new sales; lets the sale in progress finish, receipt
    /// included (up to `limits.shutdown_grace_secs`; a sale still open then is journaled
    /// and resumes at the next start); stops the flows, the sync worker and the API;
    /// waits for the printer and checkpoints the journal; closes the devices. Each step
    /// is logged with `shutdown_step`.
    pub async fn stop(self) {
        notify::stopping();
        self.shut_down().await;
    }

    /// Stops as [`Daemon::stop`] does, telling the service manager it restarts in the
    /// same process (the caller `exec`s itself to run a new configuration).
    pub async fn stop_to_restart(self) {
        notify::reloading();
        self.shut_down().await;
    }

    async fn shut_down(self) {
        tracing::info!(shutdown_step = "refuse", "stopping: new sales are refused");
        self.checkout.begin_drain();
        let finished = tokio::select! {
            done = self.checkout.wait_sales(self.grace) => done,
            () = self.hurry.cancelled() => false,
        };
        if finished {
            tracing::info!(shutdown_step = "sales", "stopping: the sale in progress finished");
        } else {
            tracing::warn!(
                shutdown_step = "sales",
                grace_secs = self.grace.as_secs(),
                "stopping: a sale is still open after the grace period; it is journaled and resumes at the next start"
            );
        }
        self.shutdown.cancel();
        self.checkout.wait_idle().await;
        let running = self.running;
        let _ = running.sync.await;
        let _ = running.events.await;
        if let Some(w) = running.watchdog {
            let _ = w.await;
        }
        let (display, printer, card_reader) = &self.devices;
        let held = printer.flush().await;
        if let Err(e) = self.checkout.journal().checkpoint().await {
            tracing::warn!(error = %e, "cannot checkpoint the journal");
        }
        tracing::info!(shutdown_step = "flush", held_receipts = held, "stopping: printer done, journal checkpointed");
        display.close().await;
        printer.close().await;
        if let Some(r) = card_reader {
            r.close().await;
        }
        tracing::info!(shutdown_step = "devices", "stopping: devices closed");
        let _ = running.server.await;
        if let Some(task) = running.monitoring {
            let _ = task.await;
        }
        running.tasks.close();
        if tokio::time::timeout(TASKS_GRACE, running.tasks.wait()).await.is_err() {
            tracing::warn!(tasks = running.tasks.len(), "stopping: tasks still running are left behind");
        }
        tracing::info!(shutdown_step = "stopped", "stopped");
    }
}

/// Creates `dir` (mode 0700 on Unix) if missing.
pub fn create_private_dir(dir: &std::path::Path) -> Result<(), DaemonError> {
    let err = |source| DaemonError::DataDir { path: dir.to_path_buf(), source };
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(err)?;
    }
    Ok(())
}

/// Writes a secret file with mode 0600 (replacing it).
pub fn write_secret(path: &std::path::Path, value: &str) -> Result<(), DaemonError> {
    use std::io::Write;
    let err = |source| DaemonError::Secret { path: path.to_path_buf(), source };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(value.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}
