//! What a terminal runs of the pushed configuration, kept in `{data_dir}/fleet/config.json`
//! (written whole, synced, renamed): the layers it runs and the ones they replaced, the
//! grace period of a change (with the health before it and the starts within it), the
//! sets it rolled back from, and its status. At every start the daemon reads the local
//! file with the running layers over it ([`at_start`]); a second start within a grace
//! period (a crash) runs the previous layers.

use super::FleetError;
use super::document::LayerVersion;
use super::topics::Layer;
use crate::config::StoreConfig;
use crate::config::layered::LayerText;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The layers run (chain, store, terminal; `None`: no such layer).
pub type Layers = [Option<LayerVersion>; 3];

/// Sets rolled back from, remembered (the oldest forgotten first).
const REMEMBERED_ROLLBACKS: usize = 8;

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedFile {
    /// The layers the daemon runs.
    pub running: Layers,
    /// What `running` replaced (kept for a rollback).
    #[serde(default)]
    pub previous: Option<Layers>,
    /// The grace period of the last change, while it lasts.
    #[serde(default)]
    pub trial: Option<Trial>,
    /// Sets rolled back from: not taken again while offered.
    #[serde(default)]
    pub rolled_back: Vec<Layers>,
    /// The status the state publishes.
    #[serde(default)]
    pub status: ConfigStatus,
    /// Why (a refusal's error, a rollback's reason).
    #[serde(default)]
    pub detail: Option<String>,
    /// The set refused or rolled back from, while it is what is offered.
    #[serde(default)]
    pub offered: Option<Layers>,
}

/// Where the terminal is with the pushed configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigStatus {
    /// No layer: the local file alone.
    #[default]
    Local,
    /// Validated and recorded; the daemon restarts to run it once no sale is in progress.
    Restarting,
    /// In the grace period of a change.
    Trial,
    /// Runs what it was offered.
    Applied,
    /// What it was offered did not pass validation.
    Refused,
    /// What it was offered made its health worse, or did not run through the grace period.
    RolledBack,
}

/// A change's grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    /// When the change was taken (Unix ms).
    pub since_ms: i64,
    /// The health before it.
    pub health_before: HealthMark,
    /// Starts of the daemon since (the change's own is the first).
    pub starts: u32,
}

/// A health to compare with: `ok`/`degraded`/`down` and the failing parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthMark {
    /// `ok`, `degraded` or `down`.
    pub status: String,
    /// The failing parts.
    pub failing: BTreeSet<String>,
}

/// `ok` 0, `degraded` 1, anything else (`down`) 2.
fn rank(status: &str) -> u8 {
    match status {
        "ok" => 0,
        "degraded" => 1,
        _ => 2,
    }
}

impl std::fmt::Display for HealthMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if !self.failing.is_empty() {
            let parts: Vec<&str> = self.failing.iter().map(String::as_str).collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

impl HealthMark {
    /// The health `/health` tells.
    pub fn of(health: &posagent_ecr_api::Health) -> HealthMark {
        HealthMark { status: health.status.clone(), failing: health.problems.iter().map(|p| p.part.clone()).collect() }
    }

    /// The better of two readings: the better status, and the parts failing in both.
    pub fn best_with(&self, other: &HealthMark) -> HealthMark {
        let status = if rank(&other.status) < rank(&self.status) { &other.status } else { &self.status };
        HealthMark { status: status.clone(), failing: self.failing.intersection(&other.failing).cloned().collect() }
    }

    /// How this is worse than `before`, if it is: a worse status, or a part failing
    /// that did not.
    pub fn worse_than(&self, before: &HealthMark) -> Option<String> {
        let new: Vec<&str> = self.failing.difference(&before.failing).map(String::as_str).collect();
        (rank(&self.status) > rank(&before.status) || !new.is_empty())
            .then(|| format!("health {} (before: {}), failing: {}", self.status, before.status, new.join(", ")))
    }
}

impl AppliedFile {
    /// `{data_dir}/fleet/config.json`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("fleet").join("config.json")
    }

    /// Reads it; a missing file is the local config alone.
    pub fn load(path: &Path) -> Result<AppliedFile, FleetError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| state_error(path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AppliedFile::default()),
            Err(e) => Err(state_error(path, e)),
        }
    }

    /// Writes it whole: a file beside it, synced, renamed over it, the folder synced.
    pub fn save(&self, path: &Path) -> Result<(), FleetError> {
        use std::io::Write;
        let dir = path.parent().unwrap_or(Path::new("."));
        crate::daemon::create_private_dir(dir).map_err(|e| state_error(path, e))?;
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| state_error(path, e))?;
        let tmp = path.with_extension("json.new");
        let mut f = std::fs::File::create(&tmp).map_err(|e| state_error(&tmp, e))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(|e| state_error(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| state_error(path, e))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| state_error(dir, e))
    }

    /// Takes `offered` for a grace period: what runs becomes the previous.
    pub fn begin_trial(&mut self, offered: Layers, health_before: HealthMark, now_ms: i64) {
        self.previous = Some(std::mem::replace(&mut self.running, offered));
        self.trial = Some(Trial { since_ms: now_ms, health_before, starts: 0 });
        (self.status, self.detail, self.offered) = (ConfigStatus::Trial, None, None);
    }

    /// Ends the grace period well: what runs is applied.
    pub fn confirm(&mut self) {
        self.trial = None;
        self.status =
            if self.running.iter().all(Option::is_none) { ConfigStatus::Local } else { ConfigStatus::Applied };
        (self.detail, self.offered) = (None, None);
    }

    /// Goes back to the previous layers, remembering the ones left as rolled back.
    pub fn roll_back(&mut self, why: String) {
        let left = std::mem::replace(&mut self.running, self.previous.take().unwrap_or_default());
        if self.rolled_back.len() == REMEMBERED_ROLLBACKS {
            self.rolled_back.remove(0);
        }
        self.rolled_back.push(left.clone());
        self.trial = None;
        (self.status, self.detail, self.offered) = (ConfigStatus::RolledBack, Some(why), Some(left));
    }

    /// Marks `offered` (`None`: a document that does not parse) refused for `why`; what
    /// runs stays.
    pub fn refuse(&mut self, offered: Option<Layers>, why: String) {
        (self.status, self.detail, self.offered) = (ConfigStatus::Refused, Some(why), offered);
    }

    /// What the state publishes of it.
    pub fn report(&self) -> ConfigReport {
        ConfigReport {
            running: VersionNames::of(&self.running),
            status: self.status,
            offered: self.offered.as_ref().map(VersionNames::of),
            detail: self.detail.clone(),
        }
    }

    /// The running layers, for [`StoreConfig::load_layered`].
    pub fn layer_texts(layers: &Layers) -> Vec<LayerText<'_>> {
        Layer::ALL
            .iter()
            .zip(layers)
            .filter_map(|(l, v)| v.as_ref().map(|v| LayerText { layer: l.name(), version: &v.version, toml: &v.toml }))
            .collect()
    }
}

/// At start: the config to run — the local file (`local`, read from `config_path`) with
/// the running layers of the record at `path` over it — and the record as it now is. A second start within a grace
/// period rolls back first; layers that no longer load over the local file are dropped
/// (refused, the local file alone runs). Errors are logged: the local file then runs.
pub fn at_start(config_path: &Path, local: StoreConfig, path: &Path, grace: Duration) -> (StoreConfig, AppliedFile) {
    let mut file = match AppliedFile::load(path) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "fleet: the pushed configuration's record does not read; the local file alone runs");
            return (local, AppliedFile::default());
        }
    };
    let before = file.clone();
    let now = crate::domain::now_ms();
    if let Some(trial) = file.trial.as_mut() {
        trial.starts += 1;
        let within = u128::try_from(now - trial.since_ms).is_ok_and(|ms| ms < grace.as_millis());
        if trial.starts > 1 && within {
            let why = "the daemon started again within the grace period (a crash, a kill or a restart): the previous configuration runs";
            tracing::warn!(versions = %names(&file.running), "fleet: {why}");
            file.roll_back(why.into());
        } else if trial.starts > 1 {
            // Stopped for longer than the grace period (powered off overnight): the
            // change was not watched to its end; it is watched again from this start.
            (trial.since_ms, trial.starts) = (now, 1);
        }
    }
    // A refusal is checked again at each start: the local file or a profile may have
    // been mended since.
    if file.status == ConfigStatus::Refused {
        file.offered = None;
    }
    let local_copy = local.clone();
    let config = if file.running.iter().all(Option::is_none) {
        local
    } else {
        match StoreConfig::load_layered(config_path, &AppliedFile::layer_texts(&file.running)) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "fleet: the pushed layers no longer load over the local file; the local file alone runs");
                let offered = std::mem::take(&mut file.running);
                file.trial = None;
                file.refuse(Some(offered), e.to_string());
                local
            }
        }
    };
    if file != before {
        if let Err(e) = file.save(path) {
            tracing::error!(error = %e, "fleet: cannot record the pushed configuration's state");
            if file.trial.is_some() {
                // Unrecorded, this start would not count: a change that crashes the
                // daemon would loop. The previous configuration runs.
                file.roll_back(format!("the record cannot be written ({e}): the previous configuration runs"));
                return (load_or_local(config_path, &file, local_copy), file);
            }
        }
    }
    (config, file)
}

/// The state's `config`: what the terminal runs of the pushed configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigReport {
    /// The versions of the layers it runs.
    pub running: VersionNames,
    /// `local`, `restarting`, `trial`, `applied`, `refused` or `rolled_back`.
    pub status: ConfigStatus,
    /// The versions offered, when they are not the ones running (refused, rolled back).
    pub offered: Option<VersionNames>,
    /// Why.
    pub detail: Option<String>,
}

/// A version name per layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionNames {
    /// The chain layer's.
    pub chain: Option<String>,
    /// The store layer's.
    pub store: Option<String>,
    /// The terminal layer's.
    pub terminal: Option<String>,
}

impl VersionNames {
    /// The versions of `layers`.
    pub fn of(layers: &Layers) -> VersionNames {
        let [chain, store, terminal] = layers.clone().map(|l| l.map(|v| v.version));
        VersionNames { chain, store, terminal }
    }
}

/// The local file with `file`'s running layers, or `local` when they do not load.
fn load_or_local(config_path: &Path, file: &AppliedFile, local: StoreConfig) -> StoreConfig {
    if file.running.iter().all(Option::is_none) {
        return local;
    }
    StoreConfig::load_layered(config_path, &AppliedFile::layer_texts(&file.running)).unwrap_or(local)
}

/// The config as the daemon runs it — the local file with the recorded running layers
/// over it — for SIGHUP and the `reload` command. A record that does not read is the
/// local file alone (logged).
pub fn load_running(config_path: &Path, record: Option<&Path>) -> Result<StoreConfig, crate::config::ConfigError> {
    let file = match record.map(AppliedFile::load) {
        None => AppliedFile::default(),
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            tracing::error!(error = %e, "fleet: the pushed configuration's record does not read; the local file alone is read");
            AppliedFile::default()
        }
    };
    if file.running.iter().all(Option::is_none) {
        StoreConfig::load(config_path)
    } else {
        StoreConfig::load_layered(config_path, &AppliedFile::layer_texts(&file.running))
    }
}

/// `chain 7, store 2` (or `none`), for logs.
pub fn names(layers: &Layers) -> String {
    let named: Vec<String> = Layer::ALL
        .iter()
        .zip(layers)
        .filter_map(|(l, v)| v.as_ref().map(|v| format!("{} {}", l.name(), v.version)))
        .collect();
    if named.is_empty() { "none".into() } else { named.join(", ") }
}

fn state_error(path: &Path, e: impl std::fmt::Display) -> FleetError {
    FleetError::Record { path: path.to_path_buf(), message: e.to_string() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(version: &str, toml: &str) -> Option<LayerVersion> {
        Some(LayerVersion { version: version.into(), toml: toml.into() })
    }

    fn mark(status: &str, failing: &[&str]) -> HealthMark {
        HealthMark { status: status.into(), failing: failing.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn health_is_worse_by_status_or_by_a_new_failing_part() {
        let ok = mark("ok", &[]);
        assert_eq!(ok.worse_than(&ok), None);
        assert!(mark("degraded", &["acquirer"]).worse_than(&ok).unwrap().contains("acquirer"));
        let paper = mark("degraded", &["printer"]);
        assert_eq!(paper.worse_than(&paper), None, "as bad as before is not worse");
        assert!(mark("degraded", &["printer", "acquirer"]).worse_than(&paper).is_some());
        assert_eq!(ok.worse_than(&paper), None);
        assert!(mark("down", &["printer"]).worse_than(&paper).is_some());
    }

    #[test]
    fn the_health_before_is_the_best_of_its_readings() {
        let flicker = mark("degraded", &["printer", "reader"]);
        let best = flicker.best_with(&mark("degraded", &["reader"])).best_with(&mark("down", &["reader", "acquirer"]));
        assert_eq!(best, mark("degraded", &["reader"]));
        assert_eq!(best.to_string(), "degraded (reader)");
        assert_eq!(mark("ok", &[]).best_with(&flicker), mark("ok", &[]));
        assert!(mark("degraded", &["printer"]).worse_than(&flicker.best_with(&mark("ok", &[]))).is_some());
    }

    #[test]
    fn trial_confirm_and_roll_back_keep_the_previous_layers() {
        let mut f = AppliedFile::default();
        let first: Layers = [v("1", "a = 1"), None, None];
        f.begin_trial(first.clone(), mark("ok", &[]), 5);
        assert_eq!(f.report().running.chain.as_deref(), Some("1"));
        assert_eq!((f.status, f.previous.clone()), (ConfigStatus::Trial, Some(Layers::default())));
        f.confirm();
        assert_eq!((f.status, f.trial.is_none()), (ConfigStatus::Applied, true));
        let second: Layers = [v("2", "a = 2"), v("s1", ""), None];
        f.begin_trial(second.clone(), mark("ok", &[]), 6);
        f.roll_back("worse".into());
        assert_eq!(f.running, first);
        assert_eq!(
            (f.status, f.rolled_back.clone(), f.offered.clone()),
            (ConfigStatus::RolledBack, vec![second.clone()], Some(second))
        );
        assert_eq!(names(&f.running), "chain 1");
        assert_eq!(names(&Layers::default()), "none");
    }

    #[test]
    fn the_record_is_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = AppliedFile::path(dir.path());
        assert_eq!(AppliedFile::load(&path).unwrap(), AppliedFile::default(), "none yet: the local file alone");
        let mut f = AppliedFile::default();
        f.begin_trial([None, v("s", "[offline]\nmax_count = 1\n"), None], mark("degraded", &["printer"]), 9);
        f.save(&path).unwrap();
        assert_eq!(AppliedFile::load(&path).unwrap(), f);
        assert!(!path.with_extension("json.new").exists());
        std::fs::write(&path, b"{not json").unwrap();
        assert!(AppliedFile::load(&path).unwrap_err().to_string().contains("config.json"));
    }
}
