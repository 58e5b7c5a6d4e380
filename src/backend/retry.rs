//! Retry policy: which failures are retried and how long to wait between attempts.

use std::time::Duration;

/// Bounded retries with capped exponential backoff and full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 4, base: Duration::from_millis(200), cap: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// Wait before retry number `retry` (1-based): uniform in `[0, min(cap, base·2^(retry−1))]`,
    /// or `retry_after` when the server asked for it (capped at 60 s).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, random_unit: f64) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(Duration::from_secs(60));
        }
        let ceiling = self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.cap);
        ceiling.mul_f64(random_unit.clamp(0.0, 1.0))
    }
}

/// Whether an HTTP status is worth retrying (server trouble or rate limiting).
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(800));
        assert_eq!(p.delay(12, None, 1.0), Duration::from_secs(5));
        assert_eq!(p.delay(3, None, 0.0), Duration::ZERO);
        assert_eq!(p.delay(3, None, 0.5), Duration::from_millis(400));
    }

    #[test]
    fn retry_after_wins_but_is_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Some(Duration::from_secs(3)), 0.1), Duration::from_secs(3));
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600)), 0.1), Duration::from_secs(60));
    }

    #[test]
    fn which_statuses_retry() {
        assert!(retryable_status(429) && retryable_status(500) && retryable_status(503));
        assert!(!retryable_status(400) && !retryable_status(409) && !retryable_status(404));
    }
}
