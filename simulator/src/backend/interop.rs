//! Klarna interoperability tokens as the simulated acquirer reads them: a JWT whose
//! payload carries the shopping session's `status` (as in Klarna's documented example).

use posagent_acquirer_api::InteroperabilityStatus;

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The status a token carries, if it is a readable interoperability token.
pub fn token_status(token: &str) -> Option<InteroperabilityStatus> {
    let payload = token.split('.').nth(1)?;
    let json: serde_json::Value = serde_json::from_slice(&base64url_decode(payload)?).ok()?;
    serde_json::from_value(json.get("status")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_of_klarnas_example_shape() {
        // {"shopping_session_id":"krn:shopping:eu1:session:x","status":"PAYMENT_PREPARED","version":1}
        let payload = "eyJzaG9wcGluZ19zZXNzaW9uX2lkIjoia3JuOnNob3BwaW5nOmV1MTpzZXNzaW9uOngiLCJzdGF0dXMiOiJQQVlNRU5UX1BSRVBBUkVEIiwidmVyc2lvbiI6MX0";
        assert_eq!(
            token_status(&format!("eyJhbGciOiJub25lIn0.{payload}.sig")),
            Some(InteroperabilityStatus::PaymentPrepared)
        );
        assert_eq!(token_status("not-a-token"), None);
        assert_eq!(token_status("a.!!!.c"), None);
    }
}
