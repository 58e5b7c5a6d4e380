//! The fleet link (`[fleet]`, docs/fleet.md): the terminal on the chain's MQTT 5 broker.
//! It publishes its retained `state` under `posagent/{chain}/{store}/{terminal}/` (with a
//! last will that marks it offline), takes the operators' commands and answers them
//! (`link.rs`, `commands.rs`), and takes the pushed configuration's layers (`document.rs`,
//! `pushed.rs`, `applied.rs`); `operator.rs` is the other side, `posagent fleet status`,
//! `command`, `push`, `rollout` and `rollback`. It reads the running daemon's facts
//! ([`crate::daemon::DaemonFacts`]) and never publishes card data, tokens or sales.

pub mod applied;
pub mod commands;
pub mod diagnostics;
pub mod document;
mod link;
pub mod operator;
pub mod pushed;
pub mod state;
pub mod tls;
pub mod topics;

use crate::config::FleetConfig;
use crate::daemon::DaemonFacts;
use rumqttc::v5::{AsyncClient, MqttOptions};
use std::path::PathBuf;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use state::TerminalState;
pub use topics::TerminalPath;

/// Why the fleet link or an operator's command could not be set up or done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// A TLS file is missing, unreadable, too open or not what it should be.
    #[error(
        "fleet TLS ({path}): {message}; check the CA, certificate and key files ([fleet] ca_file, client_cert_file, client_key_file, or --ca-file, --cert-file, --key-file): PEM, the key mode 0600"
    )]
    Tls {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The broker's URL or a terminal's path is not one.
    #[error("{0}")]
    Address(String),
    /// The broker could not be reached or refused the client.
    #[error("the broker {broker}: {message}")]
    Broker {
        /// The broker's address.
        broker: String,
        /// What happened.
        message: String,
    },
    /// No answer in time.
    #[error("no answer within {0:?}: is the terminal online (`posagent fleet status`)?")]
    Timeout(std::time::Duration),
    /// The record of the pushed configuration (`{data_dir}/fleet/config.json`) cannot be
    /// read or written.
    #[error(
        "{path}: {message}; check that data_dir is writable by the service (remove the file to run the local config alone)"
    )]
    Record {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Something that should not fail did.
    #[error("fleet: {0}")]
    Internal(String),
}

/// The fleet link, set up (its TLS files read, its options made) and not yet running.
pub struct Prepared {
    path: TerminalPath,
    options: MqttOptions,
    heartbeat: std::time::Duration,
    grace: std::time::Duration,
    spread: std::time::Duration,
    broker_url: String,
}

/// A running fleet link.
pub struct Fleet {
    task: JoinHandle<()>,
}

impl Fleet {
    /// Reads the TLS files and makes the client's options: what can fail at start, before
    /// the daemon starts.
    pub async fn prepare(config: &FleetConfig) -> Result<Prepared, FleetError> {
        let path = TerminalPath {
            chain: config.chain.clone(),
            store: config.store.clone(),
            terminal: config.terminal.clone(),
        };
        let client_files = match (&config.ca_file, &config.client_cert_file, &config.client_key_file) {
            (Some(ca), Some(cert), Some(key)) => {
                Some(tls::TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() })
            }
            _ => None,
        };
        let mut options = mqtt_options(&config.broker_url, &config.identity(), client_files).await?;
        options.set_keep_alive(config.keepalive());
        let will = TerminalState::offline(&path.to_string(), crate::domain::now_ms());
        options.set_last_will(link::will_of(&path, &will));
        Ok(Prepared {
            path,
            options,
            heartbeat: config.heartbeat(),
            grace: config.config_grace(),
            spread: config.spread(),
            broker_url: config.broker_url.clone(),
        })
    }

    /// Waits for the link to close (after its `shutdown` fired).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

impl Prepared {
    /// The grace period of a pushed configuration (`[fleet] config_grace_secs`).
    pub fn grace(&self) -> std::time::Duration {
        self.grace
    }

    /// How widely reconnections and restarts are spread (`[fleet] spread_secs`).
    pub fn spread(&self) -> std::time::Duration {
        self.spread
    }

    /// Starts the link on the running daemon: it connects in the background (an
    /// unreachable broker is tried again and never stops the daemon) and runs until
    /// `shutdown`; doctor, reload and the pushed configuration use `pushed`'s config file.
    pub fn start(self, facts: DaemonFacts, pushed: pushed::PushedSetup, shutdown: CancellationToken) -> Fleet {
        let (client, eventloop) = AsyncClient::new(self.options, 64);
        tracing::info!(broker = %self.broker_url, terminal = %self.path, "fleet: link starting");
        let (config_path, record) = (pushed.config_path.clone(), Some(pushed.record.clone()));
        let pushed = pushed::Pushed::new(self.path.clone(), pushed);
        let link =
            link::Link { path: self.path, client, eventloop, heartbeat: self.heartbeat, spread: self.spread, pushed };
        let cx = commands::Context { facts, config_path, record };
        Fleet { task: tokio::spawn(link::run(link, cx, shutdown)) }
    }
}

/// QoS 1 messages a client has in flight at most.
const INFLIGHT: u16 = 32;

/// The client's options: the broker's address, the client id, TLS with the client's
/// certificate for mqtts.
pub(crate) async fn mqtt_options(
    broker_url: &str,
    client_id: &str,
    files: Option<tls::TlsFiles>,
) -> Result<MqttOptions, FleetError> {
    let broker = crate::config::fleet::parse_broker_url(broker_url).map_err(FleetError::Address)?;
    let mut options = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    options.set_clean_start(true);
    options.set_connection_timeout(10);
    // rumqttc keeps a slot for every packet id it may use: 65 535 of them by default
    // (13.6 MiB a client); QoS 1 publishes in flight are few here.
    options.set_outgoing_inflight_upper_limit(INFLIGHT);
    if broker.tls {
        let Some(files) = files else {
            return Err(FleetError::Address(format!("{broker_url}: mqtts needs the CA, the certificate and the key")));
        };
        let config = tls::client_config(files).await?;
        options.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(config)));
    }
    Ok(options)
}
