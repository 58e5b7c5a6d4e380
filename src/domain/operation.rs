//! The operations a sale or a return asks of the acquirer, each under an idempotency key
//! named by the operation: the names are part of every key already sent, and of the
//! journal's `operations` table, so they never change.

use std::fmt;

/// An operation on a sale (or a return) that is sent under its own idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// The first authorization of a Klarna sale (answered with a payment request).
    Authorize,
    /// The final authorization of a Klarna sale, with the customer's session token.
    AuthorizeFinal,
    /// The authorization of one card read, named by a digest of the read's KSN: every
    /// read is a new authorization, never under a key sent with another body.
    AuthorizeRead(ReadDigest),
    /// The cancel of the sale's payment request.
    Cancel,
    /// The reversal of a card authorization whose answer never came.
    Reverse,
    /// A capture of an approved sale.
    Capture(CaptureKey),
    /// A void of what remains of an approved sale's authorization; under the register's
    /// own key when it sent one.
    Void(Option<String>),
    /// The refund of a return.
    Refund,
}

/// What names a capture's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CaptureKey {
    /// The register's own `Idempotency-Key`.
    Register(String),
    /// No key from the register: the amount captured or queued before it, and its amount.
    Next {
        /// Captured and queued before this capture, minor units.
        before: i64,
        /// This capture's amount, minor units.
        amount: i64,
    },
}

/// The first 16 hex digits of a UUIDv5 (OID namespace) of a card read's KSN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadDigest(String);

impl ReadDigest {
    /// The digest of the read whose key serial number is `ksn`.
    pub fn of(ksn: &[u8]) -> Self {
        let digest = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, ksn);
        ReadDigest(digest.simple().to_string()[..16].to_string())
    }
}

impl Operation {
    /// The name the idempotency key is made of, and the journal's `operations` row.
    pub fn name(&self) -> String {
        match self {
            Operation::Authorize => "authorize".into(),
            Operation::AuthorizeFinal => "authorize-final".into(),
            Operation::AuthorizeRead(ReadDigest(d)) => format!("authorize:{d}"),
            Operation::Cancel => "cancel".into(),
            Operation::Reverse => "reverse".into(),
            Operation::Capture(CaptureKey::Register(k)) => format!("capture:{k}"),
            Operation::Capture(CaptureKey::Next { before, amount }) => format!("capture:{before}:{amount}"),
            Operation::Void(None) => "void".into(),
            Operation::Void(Some(k)) => format!("void:{k}"),
            Operation::Refund => "refund".into(),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names keys were made of before the enum: a journal written then, and the keys
    /// already sent to the acquirer, stay valid.
    #[test]
    fn names_are_those_of_the_keys_already_sent() {
        let cases = [
            (Operation::Authorize, "authorize"),
            (Operation::AuthorizeFinal, "authorize-final"),
            (
                Operation::AuthorizeRead(ReadDigest::of(&[0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x01])),
                "authorize:861c2e3d58ab53a5",
            ),
            (Operation::Cancel, "cancel"),
            (Operation::Reverse, "reverse"),
            (Operation::Capture(CaptureKey::Register("REG-1".into())), "capture:REG-1"),
            (Operation::Capture(CaptureKey::Next { before: 0, amount: 500 }), "capture:0:500"),
            (Operation::Void(None), "void"),
            (Operation::Void(Some("REG-2".into())), "void:REG-2"),
            (Operation::Refund, "refund"),
        ];
        for (op, name) in cases {
            assert_eq!(op.name(), name);
            assert_eq!(op.to_string(), name);
        }
    }
}
