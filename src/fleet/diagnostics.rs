//! The redacted diagnostics bundle (the fleet's `diagnostics-bundle` command): what store
//! IT asks for first when a terminal misbehaves — build, system, health, doctor's checks,
//! the config file and the pushed layers it runs, the pushed configuration's status —
//! as one JSON object. Redacted before it leaves: the contents of the terminal's secret
//! files (the ECR token, the acquirer's key, the event-signing keys) wherever they
//! appear, card-number-like digit runs (13 to 19 digits passing Luhn), `Bearer …`
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
    let mut secrets = vec![];
    if let Ok(c) = super::applied::load_running(path, record) {
        let files = [Some(c.data_dir.join(&c.ecr.token_file)), Some(c.acquirer.credentials_file.clone())];
        let keys = c.acquirer.event_signing_keys_file.clone();
        for file in files.into_iter().chain([keys]).flatten() {
            if let Ok(secret) = std::fs::read_to_string(&file) {
                secrets.extend(secret.split_whitespace().filter(|s| s.len() >= 8).map(str::to_string));
            }
        }
    }
    (json!({ "file": path.display().to_string(), "text": text }), pushed, secrets)
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
    if let Some(at) = line.find("Bearer ") {
        let end = line[at + 7..].find(|c: char| c.is_whitespace() || c == '"').map_or(line.len(), |e| at + 7 + e);
        line.replace_range(at + 7..end, REDACTED);
    }
    let line = redact_url_users(&line);
    redact_card_numbers(&line)
}

/// `scheme://user:password@host` → `scheme://[redacted]@host`.
fn redact_url_users(line: &str) -> String {
    let mut out = String::new();
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
        if rest.is_empty() {
            break;
        }
        let (done, next) = rest.split_at(1);
        out.push_str(done);
        rest = next;
    }
    out.push_str(rest);
    out
}

/// Runs of 13 to 19 digits (spaces and dashes between allowed) that pass Luhn.
fn redact_card_numbers(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        let mut digits = vec![];
        while j < chars.len() && (chars[j].is_ascii_digit() || (matches!(chars[j], ' ' | '-') && digits.len() < 19)) {
            if let Some(d) = chars[j].to_digit(10) {
                digits.push(d);
            }
            j += 1;
        }
        while j > i && !chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            out.push_str(REDACTED);
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
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
                    pan 4111 1111 1111 1111 and 4111111111111112 and 2026-12-04\nAuthorization: Bearer eyJabc.def";
        let out = redact_text(text, &secrets);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(out.contains("https://[redacted]@acq.example/v1") && !out.contains("bob"), "{out}");
        assert!(out.contains("api_token = \"[redacted]\"") && !out.contains("abc\""), "{out}");
        assert!(!out.contains("4111 1111 1111 1111"), "a Luhn-valid PAN: {out}");
        assert!(out.contains("4111111111111112"), "not Luhn-valid: left as it is: {out}");
        assert!(out.contains("2026-12-04"), "{out}");
        assert!(out.contains("Bearer [redacted]") && !out.contains("eyJ"), "{out}");
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
