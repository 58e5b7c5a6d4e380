//! The pushed configuration on the terminal's link (docs/fleet.md, "Pushed
//! configuration"): it keeps the retained documents of the three layers, works out what
//! it is offered half a second after the last one changed, validates it over the local
//! file, records it and asks the daemon to restart to run it; then, for the grace
//! period, compares the health with the one before and rolls back by itself when it is
//! worse in [`WORSE_READINGS`] of the last [`WINDOW`] readings.

use super::FleetError;
use super::applied::{AppliedFile, ConfigReport, ConfigStatus, HealthMark, Layers, VersionNames, names};
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
/// After a record that could not be written, the offer is worked out again this late.
const RETRY_RECORD: Duration = Duration::from_secs(30);
/// Longest `detail` published, in characters.
const MAX_DETAIL: usize = 600;
/// The last readings (one a second) a grace period judges by.
pub const WINDOW: usize = 5;
/// Readings of the last [`WINDOW`] worse than before that roll a change back.
pub const WORSE_READINGS: usize = 3;

/// What the pushed configuration needs of the daemon.
pub struct PushedSetup {
    /// The local config file (`run --config`); without one nothing pushed is taken.
    pub config_path: Option<PathBuf>,
    /// The record, `{data_dir}/fleet/config.json`.
    pub record: PathBuf,
    /// The grace period of a change.
    pub grace: Duration,
    /// A restart into a new configuration waits a random time below this (the terminals
    /// offered one version at once do not all restart together), and for no sale in
    /// progress.
    pub spread: Duration,
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
    /// Whether each of the last [`WINDOW`] readings was worse than before.
    recent: std::collections::VecDeque<bool>,
    /// How the last worse reading was worse.
    last_worse: Option<String>,
    /// A new configuration is recorded: restart at this time, once no sale is in progress.
    restart_at: Option<Instant>,
    /// Readings of the health before a change taken so far: its trial's `health_before`
    /// is the best of [`WINDOW`] (a part failing for a moment when the change was taken
    /// would hide that the change breaks it).
    before_readings: usize,
}

impl Pushed {
    pub fn new(path: TerminalPath, setup: PushedSetup) -> Pushed {
        Pushed {
            path,
            setup,
            docs: [None, None, None],
            due: None,
            recent: Default::default(),
            last_worse: None,
            restart_at: None,
            before_readings: 0,
        }
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

    /// Whether something is to be done each second: a change in its grace period, or a
    /// restart waiting for its time and for no sale in progress.
    pub fn ticking(&self) -> bool {
        (self.setup.file.trial.is_some() || self.restart_at.is_some()) && !self.setup.restart.is_cancelled()
    }

    /// What the state publishes: while the restart waits, what still runs.
    pub fn report(&self) -> ConfigReport {
        match (&self.restart_at, &self.setup.file.previous) {
            (Some(_), Some(previous)) if !self.setup.restart.is_cancelled() => ConfigReport {
                running: VersionNames::of(previous),
                status: ConfigStatus::Restarting,
                offered: Some(VersionNames::of(&self.setup.file.running)),
                detail: Some("validated; the daemon restarts to run it once no sale is in progress".into()),
            },
            _ => self.setup.file.report(),
        }
    }

    /// Once a second while [`Pushed::ticking`]: the waiting restart (after the health
    /// before has been read [`WINDOW`] times), or the grace period's watch.
    pub async fn tick(&mut self, facts: &DaemonFacts) {
        let Some(at) = self.restart_at else { return self.watch(facts).await };
        if self.before_readings < WINDOW && self.setup.file.trial.is_some() {
            self.read_health_before(facts).await;
        } else if Instant::now() >= at && !facts.sale_in_progress() {
            tracing::info!(versions = %names(&self.setup.file.running), "fleet: restarting to run it");
            self.setup.restart.cancel();
        }
    }

    /// One more reading of the health before the change: what it is compared with is
    /// the best of them, recorded (a failed write keeps the record's earlier readings).
    async fn read_health_before(&mut self, facts: &DaemonFacts) {
        let now = HealthMark::of(&facts.health().await);
        self.before_readings += 1;
        let Some(trial) = self.setup.file.trial.as_mut() else { return };
        let best = trial.health_before.best_with(&now);
        if best != trial.health_before {
            tracing::info!(was = %trial.health_before, now = %best, "fleet: the health before the change, read again");
            trial.health_before = best;
            self.save().await;
        }
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
        if self.setup.file.trial.is_some() || self.restart_at.is_some() || self.setup.restart.is_cancelled() {
            return; // worked out again when the grace period ends, or after the restart
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
        let (offered, record) = (offered.clone(), self.setup.record.clone());
        let checked = tokio::task::spawn_blocking(move || {
            let checked = StoreConfig::load_layered(&config_path, &AppliedFile::layer_texts(&offered))
                .and_then(|c| DeviceProfile::load(&c.device_profile).map(drop));
            // The error goes into the published state: never a secret file's words (a
            // parser quotes the line it stopped at), one line, not too long.
            checked.map_err(|e| {
                let why: String = e.to_string().chars().take(MAX_DETAIL).collect();
                super::diagnostics::redact_text(
                    &why.replace('\n', " "),
                    &super::diagnostics::secrets_of(&config_path, Some(&record)),
                )
            })
        });
        match checked.await {
            Ok(result) => result,
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
            // Not a refusal: the same offer is tried again (a disk briefly full).
            tracing::error!(error = %e, retry_secs = RETRY_RECORD.as_secs(), "fleet: cannot record the pushed configuration; not taken yet");
            self.setup.file = kept;
            self.due = Some(Instant::now() + RETRY_RECORD);
            return;
        }
        let wait = self.setup.spread.mul_f64(fastrand::f64());
        tracing::info!(versions = %versions, wait_ms = wait.as_millis() as u64, "fleet: a pushed configuration passed validation; the daemon restarts to run it once no sale is in progress");
        self.restart_at = Some(Instant::now() + wait);
        self.before_readings = 1;
    }

    /// Once a second in a grace period: rolls back when the health is worse in
    /// [`WORSE_READINGS`] of the last [`WINDOW`] readings (a failing device that flickers
    /// while it is retried counts), confirms when the period is over and none of the
    /// last [`WINDOW`] was worse.
    async fn watch(&mut self, facts: &DaemonFacts) {
        let Some(trial) = self.setup.file.trial.as_ref() else { return };
        let up = facts.uptime();
        if up < SETTLE_START {
            return;
        }
        let now = HealthMark::of(&facts.health().await);
        let worse = now.worse_than(&trial.health_before);
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(worse.is_some());
        if let Some(why) = worse {
            if self.last_worse.is_none() {
                tracing::info!(reason = %why, "fleet: the health is worse than before the pushed configuration");
            }
            self.last_worse = Some(why);
        }
        let worse_count = self.recent.iter().filter(|w| **w).count();
        if worse_count >= WORSE_READINGS {
            let versions = names(&self.setup.file.running);
            let why = self.last_worse.take().unwrap_or_default();
            let why = format!(
                "{why}, in {worse_count} of the last {} s within the grace period: rolled back",
                self.recent.len()
            );
            tracing::warn!(versions = %versions, reason = %why, "fleet: rolling back a pushed configuration");
            self.setup.file.roll_back(why);
            self.save().await;
            self.restart_at = Some(Instant::now());
            return;
        }
        // A health worse near the end of the period holds the confirmation until it has
        // been as good as before for a whole window, or worse enough to roll back.
        if up >= self.setup.grace && self.recent.len() == WINDOW && worse_count == 0 {
            tracing::info!(
                versions = %names(&self.setup.file.running),
                health = %now.status,
                before = %trial.health_before.status,
                "fleet: a pushed configuration is applied (its grace period is over)"
            );
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
