//! Wiring and lifecycle: opens the journal, starts the device owners, the acquirer
//! client, the checkout and the ECR API; resumes open sales; stops in order. With the
//! `simulator` feature, `simulated.rs` starts the same daemon on the embedded simulator.

mod notify;
mod reload;
#[cfg(feature = "simulator")]
mod simulated;

pub use reload::ReloadHandle;

#[cfg(feature = "simulator")]
pub use simulated::{
    SimulatedDaemon, simulated_line_display_profile, simulated_profile, simulated_store_config, start_simulated,
    start_simulator,
};

use crate::backend::{AcquirerClient, BackendError, ClientSettings, RetryPolicy};
use crate::checkout::{Checkout, CheckoutDeps, CheckoutError};
use crate::config::{DeviceProfile, StoreConfig};
use crate::devices::{CardReaderService, DisplayService, PrinterService};
use crate::domain::SharedLimits;
use crate::ecr::{self, EcrState};
use crate::outbox::sync::Publish;
use crate::outbox::sync::SyncSettings;
use crate::outbox::{SyncHandle, SyncWorker};
use crate::store::{Journal, Patched, StoreError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
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
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    monitoring: Option<JoinHandle<()>>,
    sync: JoinHandle<()>,
    events: JoinHandle<()>,
    devices: (DisplayService, PrinterService, Option<CardReaderService>),
    grace: Duration,
    hurry: CancellationToken,
    reload: ReloadHandle,
    watchdog: Option<JoinHandle<()>>,
}

impl Daemon {
    /// Starts everything; the daemon stops when `shutdown` fires.
    pub async fn start(
        config: StoreConfig,
        profile: DeviceProfile,
        shutdown: CancellationToken,
    ) -> Result<Daemon, DaemonError> {
        config.ecr.check_exposure().map_err(|(key, message)| DaemonError::Exposure { key, message })?;
        if !config.ecr.listen.ip().is_loopback() && !config.ecr.tls() {
            tracing::warn!(listen = %config.ecr.listen, "ecr.allow_plain_http is set: the ECR API listens beyond this machine without TLS, so the register's token crosses the network in clear");
        }
        create_private_dir(&config.data_dir)?;
        let api_key = ecr::read_token(&config.acquirer.credentials_file)
            .map_err(|source| DaemonError::Secret { path: config.acquirer.credentials_file.clone(), source })?;
        let journal = Journal::open(&config.data_dir.join("posagent.db"))?;
        let watched = journal.clone();
        let token_file = config.data_dir.join(&config.ecr.token_file);
        let ecr_token = ecr::ensure_token_file(&token_file)
            .map_err(|source| DaemonError::Secret { path: token_file.clone(), source })?;
        let ecr_tls = ecr_tls_config(&config.ecr)?;
        // A network printer's address is the store's to set (`printer_endpoint`).
        let profile = profile.with_store_endpoints(config.printer_endpoint.as_ref())?;
        let display = DisplayService::start(profile.display.clone())
            .map_err(|source| DaemonError::Device { device: "display", source })?;
        let logo = match &config.store.logo {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|source| DaemonError::Logo { path: path.clone(), message: source.to_string() })?;
                let width = usize::from(profile.printer.profile.width_dots);
                let logo = posagent_drivers::printer::Raster::from_png(&bytes, width)
                    .map_err(|e| DaemonError::Logo { path: path.clone(), message: e.to_string() })?;
                Some(logo)
            }
            None => None,
        };
        let printer = PrinterService::start(profile.printer.clone(), logo)
            .map_err(|source| DaemonError::Device { device: "printer", source })?;
        let card_reader = profile
            .card_reader
            .clone()
            .map(CardReaderService::start)
            .transpose()
            .map_err(|source| DaemonError::Device { device: "card reader", source })?;
        let metrics = std::sync::Arc::new(new_metrics(&config, &profile));
        let read_pem = |path: &Option<PathBuf>, secret: bool| -> Result<Option<Vec<u8>>, DaemonError> {
            let read = |p: &PathBuf| if secret { ecr::read_secret_file(p) } else { std::fs::read(p) };
            path.as_ref().map(|p| read(p).map_err(|source| DaemonError::Secret { path: p.clone(), source })).transpose()
        };
        let (ca_pem, client_identity_pem) =
            (read_pem(&config.acquirer.ca_file, false)?, read_pem(&config.acquirer.client_identity_file, true)?);
        // Klarna's badge is fetched with the acquirer's TLS settings (https, or http to
        // this machine when the acquirer is there).
        let badges = crate::assets::Badges::new(
            crate::backend::http_client(
                &config.acquirer.url,
                crate::assets::FETCH_TIMEOUT,
                ca_pem.as_deref(),
                client_identity_pem.as_deref(),
            )?,
            config.data_dir.join("assets"),
        );
        let backend = AcquirerClient::with_settings(ClientSettings {
            base_url: config.acquirer.url.clone(),
            api_key,
            timeout: Duration::from_millis(config.acquirer.timeout_ms),
            ca_pem,
            client_identity_pem,
            retry: RetryPolicy::default(),
            metrics: Some(metrics.clone()),
            event_signing_keys: read_signing_keys(&config.acquirer.event_signing_keys_file)?,
        })?;
        let reports =
            crate::reports::Reports::new(journal.clone(), backend.clone(), printer.clone(), config.store.clone());
        let offline: SharedLimits = std::sync::Arc::new(std::sync::RwLock::new(config.offline.clone()));
        let started_with = std::sync::Arc::new(config.clone());
        let outbox =
            SyncHandle::new(journal.clone(), backend.clone(), SyncSettings::from(&config.sync), metrics.clone());
        let returns = crate::returns::Returns::new(
            journal.clone(),
            backend.clone(),
            printer.clone(),
            config.store.clone(),
            metrics.clone(),
            outbox.clone(),
        );
        let checkout = Checkout::new(CheckoutDeps {
            journal,
            backend: backend.clone(),
            display: display.clone(),
            printer: printer.clone(),
            card_reader: card_reader.clone(),
            store: config.store.clone(),
            limits: config.limits.clone(),
            shutdown: shutdown.clone(),
            metrics: metrics.clone(),
            offline: offline.clone(),
            outbox: outbox.clone(),
            badges,
        });
        let publish: Publish = {
            let checkout = checkout.clone();
            let returns = returns.clone();
            std::sync::Arc::new(move |changed: &Patched| match changed {
                Patched::Sale(sale) => checkout.publish(sale),
                // A return refunded by the worker gets its receipt now (the customer may
                // still be at the till; the register was told 202 PENDING).
                Patched::Return(r) if !r.receipt_printed => {
                    let (returns, record) = (returns.clone(), (**r).clone());
                    tokio::spawn(async move {
                        if let Err(e) = returns.print_completed(record).await {
                            tracing::error!(error = %e, "cannot journal the return receipt");
                        }
                    });
                }
                _ => {}
            })
        };
        let follower = crate::outbox::EventFollower::new(
            outbox.journal().clone(),
            backend.clone(),
            publish.clone(),
            metrics.clone(),
        );
        let worker = SyncWorker::new(&outbox, publish);
        let sync = tokio::spawn(worker.run(shutdown.clone()));
        let events = tokio::spawn(follower.run(shutdown.clone()));
        let listener = tokio::net::TcpListener::bind(config.ecr.listen)
            .await
            .map_err(|source| DaemonError::Listen { addr: config.ecr.listen, source })?;
        let addr = listener.local_addr().map_err(|source| DaemonError::Listen { addr: config.ecr.listen, source })?;
        let state = EcrState {
            checkout: checkout.clone(),
            display: display.clone(),
            printer: printer.clone(),
            card_reader: card_reader.clone(),
            returns,
            metrics,
            reports,
            outbox,
            health: std::sync::Arc::new(ecr::HealthCache::new(config.data_dir.clone(), config.store.currency.code())),
        };
        let monitoring = match config.metrics.listen {
            Some(addr) => {
                Some(serve_monitoring(addr, ecr::monitoring_router(state.clone(), &config.ecr), &shutdown).await?)
            }
            None => None,
        };
        let app = ecr::router(state, ecr_token.clone(), &config.ecr);
        let stop = shutdown.clone();
        let server = match ecr_tls {
            Some(tls) => {
                let listener = ecr::tls::TlsListener::start(listener, tls, shutdown.clone())
                    .map_err(|source| DaemonError::Listen { addr: config.ecr.listen, source })?;
                ecr::serve(ecr::guard::Guarded::new(listener), app, stop)
            }
            None => ecr::serve(ecr::guard::Guarded::new(listener), app, stop),
        };
        let resumed = checkout.resume_open_sales().await?;
        tracing::info!(ecr = %addr, resumed, model = %profile.model, "posagent ready");
        notify::ready(&format!("serving the ECR API on {addr}"));
        let watchdog = notify::spawn_watchdog(watched, shutdown.clone());
        Ok(Daemon {
            ecr_url: config.ecr.local_url(addr.port()),
            ecr_token,
            ecr_token_file: token_file,
            checkout,
            metrics_url: monitoring.as_ref().map(|(addr, _)| format!("http://{addr}")),
            shutdown,
            server,
            monitoring: monitoring.map(|(_, task)| task),
            sync,
            events,
            devices: (display, printer, card_reader),
            grace: Duration::from_secs(config.limits.shutdown_grace_secs),
            hurry: CancellationToken::new(),
            reload: ReloadHandle { offline, started_with },
            watchdog,
        })
    }

    /// Applies a reloaded config (SIGHUP).
    pub fn reload_handle(&self) -> ReloadHandle {
        self.reload.clone()
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
        let _ = self.sync.await;
        let _ = self.events.await;
        if let Some(w) = self.watchdog {
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
        let _ = self.server.await;
        if let Some(task) = self.monitoring {
            let _ = task.await;
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

/// The acquirer's event signing keys from `path`, if the config names a file.
fn read_signing_keys(
    path: &Option<PathBuf>,
) -> Result<Option<posagent_acquirer_api::events::SigningKeys>, DaemonError> {
    let Some(path) = path else { return Ok(None) };
    let bytes = ecr::read_secret_file(path).map_err(|source| DaemonError::Secret { path: path.clone(), source })?;
    posagent_acquirer_api::events::SigningKeys::parse(&String::from_utf8_lossy(&bytes))
        .map(Some)
        .map_err(|message| DaemonError::SigningKeys { path: path.clone(), message })
}

/// The ECR API's TLS settings, if the config asks for HTTPS.
fn ecr_tls_config(
    ecr: &crate::config::EcrConfig,
) -> Result<Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>, DaemonError> {
    let (Some(cert), Some(key)) = (&ecr.tls_cert_file, &ecr.tls_key_file) else { return Ok(None) };
    let cert_pem = std::fs::read(cert).map_err(|source| DaemonError::Secret { path: cert.clone(), source })?;
    let key_pem = ecr::read_secret_file(key).map_err(|source| DaemonError::Secret { path: key.clone(), source })?;
    ecr::tls::server_config(&cert_pem, &key_pem)
        .map(Some)
        .map_err(|message| DaemonError::EcrTls { path: cert.clone(), message })
}

/// The daemon's metrics: this terminal's identity, and every counter whose labels are
/// known (methods, final sale states, return states, queued operation kinds) at 0.
fn new_metrics(config: &StoreConfig, profile: &DeviceProfile) -> crate::metrics::Metrics {
    use crate::domain::ReturnState;
    use crate::domain::{OpKind, OpState};
    let identity = crate::metrics::Identity {
        store: config.store.store_reference.clone(),
        terminal: config.store.terminal_reference.clone(),
        model: profile.model.clone(),
    };
    let known = crate::metrics::KnownLabels {
        methods: vec!["KLARNA", "CARD"],
        sale_results: crate::domain::SaleState::ALL.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect(),
        return_states: [ReturnState::Pending, ReturnState::Refunded, ReturnState::Refused].map(|s| s.as_str()).to_vec(),
        queue_kinds: [OpKind::Authorize, OpKind::Capture, OpKind::Refund, OpKind::Void, OpKind::Reverse]
            .map(|k| k.as_str())
            .to_vec(),
        queue_results: [OpState::Done, OpState::Dead].map(|s| s.as_str()).to_vec(),
    };
    crate::metrics::Metrics::new(identity, &known)
}

/// Starts the monitoring listener (`metrics.listen`).
async fn serve_monitoring(
    addr: SocketAddr,
    app: axum::Router,
    shutdown: &CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), DaemonError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| DaemonError::Listen { addr, source })?;
    let bound = listener.local_addr().map_err(|source| DaemonError::Listen { addr, source })?;
    tracing::info!(metrics = %bound, "serving /metrics and /health for monitoring");
    Ok((bound, ecr::serve(ecr::guard::Guarded::new(listener), app, shutdown.clone())))
}
