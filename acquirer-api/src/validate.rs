//! The forms both ends check the same way, as docs/acquirer-api.yaml and
//! docs/ecr-api.yaml state them: locales, idempotency keys, Klarna's interoperability
//! token and data. One definition, used by the terminal and the simulated acquirer.

use crate::MAX_INTEROPERABILITY_LEN;

/// A locale like `sv-SE`: two lower-case letters, `-`, two upper-case letters.
pub fn is_locale(l: &str) -> bool {
    let b = l.as_bytes();
    b.len() == 5
        && b[..2].iter().all(u8::is_ascii_lowercase)
        && b[2] == b'-'
        && b[3..].iter().all(u8::is_ascii_uppercase)
}

/// An idempotency key: 1 to 255 visible ASCII characters (a UUID fits).
pub fn is_idempotency_key(k: &str) -> bool {
    (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
}

/// Klarna's interoperability token or data as given: 1 to [`MAX_INTEROPERABILITY_LEN`]
/// characters, no control characters (it is passed on unaltered).
pub fn check_interoperability_text(v: &str) -> Result<(), String> {
    if v.is_empty() || v.chars().count() > MAX_INTEROPERABILITY_LEN {
        return Err(format!("must be 1 to {MAX_INTEROPERABILITY_LEN} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Klarna's interoperability token: the text rules, and visible ASCII only (a token is
/// a JWT; anything else could not be passed on in a query string).
pub fn check_interoperability_token(v: &str) -> Result<(), String> {
    check_interoperability_text(v)?;
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be visible ASCII characters only, as Klarna issues it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(is_locale("sv-SE") && !is_locale("sv_SE") && !is_locale("SV-se") && !is_locale(""));
        assert!(is_idempotency_key("a") && !is_idempotency_key("") && !is_idempotency_key("a b"));
        assert!(!is_idempotency_key(&"k".repeat(256)) && !is_idempotency_key("Ä"));
        assert!(check_interoperability_token("eyJ.a.b").is_ok());
        assert!(check_interoperability_token("t\u{e9}").is_err() && check_interoperability_text("t\u{e9}").is_ok());
        assert!(check_interoperability_text("a\u{1}").is_err() && check_interoperability_text("").is_err());
    }
}
