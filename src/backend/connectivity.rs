//! Whether the acquirer answers: set by every call's final outcome, read by the card
//! flow (offline approvals) and the sync worker (drain as soon as it is back).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use tokio::sync::watch;

/// Shared view of the acquirer's reachability.
#[derive(Debug)]
pub struct Connectivity {
    online: AtomicBool,
    last_try_ms: AtomicI64,
    /// When a call last got an answer (ms since the epoch); 0: none yet.
    last_answer_ms: AtomicI64,
    /// The acquirer's clock minus ours (ms), from its last `Date`; `i64::MIN`: none yet.
    clock_offset_ms: AtomicI64,
    /// Counts changes; a receiver sees every change made after it last looked, even one
    /// made between its looking and its waiting.
    changes: watch::Sender<u64>,
}

/// While offline, how often a caller that can afford a timeout may try the acquirer.
const RETRY_OFFLINE_MS: i64 = 5_000;

impl Default for Connectivity {
    fn default() -> Self {
        Connectivity {
            online: AtomicBool::new(true),
            last_try_ms: AtomicI64::new(0),
            last_answer_ms: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
            clock_offset_ms: AtomicI64::new(i64::MIN),
            changes: watch::Sender::new(0),
        }
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

    /// Records the acquirer's clock from the `Date` header of an answer (RFC 9110
    /// IMF-fixdate, 1 s resolution); other values are ignored.
    pub fn record_date(&self, headers: &reqwest::header::HeaderMap) {
        let Some(date) = headers.get(reqwest::header::DATE).and_then(|d| d.to_str().ok()) else { return };
        if let Ok(theirs) = chrono::DateTime::parse_from_rfc2822(date) {
            let offset = theirs.timestamp_millis() - chrono::Utc::now().timestamp_millis();
            self.clock_offset_ms.store(offset, Ordering::Relaxed);
        }
    }

    /// The acquirer's clock minus ours in seconds, from its last answer's `Date`
    /// (answers carry whole seconds: within ±1 s is agreement).
    pub fn clock_offset_seconds(&self) -> Option<f64> {
        let ms = self.clock_offset_ms.load(Ordering::Relaxed);
        (ms != i64::MIN).then_some(ms as f64 / 1000.0)
    }

    /// How long since a call last got an answer (since start when none has).
    pub fn quiet_for(&self) -> std::time::Duration {
        let ms = chrono::Utc::now().timestamp_millis() - self.last_answer_ms.load(Ordering::SeqCst);
        std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Records a call's outcome; wakes whoever waits for a change.
    pub fn set(&self, online: bool) {
        if online {
            self.last_answer_ms.store(chrono::Utc::now().timestamp_millis(), Ordering::SeqCst);
        }
        if self.online.swap(online, Ordering::SeqCst) != online {
            if online {
                tracing::info!("the acquirer answers again");
            } else {
                tracing::warn!(
                    "the acquirer is unreachable; card payments within the offline limits are approved by the terminal and forwarded later; Klarna is not offered"
                );
            }
            self.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A watch on the state: [`watch::Receiver::changed`] returns once it changed since
    /// the receiver last looked ([`watch::Receiver::borrow_and_update`]).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_wakes_the_waiter() {
        let c = std::sync::Arc::new(Connectivity::default());
        assert!(c.is_online());
        let mut watch = c.watch();
        c.set(true); // no change: nobody is woken
        assert!(!watch.has_changed().unwrap_or(true));
        // A change made before the waiter waits is still seen.
        c.set(false);
        let seen = tokio::time::timeout(std::time::Duration::from_secs(1), watch.changed()).await;
        assert!(matches!(seen, Ok(Ok(()))), "the change was missed");
        assert!(!c.is_online());
        assert!(c.should_try(), "the first caller offline tries");
        assert!(!c.should_try(), "the next ones are answered at once");
        c.set(true);
        assert!(c.should_try());
    }

    #[test]
    fn the_acquirers_clock_is_read_from_its_date_header() {
        let c = Connectivity::default();
        assert_eq!(c.clock_offset_seconds(), None, "no answer yet: no offset");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::DATE, reqwest::header::HeaderValue::from_static("yesterday"));
        c.record_date(&headers);
        assert_eq!(c.clock_offset_seconds(), None, "a malformed Date is ignored");
        let ahead = chrono::Utc::now() + chrono::Duration::seconds(120);
        let date = ahead.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let value = reqwest::header::HeaderValue::from_str(&date);
        assert!(value.is_ok(), "{date}");
        if let Ok(v) = value {
            headers.insert(reqwest::header::DATE, v);
        }
        c.record_date(&headers);
        let offset = c.clock_offset_seconds().unwrap_or_default();
        assert!((118.0..=121.0).contains(&offset), "{offset}");
    }
}
