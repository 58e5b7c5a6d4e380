//! The redacted diagnostics bundle (the fleet's `diagnostics-bundle` command): what store
//! IT asks for first when a terminal misbehaves — build, system, health, doctor's checks,
//! the config file and the pushed layers it runs, the pushed configuration's status —
//! as one JSON object. Redacted before it leaves: the contents of the terminal's secret
//! files (the ECR token, the acquirer's key, the event-signing keys) wherever they
//! appear (the ECR TLS, acquirer and fleet private keys too), card-number-like digit runs
//! (13 to 19 consecutive digits passing Luhn, anywhere in a longer run), `Bearer`/`Basic`
//! credentials, a URL's user and password, and the values of keys named like secrets.

use super::applied::AppliedFile;
use crate::daemon::DaemonFacts;
use serde_json::{Value, json};
use std::path::Path;

/// Largest text of one file put in the bundle, in bytes.
const MAX_FILE_TEXT: usize = 32 * 1024;
/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Collects the bundle; `config_path` and `record` as the daemon runs them.
pub async fn collect(facts: &DaemonFacts, config_path: Option<&Path>, record: Option<&Path>) -> Value {
    let health = serde_json::to_value(facts.health().await).unwrap_or(Value::Null);
    let doctor = match config_path {
        Some(path) => {
            let checks = crate::doctor::run(path).await;
            checks
                .iter()
                .map(|c| json!({ "level": format!("{:?}", c.level), "name": c.name, "detail": c.detail }))
                .collect()
        }
        None => vec![],
    };
    let (config_path, record) = (config_path.map(Path::to_path_buf), record.map(Path::to_path_buf));
    let files = tokio::task::spawn_blocking(move || files(config_path.as_deref(), record.as_deref()));
    let (config, pushed, secrets) = files.await.unwrap_or((Value::Null, Value::Null, vec![]));
    let mut bundle = json!({
        "version": super::state::VERSION,
        "build": super::state::build(),
        "uptime_secs": facts.uptime().as_secs(),
        "at_ms": crate::domain::now_ms(),
        "system": system(),
        "health": health,
        "doctor": doctor,
        "config": config,
        "pushed": pushed,
    });
    redact(&mut bundle, &secrets);
    bundle
}

/// The config file's text, the record (layers and status), and the secrets to redact.
fn files(config_path: Option<&Path>, record: Option<&Path>) -> (Value, Value, Vec<String>) {
    let Some(path) = config_path else { return (Value::Null, Value::Null, vec![]) };
    let text = read_text(path);
    let pushed = match record.map(AppliedFile::load) {
        Some(Ok(file)) => json!({
            "report": file.report(),
            "running": file.running,
            "record": record.map(|r| r.display().to_string()),
        }),
        Some(Err(e)) => json!({ "error": e.to_string() }),
        None => Value::Null,
    };
    let secrets = secrets_of(path, record);
    (json!({ "file": path.display().to_string(), "text": text }), pushed, secrets)
}

/// The contents of the terminal's secret files (the ECR token, the acquirer's key and
/// event-signing keys, the private keys of the ECR listener, the acquirer's mutual TLS
/// and the fleet link), word by word, the longest first: what [`redact_text`] hides.
pub fn secrets_of(path: &Path, record: Option<&Path>) -> Vec<String> {
    let mut secrets = vec![];
    // The config as it runs, else the local file alone (a bundle is wanted most when
    // something does not load).
    let loaded = super::applied::load_running(path, record).or_else(|_| crate::config::StoreConfig::load(path));
    if let Ok(c) = loaded {
        let a = &c.acquirer;
        let fleet_key = c.fleet.as_ref().and_then(|f| f.client_key_file.clone());
        let files = [
            Some(c.data_dir.join(&c.ecr.token_file)),
            Some(a.credentials_file.clone()),
            a.event_signing_keys_file.clone(),
            a.client_identity_file.clone(),
            c.ecr.tls_key_file.clone(),
            fleet_key,
        ];
        for file in files.into_iter().flatten() {
            if let Ok(secret) = std::fs::read_to_string(&file) {
                secrets.extend(secret.split_whitespace().filter(|s| s.len() >= 4).map(str::to_string));
            }
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

fn read_text(path: &Path) -> Value {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_FILE_TEXT)]).into_owned();
            Value::String(text)
        }
        Err(e) => json!({ "error": e.to_string() }),
    }
}

/// The OS, the kernel and this process's memory.
fn system() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let os = read("/etc/os-release")
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())));
    let kernel = read("/proc/sys/kernel/osrelease").map(|k| k.trim().to_string());
    let rss_kib = read("/proc/self/status").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok()))
    });
    json!({ "os": os, "kernel": kernel, "rss_kib": rss_kib })
}

/// Redacts every string in `v` (keys named like secrets: their whole value).
pub fn redact(v: &mut Value, secrets: &[String]) {
    match v {
        Value::String(s) => *s = redact_text(s, secrets),
        Value::Array(a) => a.iter_mut().for_each(|v| redact(v, secrets)),
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if secret_name(k) && !v.is_null() {
                    *v = Value::from(REDACTED);
                } else {
                    redact(v, secrets);
                }
            }
        }
        _ => {}
    }
}

fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["token", "secret", "password", "passwd", "api_key", "apikey", "private"].iter().any(|s| k.contains(s))
        && !k.ends_with("_file")
}

/// Redacts one text, line by line (TOML keys named like secrets, with their values).
pub fn redact_text(text: &str, secrets: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let key = line.split('=').next().unwrap_or_default().trim();
        if line.contains('=') && secret_name(key) {
            out.push_str(key);
            out.push_str(" = \"");
            out.push_str(REDACTED);
            out.push('"');
            continue;
        }
        out.push_str(&redact_words(line, secrets));
    }
    out
}

fn redact_words(line: &str, secrets: &[String]) -> String {
    let mut line = line.to_string();
    for s in secrets {
        if line.contains(s.as_str()) {
            line = line.replace(s.as_str(), REDACTED);
        }
    }
    let line = redact_credentials(&line);
    let line = redact_url_users(&line);
    redact_card_numbers(&line)
}

/// `Bearer …` and `Basic …` (any case, every one) → `Bearer [redacted]`.
fn redact_credentials(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let lower = rest.to_ascii_lowercase();
        let found = ["bearer ", "basic "].iter().filter_map(|w| lower.find(w).map(|i| (i, w.len()))).min();
        let Some((at, len)) = found else { break };
        // ASCII lower-casing keeps byte offsets, and the scheme's words are ASCII.
        let start = at + len;
        out.push_str(&rest[..start]);
        let value = &rest[start..];
        let end = value.find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',').unwrap_or(value.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host` → `scheme://[redacted]@host`.
fn redact_url_users(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail.find(|c: char| c == '/' || c == '"' || c.is_whitespace()).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Card numbers: within a run of digits (single spaces or dashes between them allowed),
/// every window of 13 to 19 consecutive digits that passes Luhn is redacted.
fn redact_card_numbers(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut hide = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // The run: digits, and single separators between digits.
        let mut positions = vec![];
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                positions.push(j);
                j += 1;
            } else if matches!(chars[j], ' ' | '-') && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
                j += 1;
            } else {
                break;
            }
        }
        let digits: Vec<u32> = positions.iter().filter_map(|p| chars[*p].to_digit(10)).collect();
        for len in 13..=19.min(digits.len()) {
            for from in 0..=digits.len() - len {
                if luhn(&digits[from..from + len]) {
                    hide[positions[from]..=positions[from + len - 1]].iter_mut().for_each(|h| *h = true);
                }
            }
        }
        i = j;
    }
    let mut out = String::with_capacity(line.len());
    let mut k = 0;
    while k < chars.len() {
        if hide[k] {
            out.push_str(REDACTED);
            while k < chars.len() && hide[k] {
                k += 1;
            }
        } else {
            out.push(chars[k]);
            k += 1;
        }
    }
    out
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 =
        digits.iter().rev().enumerate().map(|(i, d)| if i % 2 == 1 { (d * 2) / 10 + (d * 2) % 10 } else { *d }).sum();
    sum % 10 == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_card_numbers_credentials_and_url_users_are_redacted() {
        let secrets = vec!["s3cr3t-token-value".to_string()];
        let text = "a = \"s3cr3t-token-value\"\nurl = \"https://bob:pw@acq.example/v1\"\napi_token = \"abc\"\n\
                    pan 4111 1111 1111 1111 and 1234567890123 and 2026-12-04\nAuthorization: Bearer eyJabc.def";
        let out = redact_text(text, &secrets);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(out.contains("https://[redacted]@acq.example/v1") && !out.contains("bob"), "{out}");
        assert!(out.contains("api_token = \"[redacted]\"") && !out.contains("abc\""), "{out}");
        assert!(!out.contains("4111 1111 1111 1111"), "a Luhn-valid PAN: {out}");
        assert!(out.contains("1234567890123"), "13 digits, not Luhn-valid: left as it is: {out}");
        assert!(out.contains("2026-12-04"), "{out}");
        assert!(out.contains("Bearer [redacted]") && !out.contains("eyJ"), "{out}");
        let two = redact_text("a: bearer x1, b: Basic dXNlcjpwdw== c: BEARER y2", &[]);
        assert!(!two.contains("x1") && !two.contains("dXNl") && !two.contains("y2"), "{two}");
        let next_to = redact_text("4111 1111 1111 1111 123 and 9 4111111111111111", &[]);
        assert!(!next_to.contains("4111 1111") && !next_to.contains("4111111111111111"), "{next_to}");
        assert_eq!(redact_text("https://åhlens.se/x and ftp://é", &[]), "https://åhlens.se/x and ftp://é");
        assert_eq!(redact_text("http://ö@ä/", &[]), "http://[redacted]@ä/");
        assert_eq!(
            redact_text("credentials_file = \"/etc/posagent/key\"", &[]),
            "credentials_file = \"/etc/posagent/key\""
        );
    }

    #[test]
    fn json_keys_named_like_secrets_lose_their_values() {
        let mut v = json!({"ecr_token": "x", "detail": ["a 4111-1111-1111-1111 b"], "token_file": "/x", "n": 1});
        redact(&mut v, &[]);
        assert_eq!(v["ecr_token"], REDACTED);
        assert_eq!(v["token_file"], "/x");
        assert_eq!(v["detail"][0], "a [redacted] b");
    }
}
