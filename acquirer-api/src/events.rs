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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventMetadata {
    /// Unique id (de-duplicate on it).
    pub event_id: String,
    /// e.g. `payment.request.state-change.completed`, `payment.transaction.captured`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^payment\.(request|transaction)\."))]
    pub event_type: String,
    /// `v2`.
    pub event_version: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Position in this terminal's stream (read on with `after=seq`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub seq: u64,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalEvent {
    /// Metadata.
    pub metadata: EventMetadata,
    /// The payment request or transaction as it now is.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::event_payload))]
    pub payload: serde_json::Value,
}

/// Answer of `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    /// Events after the requested sequence number, oldest first.
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
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

/// The keys a terminal checks event pages with, each under the id the acquirer names in
/// `Klarna-Signing-Key-Id` (listing an old and a new key rotates without a gap).
#[derive(Clone)]
pub struct SigningKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The ids only: a key never reaches a log.
        f.debug_list().entries(self.keys.iter().map(|(id, _)| id)).finish()
    }
}

/// Why an event page's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureProblem {
    /// No `Klarna-Signature` header.
    Missing,
    /// Signed with a key the terminal does not have.
    UnknownKey(String),
    /// The signature does not match the body.
    Mismatch,
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::Missing => write!(f, "the page is not signed"),
            SignatureProblem::UnknownKey(id) => write!(f, "signed with key `{id}`, which this terminal does not have"),
            SignatureProblem::Mismatch => write!(f, "the signature does not match the page"),
        }
    }
}

impl SigningKeys {
    /// The key derived from the terminal's API key (id [`SIGNING_KEY_ID`]), for an
    /// acquirer that provisions none.
    pub fn derived(api_key: &str) -> Self {
        SigningKeys { keys: vec![(SIGNING_KEY_ID.to_string(), signing_key(api_key))] }
    }

    /// Keys from a file's text: one `KEY_ID HEX_SECRET` per line (at least 16 bytes of
    /// secret), `#` comments and blank lines allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = vec![];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(id), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {}: write `KEY_ID HEX_SECRET`", n + 1));
            };
            let secret = decode_hex(hex).ok_or_else(|| format!("line {}: the secret is not hex", n + 1))?;
            if secret.len() < 16 {
                return Err(format!("line {}: the secret of `{id}` is shorter than 16 bytes", n + 1));
            }
            keys.push((id.to_string(), secret));
        }
        if keys.is_empty() {
            return Err("no key in the file".into());
        }
        Ok(SigningKeys { keys })
    }

    /// Checks `body` against `signature_hex` made with the key `key_id` names (the
    /// header may be left out when there is one key).
    pub fn verify(
        &self,
        key_id: Option<&str>,
        body: &[u8],
        signature_hex: Option<&str>,
    ) -> Result<(), SignatureProblem> {
        let signature = signature_hex.ok_or(SignatureProblem::Missing)?;
        let key = match key_id {
            Some(id) => {
                self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| SignatureProblem::UnknownKey(id.into()))?
            }
            None if self.keys.len() == 1 => &self.keys[0],
            None => return Err(SignatureProblem::UnknownKey(String::new())),
        };
        if verify(&key.1, body, signature) { Ok(()) } else { Err(SignatureProblem::Mismatch) }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
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
    fn provisioned_keys_are_chosen_by_id() {
        let keys = SigningKeys::parse(
            "# rotated 2026-11\nold 00112233445566778899aabbccddeeff\nnew ffeeddccbbaa99887766554433221100ffee\n",
        );
        let keys = keys.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{keys:?}"), r#"["old", "new"]"#, "ids only, never the secrets");
        let new_key = decode_hex("ffeeddccbbaa99887766554433221100ffee").unwrap_or_default();
        let sig = sign(&new_key, b"page");
        assert_eq!(keys.verify(Some("new"), b"page", Some(&sig)), Ok(()));
        assert_eq!(keys.verify(Some("old"), b"page", Some(&sig)), Err(SignatureProblem::Mismatch));
        assert_eq!(keys.verify(Some("gone"), b"page", Some(&sig)), Err(SignatureProblem::UnknownKey("gone".into())));
        assert_eq!(keys.verify(Some("new"), b"page", None), Err(SignatureProblem::Missing));
        assert!(keys.verify(None, b"page", Some(&sig)).is_err(), "two keys: the id is needed");
        let derived = SigningKeys::derived("k1");
        assert_eq!(derived.verify(None, b"p", Some(&sign(&signing_key("k1"), b"p"))), Ok(()));
        for bad in ["", "# nothing", "id", "id 0011", "id zz112233445566778899aabbccddeeff", "id 0011 extra"] {
            assert!(SigningKeys::parse(bad).is_err(), "{bad:?}");
        }
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
