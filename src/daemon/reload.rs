//! SIGHUP (and the fleet's `reload`): what a running daemon takes from a changed config
//! without a restart — the log level and the offline limits. Everything else (addresses,
//! data directory, acquirer, devices, store identity, the fleet link, the console and its catalogue) needs a restart; a change there is named in the
//! log and left alone.

use crate::config::StoreConfig;
use crate::domain::OfflineLimits;
use std::sync::{Arc, RwLock};

/// Offline limits the checkout reads at every offline approval.
pub type SharedLimits = Arc<RwLock<OfflineLimits>>;

/// Applies a reloaded config to a running daemon.
#[derive(Clone)]
pub struct ReloadHandle {
    pub(super) offline: SharedLimits,
    pub(super) started_with: Arc<StoreConfig>,
}

impl ReloadHandle {
    /// Takes what can be taken from `c`; logs what needs a restart.
    pub fn apply(&self, c: &StoreConfig) {
        if let Some(level) = &c.log_level {
            if let Err(e) = crate::logging::set_level(level) {
                tracing::error!(error = %e, "SIGHUP: log_level not changed");
            }
        }
        let mut limits = self.offline.write().unwrap_or_else(|p| p.into_inner());
        if *limits != c.offline {
            *limits = c.offline.clone();
            tracing::info!(
                floor_limit = c.offline.floor_limit,
                total_limit = c.offline.total_limit,
                max_count = c.offline.max_count,
                "SIGHUP: offline limits changed"
            );
        }
        drop(limits);
        let old = &self.started_with;
        for (key, changed) in [
            ("data_dir", old.data_dir != c.data_dir),
            (
                "store",
                old.store.terminal_reference != c.store.terminal_reference || old.store.currency != c.store.currency,
            ),
            (
                "acquirer",
                old.acquirer.url != c.acquirer.url || old.acquirer.credentials_file != c.acquirer.credentials_file,
            ),
            ("ecr.listen", old.ecr.listen != c.ecr.listen),
            ("device_profile", old.device_profile != c.device_profile),
            ("printer_endpoint", old.printer_endpoint != c.printer_endpoint),
            ("sync", old.sync != c.sync),
            ("fleet", old.fleet != c.fleet),
            ("console", old.console != c.console),
        ] {
            if changed {
                tracing::warn!(key, "SIGHUP: this setting changes only at the next start; restart the service");
            }
        }
        tracing::info!("SIGHUP: config reloaded");
    }
}
