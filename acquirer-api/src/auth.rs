//! Bearer-token checks shared by both ends of the wire.

/// Compares two secrets in time independent of where they differ (`subtle`; only a
/// difference in length shows, and the lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// The token of an `Authorization: Bearer <token>` header value (empty if none).
pub fn bearer_token(authorization: Option<&str>) -> &str {
    authorization.and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
