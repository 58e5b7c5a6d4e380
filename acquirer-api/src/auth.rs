//! Bearer-token checks shared by both ends of the wire.

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xFF));
    }
    diff == 0
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
