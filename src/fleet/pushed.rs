//! The pushed configuration on the terminal's link (docs/fleet.md, "Pushed
//! configuration"): it keeps the retained documents of the three layers, works out what
//! it is offered half a second after the last one changed, validates it over the local
//! file, records it and asks the daemon to restart to run it; then, for the grace
//! period, compares the health with the one before and rolls back by itself when it is
//! worse for [`WORSE_READINGS`] readings in a row.

use super::FleetError;
use super::applied::{AppliedFile, ConfigReport, ConfigStatus, HealthMark, Layers, names};
use super::document::ConfigDocument;
use super::topics::{Layer, TerminalPath};
use crate::config::{DeviceProfile, StoreConfig};
use crate::daemon::DaemonFacts;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after the last document changed the offer is worked out.
const SETTLE_DOCUMENTS: Duration = Duration::from_millis(500);
/// A start's first seconds, when devices are still being opened, are not compared.
pub const SETTLE_START: Duration = Duration::from_secs(10);
/// Readings (one a second) worse than before, in a row, that roll a change back.
pub const WORSE_READINGS: u32 = 3;

/// What the pushed configuration needs of the daemon.
pub struct PushedSetup {
    /// The local config file (`run --config`); without one nothing pushed is taken.
    pub config_path: Option<PathBuf>,
    /// The record, `{data_dir}/fleet/config.json`.
    pub record: PathBuf,
    /// The grace period of a change.
    pub grace: Duration,
    /// What the daemon started with ([`super::applied::at_start`]).
    pub file: AppliedFile,
    /// Cancelled to ask the daemon to restart (to run a new configuration).
    pub restart: CancellationToken,
}

/// The pushed configuration's side of the link.
pub(super) struct Pushed {
    path: TerminalPath,
    setup: PushedSetup,
    /// Each layer's document: none seen, an empty message (`Ok(None)`), or one that did
    /// not parse.
    docs: [Option<Result<Option<ConfigDocument>, String>>; 3],
    due: Option<Instant>,
    worse_for: u32,
}

impl Pushed {
    pub fn new(path: TerminalPath, setup: PushedSetup) -> Pushed {
        Pushed { path, setup, docs: [None, None, None], due: None, worse_for: 0 }
    }

    /// The three topics to subscribe to.
    pub fn topics(&self) -> [String; 3] {
        Layer::ALL.map(|l| self.path.config(l))
    }

    /// The subscription was granted: the retained documents follow.
    pub fn subscribed(&mut self) {
        self.due = Some(Instant::now() + SETTLE_DOCUMENTS);
    }

    /// A document arrived on `topic`, if it is one of ours.
    pub fn document(&mut self, topic: &str, payload: &[u8]) -> bool {
        let Some(layer) = self.path.config_layer(topic) else { return false };
        let parsed = ConfigDocument::parse(payload);
        if let Err(e) = &parsed {
            tracing::warn!(layer = layer.name(), error = %e, "fleet: a config document that does not parse");
        }
        self.docs[layer.index()] = Some(parsed);
        self.due = Some(Instant::now() + SETTLE_DOCUMENTS);
        true
    }

    /// When the offer is to be worked out.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Whether a change is in its grace period.
    pub fn in_trial(&self) -> bool {
        self.setup.file.trial.is_some() && !self.setup.restart.is_cancelled()
    }

    /// What the state publishes.
    pub fn report(&self) -> ConfigReport {
        self.setup.file.report()
    }

    /// The layers offered, or why they cannot be (a document that does not parse). A
    /// layer without a document keeps what runs: a broker that lost its retained
    /// messages (or a topic cleared by hand) changes nothing; a layer is removed by a
    /// document with an empty `toml`.
    fn offered(&self) -> Result<Layers, String> {
        let mut offered = Layers::default();
        for layer in Layer::ALL {
            offered[layer.index()] = match &self.docs[layer.index()] {
                None | Some(Ok(None)) => self.setup.file.running[layer.index()].clone(),
                Some(Ok(Some(doc))) => doc.offered_to(&self.path),
                Some(Err(e)) => return Err(format!("the {} layer's document: {e}", layer.name())),
            };
        }
        Ok(offered)
    }

    /// Works out the offer and takes it, refuses it or leaves it.
    pub async fn evaluate(&mut self, facts: &DaemonFacts) {
        self.due = None;
        if self.setup.file.trial.is_some() || self.setup.restart.is_cancelled() {
            return; // worked out again when the grace period ends
        }
        let file = &self.setup.file;
        let offered = match self.offered() {
            Ok(o) => o,
            Err(why) => {
                if file.status != ConfigStatus::Refused || file.detail.as_deref() != Some(&why) {
                    self.setup.file.refuse(None, why);
                    self.save().await;
                }
                return;
            }
        };
        if offered == file.running {
            if matches!(file.status, ConfigStatus::Refused | ConfigStatus::RolledBack) {
                self.setup.file.confirm();
                self.save().await;
            }
            return;
        }
        if file.offered.as_ref() == Some(&offered)
            && matches!(file.status, ConfigStatus::Refused | ConfigStatus::RolledBack)
        {
            return; // said so already
        }
        if file.rolled_back.contains(&offered) {
            let why = "this configuration was rolled back from before; push a new version".to_string();
            tracing::info!(versions = %names(&offered), "fleet: {why}");
            self.setup.file.status = ConfigStatus::RolledBack;
            (self.setup.file.detail, self.setup.file.offered) = (Some(why), Some(offered));
            self.save().await;
            return;
        }
        match self.validate(&offered).await {
            Err(why) => {
                tracing::warn!(versions = %names(&offered), error = %why, "fleet: a pushed configuration refused");
                self.setup.file.refuse(Some(offered), why);
                self.save().await;
            }
            Ok(()) => self.take(offered, facts).await,
        }
    }

    /// Reads the local file with `offered` over it, and its device profile.
    async fn validate(&self, offered: &Layers) -> Result<(), String> {
        let Some(config_path) = self.setup.config_path.clone() else {
            return Err("this daemon runs without a config file (run --config)".into());
        };
        let offered = offered.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let c = StoreConfig::load_layered(&config_path, &AppliedFile::layer_texts(&offered))?;
            DeviceProfile::load(&c.device_profile).map(drop)
        });
        match checked.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the validation did not finish: {e}")),
        }
    }

    /// Records `offered` for a grace period and asks for the restart that runs it.
    async fn take(&mut self, offered: Layers, facts: &DaemonFacts) {
        let before = HealthMark::of(&facts.health().await);
        let kept = self.setup.file.clone();
        let versions = names(&offered);
        self.setup.file.begin_trial(offered, before, crate::domain::now_ms());
        if let Err(e) = self.write().await {
            tracing::error!(error = %e, "fleet: cannot record the pushed configuration; not taken");
            self.setup.file = kept;
            let offered = self.offered().ok();
            self.setup.file.refuse(offered, e.to_string());
            return;
        }
        tracing::info!(versions = %versions, "fleet: a pushed configuration passed validation; restarting to run it");
        self.setup.restart.cancel();
    }

    /// Once a second in a grace period: rolls back when the health is worse, confirms
    /// when the period is over.
    pub async fn watch(&mut self, facts: &DaemonFacts) {
        let Some(trial) = self.setup.file.trial.as_ref() else { return };
        let up = facts.uptime();
        if up < SETTLE_START {
            return;
        }
        let now = HealthMark::of(&facts.health().await);
        match now.worse_than(&trial.health_before) {
            Some(why) => {
                self.worse_for += 1;
                if self.worse_for >= WORSE_READINGS {
                    let versions = names(&self.setup.file.running);
                    let why = format!("{why}, for {WORSE_READINGS} s within the grace period: rolled back");
                    tracing::warn!(versions = %versions, reason = %why, "fleet: rolling back a pushed configuration");
                    self.setup.file.roll_back(why);
                    self.save().await;
                    self.setup.restart.cancel();
                    return;
                }
            }
            None => self.worse_for = 0,
        }
        // A health worse at the end of the period holds the confirmation until it is
        // better again or has been worse long enough to roll back.
        if up >= self.setup.grace && self.worse_for == 0 {
            tracing::info!(versions = %names(&self.setup.file.running), "fleet: a pushed configuration is applied (its grace period is over)");
            self.setup.file.confirm();
            self.save().await;
            self.due = Some(Instant::now());
        }
    }

    async fn write(&self) -> Result<(), FleetError> {
        let (file, record) = (self.setup.file.clone(), self.setup.record.clone());
        tokio::task::spawn_blocking(move || file.save(&record))
            .await
            .map_err(|e| FleetError::Internal(e.to_string()))?
    }

    async fn save(&self) {
        if let Err(e) = self.write().await {
            tracing::error!(error = %e, "fleet: cannot record the pushed configuration's state");
        }
    }
}
