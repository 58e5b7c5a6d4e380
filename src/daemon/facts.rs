//! What a running daemon tells about itself to what runs beside it (the fleet link,
//! `src/fleet/`): its health as `/health` says it, how long it has run, the offline
//! payments waiting, when the last sale began; and the few things it may be asked to do
//! (sync the queue now, apply a reloaded config, print a test receipt). Sales themselves are not told: only
//! that one changed.

use super::ReloadHandle;
use crate::domain::{OfflineExposure, SaleView};
use crate::ecr::EcrState;
use crate::store::StoreError;
use posagent_ecr_api::Health;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// A running daemon's facts, cheap to clone.
#[derive(Clone)]
pub struct DaemonFacts {
    pub(super) state: EcrState,
    pub(super) started: Instant,
    pub(super) reload: ReloadHandle,
}

impl DaemonFacts {
    /// The health, as `/health` answers it (its 0.5 s cache shared).
    pub async fn health(&self) -> Health {
        crate::ecr::health_snapshot(&self.state).await
    }

    /// How long the daemon has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Offline card approvals not yet forwarded, per currency.
    pub async fn offline_pending(&self) -> Result<Vec<(String, OfflineExposure)>, StoreError> {
        self.state.outbox.journal().offline_exposure_by_currency().await
    }

    /// When the last sale was created (RFC 3339), if there was one.
    pub async fn last_sale_at(&self) -> Result<Option<String>, StoreError> {
        self.state.outbox.journal().last_sale_created_at().await
    }

    /// Makes every waiting operation due now and wakes the sync worker.
    pub async fn sync_now(&self) -> Result<(), StoreError> {
        self.state.outbox.sync_now().await
    }

    /// Prints the printer's test receipt (`by`: who asked, printed on it).
    pub async fn print_test_receipt(&self, by: &str) -> Result<(), crate::devices::DeviceError> {
        self.state.reports.print_test_receipt(env!("CARGO_PKG_VERSION"), by).await
    }

    /// Applies a reloaded config, as SIGHUP does.
    pub fn reload(&self) -> &ReloadHandle {
        &self.reload
    }

    /// Whether a sale (or its receipt) is in progress.
    pub fn sale_in_progress(&self) -> bool {
        self.state.checkout.sale_in_progress()
    }

    /// The daemon's cancellation token: fires when it stops.
    pub fn stopping(&self) -> tokio_util::sync::CancellationToken {
        self.state.checkout.stopping()
    }

    /// Fires on every change of a sale (its content is for the register, not for the fleet).
    pub fn sale_changes(&self) -> broadcast::Receiver<SaleView> {
        self.state.checkout.subscribe()
    }
}
