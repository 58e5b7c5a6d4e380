//! Whether the acquirer answers: set by every call's final outcome, read by the card
//! flow (offline approvals) and the sync worker (drain as soon as it is back).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use tokio::sync::Notify;

/// Shared view of the acquirer's reachability.
#[derive(Debug)]
pub struct Connectivity {
    online: AtomicBool,
    last_try_ms: AtomicI64,
    changed: Notify,
}

/// While offline, how often a caller that can afford a timeout may try the acquirer.
const RETRY_OFFLINE_MS: i64 = 5_000;

impl Default for Connectivity {
    fn default() -> Self {
        Connectivity { online: AtomicBool::new(true), last_try_ms: AtomicI64::new(0), changed: Notify::new() }
    }
}

impl Connectivity {
    /// Whether the last call got an answer (optimistic until a call fails).
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::SeqCst)
    }

    /// Whether to call the acquirer now: always when online; when offline, one caller
    /// every few seconds (so a live answer brings it back without waiting for the sync
    /// worker's probe), the others are told at once that it is unreachable.
    pub fn should_try(&self) -> bool {
        if self.is_online() {
            return true;
        }
        let now = chrono::Utc::now().timestamp_millis();
        let last = self.last_try_ms.load(Ordering::SeqCst);
        now - last >= RETRY_OFFLINE_MS
            && self.last_try_ms.compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// Records a call's outcome; wakes whoever waits for a change.
    pub fn set(&self, online: bool) {
        if self.online.swap(online, Ordering::SeqCst) != online {
            if online {
                tracing::info!("the acquirer answers again");
            } else {
                tracing::warn!(
                    "the acquirer is unreachable; card payments within the offline limits are approved by the terminal and forwarded later; Klarna is not offered"
                );
            }
            self.changed.notify_waiters();
        }
    }

    /// Waits until the state changes.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_wakes_the_waiter() {
        let c = std::sync::Arc::new(Connectivity::default());
        assert!(c.is_online());
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.changed().await })
        };
        tokio::task::yield_now().await;
        c.set(true); // no change: nobody is woken
        assert!(!waiter.is_finished());
        c.set(false);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter).await.ok();
        assert!(!c.is_online());
        assert!(c.should_try(), "the first caller offline tries");
        assert!(!c.should_try(), "the next ones are answered at once");
        c.set(true);
        assert!(c.should_try());
    }
}
