//! `posagent doctor`: checks a terminal's setup and prints one line per check with OK,
//! WARN or FAIL and what to do: config, secret file modes, the journal's integrity and
//! open sales, disk space, the devices (through the running daemon, or directly), and the
//! acquirer (reachability, TLS, credentials, clock skew).

use crate::backend::tls_probe::{self, TlsVerdict};
use crate::config::{DeviceProfile, StoreConfig};
use std::path::Path;
use std::time::Duration;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but should be looked at.
    Warn,
    /// Broken.
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// OK, WARN or FAIL.
    pub level: Level,
    /// What was checked.
    pub name: String,
    /// What was found, and what to do.
    pub detail: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = match self.level {
            Level::Ok => "OK  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        write!(f, "{l} {:<22} {}", self.name, self.detail)
    }
}

fn check(level: Level, name: &str, detail: impl Into<String>) -> Check {
    Check { level, name: name.to_string(), detail: detail.into() }
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

fn secret_file(name: &str, path: &Path) -> Check {
    match mode(path) {
        None => check(Level::Fail, name, format!("{} is missing; create it (mode 0600)", path.display())),
        Some(m) if m & 0o077 != 0 => {
            check(Level::Fail, name, format!("{} has mode {m:o}; run `chmod 600 {}`", path.display(), path.display()))
        }
        Some(_) => match crate::ecr::read_secret_file(path) {
            Ok(_) => check(Level::Ok, name, format!("{} (0600, readable)", path.display())),
            Err(e) => unreadable(name, path, &e),
        },
    }
}

/// A token file (the acquirer key, the ECR token) checked as the daemon reads it.
fn token_file(name: &str, path: &Path) -> Check {
    match secret_file(name, path) {
        c if c.level != Level::Ok => c,
        c => match crate::ecr::read_token(path) {
            Ok(_) => c,
            Err(e) => check(Level::Fail, name, format!("{e}; the daemon will not start with it")),
        },
    }
}

fn unreadable(name: &str, path: &Path, e: &std::io::Error) -> Check {
    check(
        Level::Fail,
        name,
        format!(
            "cannot read {}: {e}; the daemon reads it as the service user: run `sudo -u posagent posagent doctor …`, or make it the service user's (`chown posagent {}`)",
            path.display(),
            path.display()
        ),
    )
}

fn journal(path: &Path) -> Vec<Check> {
    if !path.exists() {
        return vec![check(
            Level::Warn,
            "journal",
            format!("{} does not exist yet; it is created at the first start", path.display()),
        )];
    }
    let conn = match rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(c) => c,
        Err(e) => return vec![check(Level::Fail, "journal", format!("cannot open {}: {e}", path.display()))],
    };
    let mut out = vec![];
    match conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)) {
        Ok(s) if s == "ok" => out.push(check(Level::Ok, "journal integrity", "PRAGMA integrity_check: ok")),
        Ok(s) => out.push(check(
            Level::Fail,
            "journal integrity",
            format!("{s}; stop the daemon and restore the journal from backup"),
        )),
        Err(e) => out.push(check(Level::Fail, "journal integrity", e.to_string())),
    }
    let open = conn.query_row(
        "SELECT COUNT(*), MIN(updated_at) FROM sales WHERE state NOT IN ('APPROVED','DECLINED','CANCELED','EXPIRED','UNAVAILABLE','FAILED')",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)),
    );
    match open {
        Ok((0, _)) => out.push(check(Level::Ok, "open sales", "none")),
        Ok((n, oldest)) => {
            let age = oldest
                .and_then(|o| chrono::DateTime::parse_from_rfc3339(&o).ok())
                .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_minutes())
                .unwrap_or(0);
            let level = if age > 60 { Level::Warn } else { Level::Ok };
            out.push(check(
                level,
                "open sales",
                format!("{n} open, oldest changed {age} min ago; the daemon resumes them at start"),
            ));
        }
        Err(e) => out.push(check(Level::Fail, "open sales", e.to_string())),
    }
    out
}

fn disk(dir: &Path) -> Check {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize) / (1024 * 1024);
            let level = if free < 100 {
                Level::Fail
            } else if free < 1024 {
                Level::Warn
            } else {
                Level::Ok
            };
            check(level, "disk space", format!("{free} MiB free at {}", dir.display()))
        }
        Err(e) => check(Level::Warn, "disk space", format!("cannot read {}: {e}", dir.display())),
    }
}

async fn devices(config: &StoreConfig, profile: &DeviceProfile, http: &reqwest::Client) -> Vec<Check> {
    // A running daemon owns the devices: ask it (`/health` takes no token).
    let ecr = posagent_ecr_api::EcrClient::new(http.clone(), config.ecr.local_url(config.ecr.listen.port()), "");
    if let Ok(Ok(h)) = tokio::time::timeout(Duration::from_secs(2), ecr.health()).await {
        return h
            .devices
            .into_iter()
            .map(|d| {
                let name = format!("device {}", d.device);
                match (d.connected, d.last_error) {
                    (_, Some(e)) => check(Level::Fail, &name, format!("{e} (at {})", d.endpoint)),
                    (true, None) => check(Level::Ok, &name, format!("open at {}", d.endpoint)),
                    (false, None) => check(Level::Warn, &name, "not used yet since the daemon started"),
                }
            })
            .collect();
    }
    // No daemon: open each device ourselves and read its status.
    let mut out = vec![];
    let display = crate::devices::open_display(&profile.display).map(|_| ()).map_err(|e| e.to_string());
    out.push(match display {
        Ok(()) => check(Level::Ok, "device display", format!("answered at {}", profile.display.endpoint)),
        Err(e) => check(Level::Fail, "device display", e),
    });
    let printer = crate::devices::open_transport(&profile.printer.endpoint).map_err(|e| e.to_string()).and_then(|t| {
        if !profile.printer.reads_status {
            return Ok("opened (write-only link: no status)".to_string());
        }
        let mut p = posagent_drivers::printer::ReceiptPrinter::new(t, profile.printer.profile.clone(), true);
        p.status().map(|s| format!("{s:?}")).map_err(|e| e.to_string())
    });
    out.push(match printer {
        Ok(s) if s.contains("paper_out: true") || s.contains("cover_open: true") => {
            check(Level::Warn, "device printer", s)
        }
        Ok(s) => check(Level::Ok, "device printer", s),
        Err(e) => check(Level::Fail, "device printer", e),
    });
    if let Some(c) = &profile.card_reader {
        out.push(match crate::devices::open_transport(&c.endpoint) {
            Ok(_) => check(Level::Ok, "device card_reader", format!("port opens at {}", c.endpoint)),
            Err(e) => check(Level::Fail, "device card_reader", e.to_string()),
        });
    }
    out
}

async fn acquirer(config: &StoreConfig) -> Vec<Check> {
    const TIMEOUT: Duration = Duration::from_secs(10);
    let key = match crate::ecr::read_token(&config.acquirer.credentials_file) {
        Ok(k) => k,
        Err(_) => {
            return vec![check(
                Level::Fail,
                "acquirer",
                "not checked (reachability, TLS, credentials, clock): the acquirer key cannot be used; see \"acquirer key\"",
            )];
        }
    };
    let url = format!("{}/v1/klarna/availability", config.acquirer.url.trim_end_matches('/'));
    let q = [
        ("country", config.store.country.clone()),
        ("currency", config.store.currency.code().to_string()),
        ("amount", "10000".to_string()),
        ("locale", config.store.locale.clone()),
    ];
    // The daemon's own TLS settings: a private CA and the terminal's certificate.
    let pem = |path: &Option<std::path::PathBuf>| path.as_ref().map(std::fs::read).transpose();
    let (ca, identity) = match (pem(&config.acquirer.ca_file), pem(&config.acquirer.client_identity_file)) {
        (Ok(ca), Ok(identity)) => (ca, identity),
        (Err(e), _) | (_, Err(e)) => {
            let why = format!("cannot read acquirer.ca_file or acquirer.client_identity_file: {e}");
            return vec![check(Level::Fail, "acquirer", why)];
        }
    };
    let http = match crate::backend::http_client(&config.acquirer.url, TIMEOUT, ca.as_deref(), identity.as_deref()) {
        Ok(c) => c,
        Err(e) => return vec![check(Level::Fail, "acquirer", format!("{e}"))],
    };
    // One retry on a transport error: a single dropped connection is not a verdict on
    // the acquirer (a refused certificate or a dead network fails both times).
    let mut sent = http.get(&url).bearer_auth(&key).query(&q).send().await;
    if sent.is_err() {
        sent = http.get(&url).bearer_auth(&key).query(&q).send().await;
    }
    match sent {
        Err(e) => {
            let e = e.without_url();
            let (mut causes, mut hint) = (crate::backend::causes(&e), crate::backend::unreachable_hint(&e));
            // A connection closed after the handshake: the TLS alert says why.
            if let TlsVerdict::Refused(alert) =
                tls_probe::probe(&config.acquirer.url, ca.as_deref(), identity.as_deref(), TIMEOUT).await
            {
                causes = format!("TLS: {alert}");
                hint = crate::backend::tls_refusal_hint(&alert);
            }
            vec![check(Level::Fail, "acquirer", format!("{}: {causes}; {hint}", config.acquirer.url))]
        }
        Ok(r) => {
            let mut out = vec![];
            let status = r.status();
            out.push(match status.as_u16() {
                200 => check(Level::Ok, "acquirer", format!("{} answers; credentials accepted", config.acquirer.url)),
                401 | 403 => {
                    check(Level::Fail, "acquirer", "the terminal API key is refused; check acquirer.credentials_file")
                }
                s => check(Level::Warn, "acquirer", format!("answered HTTP {s}")),
            });
            if let Some(date) = r.headers().get(reqwest::header::DATE).and_then(|d| d.to_str().ok()) {
                if let Ok(t) = chrono::DateTime::parse_from_rfc2822(date) {
                    let skew = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds().abs();
                    let level = if skew > 60 { Level::Warn } else { Level::Ok };
                    out.push(check(
                        level,
                        "clock",
                        format!("{skew} s from the acquirer's clock{}", if skew > 60 { "; enable NTP" } else { "" }),
                    ));
                }
            }
            out
        }
    }
}

/// Checks the config at `path` and the device profile it names, nothing else: no
/// device, network, journal or secret is touched (`posagent config check`, for tools
/// that validate a file before putting it in place).
pub fn check_config(path: &Path) -> Vec<Check> {
    let config = match StoreConfig::load(path) {
        Ok(c) => c,
        Err(e) => return vec![check(Level::Fail, "config", e.to_string())],
    };
    let profile = match DeviceProfile::load(&config.device_profile) {
        Ok(p) => check(Level::Ok, "device profile", format!("{} ({})", p.model, config.device_profile.display())),
        Err(e) => check(Level::Fail, "device profile", e.to_string()),
    };
    vec![check(Level::Ok, "config", format!("{} loads", path.display())), profile]
}

/// Runs every check for the config at `path`.
pub async fn run(path: &Path) -> Vec<Check> {
    let config = match StoreConfig::load(path) {
        Ok(c) => c,
        Err(e) => return vec![check(Level::Fail, "config", e.to_string())],
    };
    let mut out = vec![check(Level::Ok, "config", format!("{} loads", path.display()))];
    let profile = match DeviceProfile::load(&config.device_profile)
        .and_then(|p| p.with_store_endpoints(config.printer_endpoint.as_ref()))
    {
        Ok(p) => {
            out.push(check(Level::Ok, "device profile", format!("{} ({})", p.model, config.device_profile.display())));
            Some(p)
        }
        Err(e) => {
            out.push(check(Level::Fail, "device profile", e.to_string()));
            None
        }
    };
    out.push(token_file("acquirer key", &config.acquirer.credentials_file));
    out.push(token_file("ECR token", &config.data_dir.join(&config.ecr.token_file)));
    match (&config.ecr.tls_cert_file, &config.ecr.tls_key_file) {
        (Some(cert), Some(key)) => {
            let loaded = std::fs::read(cert)
                .and_then(|c| std::fs::read(key).map(|k| (c, k)))
                .map_err(|e| e.to_string())
                .and_then(|(c, k)| crate::ecr::tls::server_config(&c, &k));
            out.push(match loaded {
                Ok(_) => secret_file("ECR TLS key", key),
                Err(e) => check(Level::Fail, "ECR TLS", format!("{}: {e}", cert.display())),
            });
        }
        _ if !config.ecr.listen.ip().is_loopback() => out.push(match config.ecr.check_exposure() {
            Ok(()) => check(
                Level::Warn,
                "ECR TLS",
                format!(
                    "the ECR API listens on {} without TLS (ecr.allow_plain_http): its token crosses the network in clear; set ecr.tls_cert_file and ecr.tls_key_file",
                    config.ecr.listen
                ),
            ),
            Err((key, message)) => check(Level::Fail, "ECR TLS", format!("the daemon will not start: {key}: {message}")),
        }),
        _ => {}
    }
    if let Some(keys) = &config.acquirer.event_signing_keys_file {
        let parsed = std::fs::read_to_string(keys)
            .map_err(|e| e.to_string())
            .and_then(|t| posagent_acquirer_api::events::SigningKeys::parse(&t));
        out.push(match parsed {
            Ok(_) => secret_file("event signing keys", keys),
            Err(e) => check(Level::Fail, "event signing keys", format!("{}: {e}", keys.display())),
        });
    }
    match mode(&config.data_dir) {
        Some(m) if m & 0o077 != 0 => out.push(check(
            Level::Warn,
            "data dir",
            format!("{} has mode {m:o}; run `chmod 700`", config.data_dir.display()),
        )),
        Some(_) => out.push(check(Level::Ok, "data dir", config.data_dir.display().to_string())),
        None => out.push(check(
            Level::Fail,
            "data dir",
            format!("{} is missing; run `posagent init`", config.data_dir.display()),
        )),
    }
    out.extend(journal(&config.data_dir.join("posagent.db")));
    if config.data_dir.exists() {
        out.push(disk(&config.data_dir));
    }
    // The running daemon's API as it serves it (over HTTPS, trusting its certificate).
    let http = crate::ecr::local_client(&config.ecr).unwrap_or_default();
    if let Some(p) = &profile {
        out.extend(devices(&config, p, &http).await);
    }
    out.extend(acquirer(&config).await);
    out
}
