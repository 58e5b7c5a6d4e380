//! The service manager's side (systemd `Type=notify`): `READY=1` with a status once the
//! daemon serves, `STOPPING=1` when it stops (`RELOADING=1` when it restarts in place), and `WATCHDOG=1` every third of
//! `WatchdogSec` while the journal answers a read within that time — a wedged journal or
//! runtime stops the pings and systemd restarts the service. Without `NOTIFY_SOCKET`
//! (not under systemd, tests) every call does nothing.

use crate::store::Journal;
use sd_notify::NotifyState;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tells the service manager the daemon serves.
pub fn ready(status: &str) {
    if let Err(e) = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(status)]) {
        tracing::warn!(error = %e, "cannot tell systemd the daemon is ready");
    }
}

/// Tells the service manager the daemon restarts in the same process (`exec`), to run a
/// new configuration: `RELOADING=1` (not `STOPPING=1`, after which systemd waits for the
/// process to end); the new start's `READY=1` ends it.
pub fn reloading() {
    let _ =
        sd_notify::notify(false, &[NotifyState::Reloading, NotifyState::Status("restarting with a new configuration")]);
}

/// Tells the service manager the daemon is stopping.
pub fn stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Feeds the watchdog while the journal answers, until `stop`, on a task of `tasks`;
/// `None` without a watchdog.
pub fn spawn_watchdog(tasks: &TaskTracker, journal: Journal, stop: CancellationToken) -> Option<JoinHandle<()>> {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return None;
    }
    let period = Duration::from_micros(usec) / 3;
    Some(tasks.spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            match tokio::time::timeout(period, journal.queue_summary()).await {
                Ok(Ok(_)) => {
                    let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
                }
                Ok(Err(e)) => tracing::error!(error = %e, "the journal does not answer; the watchdog is not fed"),
                Err(_) => tracing::error!("the journal took too long to answer; the watchdog is not fed"),
            }
        }
    }))
}
