//! The terminal event stream: payment request and transaction state changes, read by
//! long poll (`GET /v1/events?after=SEQ`) and signed HMAC-SHA256 over the raw body.
//!
//! Headers: `Klarna-Signature` (lowercase hex of the HMAC) and `Klarna-Signing-Key-Id`.
//! Each terminal's signing key is derived from its API key:
//! `HMAC-SHA256(key = API key, message = "posagent-terminal-events-v1")`.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Header with the body's signature.
pub const SIGNATURE_HEADER: &str = "Klarna-Signature";
/// Header naming the signing key.
pub const SIGNING_KEY_ID_HEADER: &str = "Klarna-Signing-Key-Id";
/// The id of the derived key.
pub const SIGNING_KEY_ID: &str = "terminal-events-v1";

/// Envelope metadata, as Klarna's webhooks carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Unique id (de-duplicate on it).
    pub event_id: String,
    /// e.g. `payment.request.state-change.completed`, `payment.transaction.captured`.
    pub event_type: String,
    /// `v2`.
    pub event_version: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Position in this terminal's stream (read on with `after=seq`).
    pub seq: u64,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalEvent {
    /// Metadata.
    pub metadata: EventMetadata,
    /// The payment request or transaction as it now is.
    pub payload: serde_json::Value,
}

/// Answer of `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// Events after the requested sequence number, oldest first.
    pub events: Vec<TerminalEvent>,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The event signing key of a terminal with `api_key`.
pub fn signing_key(api_key: &str) -> Vec<u8> {
    hmac(api_key.as_bytes(), b"posagent-terminal-events-v1")
}

/// Lowercase hex HMAC-SHA256 of `body` under `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    hmac(key, body).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a signature in constant time.
pub fn verify(key: &[u8], body: &[u8], signature_hex: &str) -> bool {
    crate::auth::constant_time_eq(sign(key, body).as_bytes(), signature_hex.to_ascii_lowercase().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tampering_and_wrong_keys_fail() {
        let key = signing_key("k1");
        let sig = sign(&key, b"{\"a\":1}");
        assert!(verify(&key, b"{\"a\":1}", &sig));
        assert!(!verify(&key, b"{\"a\":2}", &sig));
        assert!(!verify(&signing_key("k2"), b"{\"a\":1}", &sig));
    }
}
