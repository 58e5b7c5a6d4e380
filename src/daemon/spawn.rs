//! The daemon's spawn phase: starts what runs — the sync worker, the event follower,
//! the ECR API, the monitoring listener, the watchdog — on one [`TaskTracker`] that
//! owns every task the daemon starts, resumes the open sales and tells the service
//! manager it is ready. A stop waits for the tracker to be empty.

use super::build::{Devices, Parts};
use super::{Daemon, DaemonError, ReloadHandle, notify};
use crate::checkout::Checkout;
use crate::ecr::{self, EcrState};
use crate::outbox::sync::Publish;
use crate::outbox::{EventFollower, SyncWorker};
use crate::returns::Returns;
use crate::store::Patched;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What [`spawn`] started, for [`Daemon::stop`] to stop in order.
pub(super) struct Running {
    pub tasks: TaskTracker,
    pub sync: JoinHandle<()>,
    pub events: JoinHandle<()>,
    pub server: JoinHandle<()>,
    pub monitoring: Option<JoinHandle<()>>,
    pub watchdog: Option<JoinHandle<()>>,
}

/// Starts the built daemon; it stops when `shutdown` fires.
pub(super) async fn spawn(parts: Parts, shutdown: CancellationToken) -> Result<Daemon, DaemonError> {
    let tasks = parts.tasks.clone();
    let publish = publisher(&parts.checkout, &parts.returns, &tasks);
    let follower =
        EventFollower::new(parts.journal.clone(), parts.backend.clone(), publish.clone(), parts.metrics.clone());
    let sync = tasks.spawn(SyncWorker::new(&parts.outbox, publish).run(shutdown.clone()));
    let events = tasks.spawn(follower.run(shutdown.clone()));
    let config = &parts.config;
    let addr = parts.listener.local_addr().map_err(|source| DaemonError::Listen { addr: config.ecr.listen, source })?;
    let state = EcrState {
        checkout: parts.checkout.clone(),
        display: parts.devices.display.clone(),
        printer: parts.devices.printer.clone(),
        card_reader: parts.devices.card_reader.clone(),
        returns: parts.returns.clone(),
        metrics: parts.metrics,
        reports: parts.reports,
        outbox: parts.outbox,
        health: Arc::new(ecr::HealthCache::new(config.data_dir.clone(), config.store.currency.code())),
        console: Arc::new(ecr::console::Console::new(
            &config.console,
            crate::staff::Staff::new(parts.journal.clone()),
            config.ecr.tls(),
        )),
    };
    let (metrics_url, monitoring) = match parts.monitoring {
        Some(listener) => {
            let router = ecr::monitoring_router(state.clone(), &config.ecr);
            let (bound, task) = serve_monitoring(listener, router, &shutdown, &tasks).map_err(|source| {
                DaemonError::Listen { addr: config.metrics.listen.unwrap_or(config.ecr.listen), source }
            })?;
            (Some(format!("http://{bound}")), Some(task))
        }
        None => (None, None),
    };
    let reload = ReloadHandle { offline: parts.offline, started_with: Arc::new(parts.config.clone()) };
    let facts = super::DaemonFacts { state: state.clone(), started: std::time::Instant::now(), reload };
    let app = ecr::router(state, parts.ecr_token.clone(), &config.ecr);
    let server = match parts.ecr_tls {
        Some(tls) => {
            let listener = ecr::tls::TlsListener::start(parts.listener, tls, shutdown.clone(), &tasks)
                .map_err(|source| DaemonError::Listen { addr: config.ecr.listen, source })?;
            ecr::serve(ecr::guard::Guarded::new(listener), app, shutdown.clone(), &tasks)
        }
        None => ecr::serve(ecr::guard::Guarded::new(parts.listener), app, shutdown.clone(), &tasks),
    };
    let resumed = parts.checkout.resume_open_sales().await?;
    let zvt_addrs = match &config.zvt {
        Some(zvt) => {
            let deps = crate::zvt::ZvtDeps {
                checkout: parts.checkout.clone(),
                returns: parts.returns,
                config: zvt.clone(),
                shutdown: shutdown.clone(),
                tasks: tasks.clone(),
            };
            crate::zvt::start(deps).await?
        }
        None => vec![],
    };
    tracing::info!(ecr = %addr, ?zvt_addrs, resumed, model = %parts.model, "posagent ready");
    notify::ready(&format!("serving the ECR API on {addr}"));
    let watchdog = notify::spawn_watchdog(&tasks, parts.journal, shutdown.clone());
    let Devices { display, printer, card_reader } = parts.devices;
    Ok(Daemon {
        ecr_url: config.ecr.local_url(addr.port()),
        ecr_token: parts.ecr_token,
        ecr_token_file: parts.token_file,
        checkout: parts.checkout,
        metrics_url,
        zvt_addrs,
        shutdown,
        running: Running { tasks, sync, events, server, monitoring, watchdog },
        devices: (display, printer, card_reader),
        grace: Duration::from_secs(config.limits.shutdown_grace_secs),
        hurry: CancellationToken::new(),
        facts,
    })
}

/// What the sync worker and the event follower call when they change a sale or a
/// return: the change reaches the register's event stream, and a return refunded by the
/// worker gets its receipt (the customer may still be at the till; the register was told
/// 202 PENDING) on a tracked task.
fn publisher(checkout: &Checkout, returns: &Returns, tasks: &TaskTracker) -> Publish {
    let (checkout, returns, tasks) = (checkout.clone(), returns.clone(), tasks.clone());
    Arc::new(move |changed: &Patched| match changed {
        Patched::Sale(sale) => checkout.publish(sale),
        Patched::Return(r) if !r.receipt_printed => {
            let (returns, record) = (returns.clone(), (**r).clone());
            tasks.spawn(async move {
                if let Err(e) = returns.print_completed(record).await {
                    tracing::error!(error = %e, "cannot journal the return receipt");
                }
            });
        }
        _ => {}
    })
}

/// Serves `/metrics` and `/health` on the monitoring listener (`metrics.listen`).
fn serve_monitoring(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: &CancellationToken,
    tasks: &TaskTracker,
) -> Result<(SocketAddr, JoinHandle<()>), std::io::Error> {
    let bound = listener.local_addr()?;
    tracing::info!(metrics = %bound, "serving /metrics and /health for monitoring");
    Ok((bound, ecr::serve(ecr::guard::Guarded::new(listener), app, shutdown.clone(), tasks)))
}
