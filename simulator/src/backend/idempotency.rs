//! Idempotency of POSTs: same key → the original response replayed for 24 h; same key
//! with another body → a conflict.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// How long a key is remembered.
pub const KEY_TTL_HOURS: i64 = 24;

/// A stored response.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body, byte for byte.
    pub body: Vec<u8>,
}

struct Entry {
    operation: String,
    request: Vec<u8>,
    response: StoredResponse,
    at: DateTime<Utc>,
}

/// What to do with a request.
pub enum Lookup {
    /// First time: process it.
    New,
    /// Seen with the same body: send this again.
    Replay(StoredResponse),
    /// Seen with another body or operation: refuse.
    Conflict,
}

/// Keys seen in the last 24 h.
#[derive(Default)]
pub struct IdempotencyStore {
    entries: HashMap<String, Entry>,
    last_purge: Option<DateTime<Utc>>,
}

/// How often expired keys are swept (a sweep per request would make a busy acquirer
/// quadratic).
const PURGE_EVERY_SECS: i64 = 60;

impl IdempotencyStore {
    /// Looks `key` up for `operation` with `request` body.
    pub fn lookup(&mut self, key: &str, operation: &str, request: &[u8], now: DateTime<Utc>) -> Lookup {
        if self.last_purge.is_none_or(|t| now - t >= Duration::seconds(PURGE_EVERY_SECS)) {
            self.entries.retain(|_, e| now - e.at < Duration::hours(KEY_TTL_HOURS));
            self.last_purge = Some(now);
        }
        match self.entries.get(key) {
            None => Lookup::New,
            Some(e) if now - e.at >= Duration::hours(KEY_TTL_HOURS) => Lookup::New,
            Some(e) if e.operation == operation && e.request == request => Lookup::Replay(e.response.clone()),
            Some(_) => Lookup::Conflict,
        }
    }

    /// Remembers the response to a new request.
    pub fn store(&mut self, key: &str, operation: &str, request: &[u8], response: StoredResponse, now: DateTime<Utc>) {
        self.entries.insert(
            key.to_string(),
            Entry { operation: operation.to_string(), request: request.to_vec(), response, at: now },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_conflict_and_expiry() {
        let mut s = IdempotencyStore::default();
        let t0 = Utc::now();
        assert!(matches!(s.lookup("k", "authorize", b"{}", t0), Lookup::New));
        s.store("k", "authorize", b"{}", StoredResponse { status: 200, body: b"ok".to_vec() }, t0);
        assert!(matches!(s.lookup("k", "authorize", b"{}", t0), Lookup::Replay(r) if r.body == b"ok"));
        assert!(matches!(s.lookup("k", "authorize", b"{\"a\":1}", t0), Lookup::Conflict));
        assert!(matches!(s.lookup("k", "cancel", b"{}", t0), Lookup::Conflict));
        assert!(matches!(s.lookup("k", "authorize", b"{}", t0 + Duration::hours(25)), Lookup::New));
    }
}
