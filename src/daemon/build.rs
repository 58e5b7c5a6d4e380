//! The daemon's build phase: everything that can fail at start — the data directory,
//! the secrets, the journal, the devices, the acquirer client, the services, the
//! listeners — is opened and checked here, and nothing runs yet. A start that fails
//! leaves no task behind; [`super::spawn`] then starts what runs.

use super::DaemonError;
use crate::backend::{AcquirerClient, ClientSettings, RetryPolicy};
use crate::checkout::{Checkout, CheckoutDeps};
use crate::config::{DeviceProfile, StoreConfig};
use crate::devices::{CardReaderService, DisplayService, PrinterService};
use crate::domain::SharedLimits;
use crate::ecr;
use crate::metrics::Metrics;
use crate::outbox::SyncHandle;
use crate::outbox::sync::SyncSettings;
use crate::reports::Reports;
use crate::returns::Returns;
use crate::store::Journal;
use posagent_drivers::printer::Raster;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Everything the daemon runs, built and checked; nothing running yet.
pub(super) struct Parts {
    pub config: StoreConfig,
    pub model: String,
    pub journal: Journal,
    pub ecr_token: String,
    pub token_file: PathBuf,
    pub ecr_tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    pub devices: Devices,
    pub backend: AcquirerClient,
    pub metrics: Arc<Metrics>,
    pub checkout: Checkout,
    pub returns: Returns,
    pub reports: Reports,
    pub outbox: SyncHandle,
    pub offline: SharedLimits,
    /// The ECR API's listener, bound.
    pub listener: TcpListener,
    /// The monitoring listener (`metrics.listen`), bound, if the config has one.
    pub monitoring: Option<TcpListener>,
    /// The one tracker every task of the daemon runs on (none runs yet).
    pub tasks: TaskTracker,
}

/// The device owners, started (each owns its thread).
pub(super) struct Devices {
    pub display: DisplayService,
    pub printer: PrinterService,
    pub card_reader: Option<CardReaderService>,
}

/// The acquirer's TLS material, read once for the client and the badge fetcher.
struct AcquirerTls {
    ca_pem: Option<Vec<u8>>,
    client_identity_pem: Option<Vec<u8>>,
}

/// Builds the daemon's parts from its config and device profile.
pub(super) async fn build(
    config: StoreConfig,
    profile: DeviceProfile,
    shutdown: &CancellationToken,
) -> Result<Parts, DaemonError> {
    config.ecr.check_exposure().map_err(|(key, message)| DaemonError::Exposure { key, message })?;
    if !config.ecr.listen.ip().is_loopback() && !config.ecr.tls() {
        tracing::warn!(listen = %config.ecr.listen, "ecr.allow_plain_http is set: the ECR API listens beyond this machine without TLS, so the register's token crosses the network in clear");
    }
    super::create_private_dir(&config.data_dir)?;
    let api_key = ecr::read_token(&config.acquirer.credentials_file)
        .map_err(|source| DaemonError::Secret { path: config.acquirer.credentials_file.clone(), source })?;
    let journal = Journal::open(&config.data_dir.join("posagent.db"))?;
    let token_file = config.data_dir.join(&config.ecr.token_file);
    let ecr_token = ecr::ensure_token_file(&token_file)
        .map_err(|source| DaemonError::Secret { path: token_file.clone(), source })?;
    let ecr_tls = ecr_tls_config(&config.ecr)?;
    // A network printer's address is the store's to set (`printer_endpoint`).
    let profile = profile.with_store_endpoints(config.printer_endpoint.as_ref())?;
    let devices = start_devices(&config, &profile)?;
    let metrics = Arc::new(new_metrics(&config, &profile));
    let tls = read_acquirer_tls(&config)?;
    let backend = acquirer_client(&config, api_key, &tls, metrics.clone())?;
    let outbox = SyncHandle::new(journal.clone(), backend.clone(), SyncSettings::from(&config.sync), metrics.clone());
    let offline: SharedLimits = Arc::new(std::sync::RwLock::new(config.offline.clone()));
    let tasks = TaskTracker::new();
    let checkout = Checkout::new(CheckoutDeps {
        journal: journal.clone(),
        backend: backend.clone(),
        display: devices.display.clone(),
        printer: devices.printer.clone(),
        card_reader: devices.card_reader.clone(),
        store: config.store.clone(),
        limits: config.limits.clone(),
        shutdown: shutdown.clone(),
        metrics: metrics.clone(),
        offline: offline.clone(),
        outbox: outbox.clone(),
        badges: badge_fetcher(&config, &tls)?,
        tasks: tasks.clone(),
    });
    let store = config.store.clone();
    let reports = Reports::new(journal.clone(), backend.clone(), devices.printer.clone(), store.clone());
    let returns =
        Returns::new(journal.clone(), backend.clone(), devices.printer.clone(), store, metrics.clone(), outbox.clone());
    let listener = bind(config.ecr.listen).await?;
    let monitoring = match config.metrics.listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    Ok(Parts {
        model: profile.model.clone(),
        config,
        journal,
        ecr_token,
        token_file,
        ecr_tls,
        devices,
        backend,
        metrics,
        checkout,
        returns,
        reports,
        outbox,
        offline,
        listener,
        monitoring,
        tasks,
    })
}

/// Starts the display, printer and card reader owners (with the store's logo loaded).
fn start_devices(config: &StoreConfig, profile: &DeviceProfile) -> Result<Devices, DaemonError> {
    let display = DisplayService::start(profile.display.clone())
        .map_err(|source| DaemonError::Device { device: "display", source })?;
    let logo = match &config.store.logo {
        Some(path) => Some(read_logo(path, usize::from(profile.printer.profile.width_dots))?),
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
    Ok(Devices { display, printer, card_reader })
}

/// The store's receipt logo, rastered to the printer's width.
fn read_logo(path: &PathBuf, width_dots: usize) -> Result<Raster, DaemonError> {
    let bytes =
        std::fs::read(path).map_err(|source| DaemonError::Logo { path: path.clone(), message: source.to_string() })?;
    Raster::from_png(&bytes, width_dots).map_err(|e| DaemonError::Logo { path: path.clone(), message: e.to_string() })
}

/// Reads the acquirer's CA bundle and the terminal's client identity, if configured.
fn read_acquirer_tls(config: &StoreConfig) -> Result<AcquirerTls, DaemonError> {
    let read_pem = |path: &Option<PathBuf>, secret: bool| -> Result<Option<Vec<u8>>, DaemonError> {
        let read = |p: &PathBuf| if secret { ecr::read_secret_file(p) } else { std::fs::read(p) };
        path.as_ref().map(|p| read(p).map_err(|source| DaemonError::Secret { path: p.clone(), source })).transpose()
    };
    Ok(AcquirerTls {
        ca_pem: read_pem(&config.acquirer.ca_file, false)?,
        client_identity_pem: read_pem(&config.acquirer.client_identity_file, true)?,
    })
}

/// The acquirer client, with its API key, TLS, retry policy and event signing keys.
fn acquirer_client(
    config: &StoreConfig,
    api_key: String,
    tls: &AcquirerTls,
    metrics: Arc<Metrics>,
) -> Result<AcquirerClient, DaemonError> {
    Ok(AcquirerClient::with_settings(ClientSettings {
        base_url: config.acquirer.url.clone(),
        api_key,
        timeout: Duration::from_millis(config.acquirer.timeout_ms),
        ca_pem: tls.ca_pem.clone(),
        client_identity_pem: tls.client_identity_pem.clone(),
        retry: RetryPolicy::default(),
        metrics: Some(metrics),
        event_signing_keys: read_signing_keys(&config.acquirer.event_signing_keys_file)?,
    })?)
}

/// Klarna's badge is fetched with the acquirer's TLS settings (https, or http to this
/// machine when the acquirer is there).
fn badge_fetcher(config: &StoreConfig, tls: &AcquirerTls) -> Result<crate::assets::Badges, DaemonError> {
    let client = crate::backend::http_client(
        &config.acquirer.url,
        crate::assets::FETCH_TIMEOUT,
        tls.ca_pem.as_deref(),
        tls.client_identity_pem.as_deref(),
    )?;
    Ok(crate::assets::Badges::new(client, config.data_dir.join("assets")))
}

/// Binds a listener (the ECR API's or the monitoring one).
async fn bind(addr: SocketAddr) -> Result<TcpListener, DaemonError> {
    TcpListener::bind(addr).await.map_err(|source| DaemonError::Listen { addr, source })
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
) -> Result<Option<Arc<tokio_rustls::rustls::ServerConfig>>, DaemonError> {
    let (Some(cert), Some(key)) = (&ecr.tls_cert_file, &ecr.tls_key_file) else { return Ok(None) };
    let cert_pem = std::fs::read(cert).map_err(|source| DaemonError::Secret { path: cert.clone(), source })?;
    let key_pem = ecr::read_secret_file(key).map_err(|source| DaemonError::Secret { path: key.clone(), source })?;
    ecr::tls::server_config(&cert_pem, &key_pem)
        .map(Some)
        .map_err(|message| DaemonError::EcrTls { path: cert.clone(), message })
}

/// The daemon's metrics: this terminal's identity, and every counter whose labels are
/// known (methods, final sale states, return states, queued operation kinds) at 0.
fn new_metrics(config: &StoreConfig, profile: &DeviceProfile) -> Metrics {
    use crate::domain::{OpKind, OpState, ReturnState, SaleState};
    let identity = crate::metrics::Identity {
        store: config.store.store_reference.clone(),
        terminal: config.store.terminal_reference.clone(),
        model: profile.model.clone(),
    };
    let known = crate::metrics::KnownLabels {
        methods: vec!["KLARNA", "CARD"],
        sale_results: SaleState::ALL.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect(),
        return_states: [ReturnState::Pending, ReturnState::Refunded, ReturnState::Refused].map(|s| s.as_str()).to_vec(),
        queue_kinds: [OpKind::Authorize, OpKind::Capture, OpKind::Refund, OpKind::Void, OpKind::Reverse]
            .map(|k| k.as_str())
            .to_vec(),
        queue_results: [OpState::Done, OpState::Dead].map(|s| s.as_str()).to_vec(),
    };
    Metrics::new(identity, &known)
}
