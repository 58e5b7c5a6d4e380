//! The store config: who this terminal is, where the acquirer is, the local API, limits.

use super::{ConfigError, invalid, read_toml};
use posagent_acquirer_api::Currency;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole store config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Where the journal and tokens live.
    pub data_dir: PathBuf,
    /// The store and terminal.
    pub store: StoreSection,
    /// The acquirer backend.
    pub acquirer: AcquirerConfig,
    /// The local ECR API.
    #[serde(default)]
    pub ecr: EcrConfig,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Card payments approved while the acquirer is unreachable.
    #[serde(default)]
    pub offline: crate::domain::OfflineLimits,
    /// The outbox and its sync worker.
    #[serde(default)]
    pub sync: SyncConfig,
    /// A listener of its own for monitoring.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The cashier console.
    #[serde(default)]
    pub console: super::console::ConsoleConfig,
    /// posagent as a ZVT payment terminal (absent: no ZVT).
    #[serde(default)]
    pub zvt: Option<super::zvt::ZvtConfig>,
    /// The link to the chain's MQTT broker (absent: none; docs/fleet.md).
    #[serde(default)]
    pub fleet: Option<super::fleet::FleetConfig>,
    /// The device profile: a name (`generic-800x480`, looked up in `firmware-config/`
    /// beside this file, then in [`super::SYSTEM_PROFILE_DIR`]) or a path (relative
    /// paths are relative to this file); after [`StoreConfig::load`], the file's path.
    pub device_profile: PathBuf,
    /// The receipt printer's endpoint, over the profile's: needed when the profile's
    /// printer is on the network (`endpoint = "network"`), as no LAN address is guessed.
    #[serde(default)]
    pub printer_endpoint: Option<super::Endpoint>,
    /// Log filter applied at start-up over `POSAGENT_LOG` and on SIGHUP, e.g. `info`
    /// or `info,posagent::outbox=debug`.
    #[serde(default)]
    pub log_level: Option<String>,
}

/// Identity and market of the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The store's reference at the acquirer.
    pub store_reference: String,
    /// This terminal's reference.
    pub terminal_reference: String,
    /// Display name printed on receipts.
    pub name: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// ISO 4217 currency of the store.
    pub currency: Currency,
    /// Locale of customer-facing texts, e.g. `sv-SE`.
    pub locale: String,
    /// A PNG printed at the top of every receipt (scaled to the paper, black and white).
    #[serde(default)]
    pub logo: Option<PathBuf>,
    /// Print a merchant copy after the customer's receipt (both then marked as such).
    #[serde(default)]
    pub merchant_copy: bool,
    /// The store's address, printed under its name on receipts (up to 3 lines).
    #[serde(default)]
    pub address: Vec<String>,
    /// The store's VAT or organisation number, printed on receipts.
    #[serde(default)]
    pub vat_number: Option<String>,
    /// The time zone receipts and reports show times in (IANA, e.g. `Europe/Stockholm`);
    /// the system's (`TZ`, `/etc/localtime`) when absent.
    #[serde(default)]
    pub time_zone: crate::locale::StoreTimeZone,
}

/// Acquirer connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcquirerConfig {
    /// Base URL of the Terminal API.
    pub url: String,
    /// File holding the terminal's API key (mode 0600).
    pub credentials_file: PathBuf,
    /// Timeout of one call, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// PEM file of extra CA certificates to trust (an acquirer with a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM file with this terminal's client certificate and key, for mutual TLS.
    #[serde(default)]
    pub client_identity_file: Option<PathBuf>,
    /// File (mode 0600) of the keys the acquirer signs its event stream with, one
    /// `KEY_ID HEX_SECRET` per line; without it, the key derived from the API key.
    #[serde(default)]
    pub event_signing_keys_file: Option<PathBuf>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// Monitoring: `/metrics` and `/health` are always on the ECR listener; `listen` adds a
/// plain-HTTP listener serving only those two (no token, nothing that moves money), so a
/// Prometheus server on another host can scrape without reaching the payment API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the monitoring listener, e.g. `0.0.0.0:9464`; none by default.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}

/// The local ECR API for the register.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcrConfig {
    /// Address to listen on (loopback by default).
    pub listen: SocketAddr,
    /// Bearer token file; created with mode 0600 if missing (relative to `data_dir`).
    pub token_file: PathBuf,
    /// Requests per second the API takes (bursts up to twice that); more get 429.
    #[serde(default = "default_rate")]
    pub max_requests_per_sec: u32,
    /// Requests per second, per peer address, of requests without the token (`/health`
    /// exempt; bursts up to twice that); they never draw on the register's share.
    #[serde(default = "default_guest_rate")]
    pub max_unauthenticated_per_sec: u32,
    /// Host names the API answers to besides `localhost` and IP addresses (a request
    /// naming another host is refused: DNS rebinding).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Serve plain HTTP beyond loopback anyway (the token then crosses the network in
    /// clear); without it such a listener is refused at start.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// PEM certificate chain for HTTPS on the ECR API (with `tls_key_file`); needed when
    /// the register is on another machine, so the token never crosses the network in clear.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file` (mode 0600).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
}

impl EcrConfig {
    /// Whether the API is served over HTTPS.
    pub fn tls(&self) -> bool {
        self.tls_cert_file.is_some()
    }

    /// Refuses plain HTTP beyond loopback unless `allow_plain_http` says so, and host
    /// names that are not names. Checked at start (after `--listen` applies).
    pub fn check_exposure(&self) -> Result<(), (&'static str, String)> {
        if !self.listen.ip().is_loopback() && !self.tls() && !self.allow_plain_http {
            return Err((
                "ecr.listen",
                format!(
                    "{} is beyond this machine and the API has no TLS: the register's token would cross the network in clear; set ecr.tls_cert_file and ecr.tls_key_file, listen on 127.0.0.1, or set ecr.allow_plain_http = true on a network only the register reaches",
                    self.listen
                ),
            ));
        }
        self.check_host_names()
    }

    /// Every `allowed_hosts` entry is a host name.
    pub fn check_host_names(&self) -> Result<(), (&'static str, String)> {
        for host in &self.allowed_hosts {
            let ok = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|l| {
                    !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !ok {
                return Err(("ecr.allowed_hosts", format!("`{host}` is not a host name like \"till-3.shop.example\"")));
            }
        }
        Ok(())
    }

    /// The URL this machine reaches the API at: `localhost` when it listens on loopback
    /// or every address (a certificate names `localhost` for the local tools), else its
    /// address.
    pub fn local_url(&self, port: u16) -> String {
        let ip = self.listen.ip();
        match (self.tls(), ip.is_loopback() || ip.is_unspecified()) {
            (true, true) => format!("https://localhost:{port}"),
            (true, false) => format!("https://{}", SocketAddr::new(ip, port)),
            (false, true) if ip.is_unspecified() => format!("http://127.0.0.1:{port}"),
            (false, _) => format!("http://{}", SocketAddr::new(ip, port)),
        }
    }
}

fn default_rate() -> u32 {
    100
}

fn default_guest_rate() -> u32 {
    20
}

impl Default for EcrConfig {
    fn default() -> Self {
        EcrConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7600)),
            token_file: PathBuf::from("ecr.token"),
            max_requests_per_sec: default_rate(),
            max_unauthenticated_per_sec: default_guest_rate(),
            allowed_hosts: Vec::new(),
            allow_plain_http: false,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// Limits the terminal enforces before asking the acquirer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest sale amount in minor units.
    #[serde(default = "default_max_amount")]
    pub max_amount: i64,
    /// How long the QR code stays on the display before the terminal cancels, in seconds
    /// (shorter than the payment request's expiry).
    #[serde(default = "default_klarna_timeout")]
    pub klarna_timeout_secs: u64,
    /// How long a customer may take to choose the method (a `CHOICE` sale), in seconds.
    #[serde(default = "default_choice_timeout")]
    pub choice_timeout_secs: u64,
    /// When stopping, how long the sale in progress may take to finish, in seconds.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
}

fn default_grace() -> u64 {
    20
}

fn default_choice_timeout() -> u64 {
    180
}

fn default_max_amount() -> i64 {
    10_000_000
}
fn default_klarna_timeout() -> u64 {
    600
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_amount: default_max_amount(),
            klarna_timeout_secs: default_klarna_timeout(),
            choice_timeout_secs: default_choice_timeout(),
            shutdown_grace_secs: default_grace(),
        }
    }
}

/// `[sync]`: how queued operations are forwarded and how long records are kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Operations per batch (1 to 100).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Batches in flight at once (1 to 16).
    #[serde(default = "default_parallel")]
    pub max_parallel: usize,
    /// Longest wait between attempts while the acquirer is unreachable, in seconds.
    #[serde(default = "default_backoff_cap")]
    pub max_backoff_secs: u64,
    /// Days synced operations and finished sales are kept before they are pruned.
    #[serde(default = "default_retention")]
    pub retention_days: u64,
    /// With nothing to send, the acquirer is asked a cheap read after this many seconds
    /// in which no call got an answer (the event stream's long poll answers every 25 s):
    /// a dead network shows on /health and the console within this plus a probe's
    /// timeout, before a customer waits on it. 5 to 600; 30 by default.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_secs: u64,
}

fn default_heartbeat() -> u64 {
    30
}

fn default_batch() -> usize {
    100
}
fn default_parallel() -> usize {
    4
}
fn default_backoff_cap() -> u64 {
    300
}
fn default_retention() -> u64 {
    90
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_size: default_batch(),
            max_parallel: default_parallel(),
            max_backoff_secs: default_backoff_cap(),
            retention_days: default_retention(),
            heartbeat_secs: default_heartbeat(),
        }
    }
}

impl StoreConfig {
    /// Reads and validates `path`; relative paths inside become relative to its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        read_toml::<StoreConfig>(path)?.resolved(path)
    }

    /// Makes the paths inside relative to `path`'s folder, finds the device profile and
    /// checks the values.
    pub(super) fn resolved(mut self, path: &Path) -> Result<Self, ConfigError> {
        let c = &mut self;
        let base = path.parent().unwrap_or(Path::new("."));
        let optional = [
            c.acquirer.ca_file.as_mut(),
            c.acquirer.client_identity_file.as_mut(),
            c.acquirer.event_signing_keys_file.as_mut(),
            c.ecr.tls_cert_file.as_mut(),
            c.ecr.tls_key_file.as_mut(),
        ];
        let fleet = c.fleet.iter_mut().flat_map(super::fleet::FleetConfig::files_mut);
        c.device_profile = super::resolve_profile(&c.device_profile, path)?;
        let files = [&mut c.data_dir, &mut c.acquirer.credentials_file].into_iter();
        for p in files.chain(optional.into_iter().flatten()).chain(fleet) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        c.console.read_catalogue(base)?;
        self.validate(path)?;
        Ok(self)
    }

    /// Checks values the types cannot (section by section, in `check.rs`).
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        super::check::store_config(self).map_err(|(key, message)| invalid(path, key, message))
    }
}

/// `ll-CC` with a lower-case language and an upper-case country.
pub fn valid_locale(l: &str) -> bool {
    posagent_acquirer_api::validate::is_locale(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config, with the profile it names where a store's own would be.
    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("posagent.toml");
        std::fs::write(&p, text).ok();
        std::fs::create_dir_all(dir.join("firmware-config")).ok();
        let profile = include_str!("../../firmware-config/generic-800x480.toml");
        std::fs::write(dir.join("firmware-config/generic-800x480.toml"), profile).ok();
        p
    }

    #[test]
    fn default_config_loads() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let c = StoreConfig::load(&write(dir.path(), super::super::DEFAULT_CONFIG))?;
        assert_eq!(c.store.currency.code(), "SEK");
        assert!(super::super::DEFAULT_CONFIG.contains("\ndevice_profile = \"generic-800x480\"\n"), "by name");
        assert_eq!(c.device_profile, dir.path().join("firmware-config/generic-800x480.toml"));
        assert_eq!(c.printer_endpoint, None, "no printer address is guessed");
        assert!(!super::super::DEFAULT_CONFIG.contains("192.168."), "no LAN address is guessed");
        Ok(())
    }

    #[test]
    fn the_printer_endpoint_is_an_address_store_it_sets() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let set = |line: &str| {
            super::super::DEFAULT_CONFIG.replace("# printer_endpoint = \"tcp:PRINTER-ADDRESS:9100\"", line)
        };
        let c = StoreConfig::load(&write(dir.path(), &set("printer_endpoint = \"tcp:10.20.30.40:9100\"")))?;
        assert_eq!(c.printer_endpoint, Some(super::super::Endpoint::Tcp("10.20.30.40:9100".into())));
        for bad in ["printer_endpoint = \"network\"", "printer_endpoint = \"10.20.30.40\""] {
            let e = StoreConfig::load(&write(dir.path(), &set(bad))).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("printer_endpoint"), "{bad}: {e}");
        }
        Ok(())
    }

    #[test]
    fn unknown_key_names_file_and_key() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let text = super::super::DEFAULT_CONFIG.replace("[limits]", "[limits]\nmax_amont = 5");
        let e = StoreConfig::load(&write(dir.path(), &text)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("posagent.toml") && e.contains("max_amont"), "{e}");
        Ok(())
    }

    #[test]
    fn bad_values_name_the_key() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for (from, to, key) in [
            ("country = \"SE\"", "country = \"Sweden\"", "store.country"),
            ("currency = \"SEK\"", "currency = \"KRONA\"", "currency"),
            ("locale = \"sv-SE\"", "locale = \"swedish\"", "store.locale"),
        ] {
            let text = super::super::DEFAULT_CONFIG.replace(from, to);
            assert_ne!(text, super::super::DEFAULT_CONFIG, "{from}");
            let e = StoreConfig::load(&write(dir.path(), &text)).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(key), "{key}: {e}");
        }
        let missing = StoreConfig::load(&dir.path().join("nope.toml")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing.contains("nope.toml") && missing.contains("posagent init"), "{missing}");
        Ok(())
    }

    #[test]
    fn the_fleet_section_is_optional_and_its_files_are_relative_to_the_config() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        assert!(StoreConfig::load(&write(dir.path(), super::super::DEFAULT_CONFIG))?.fleet.is_none());
        let section = "\n[fleet]\nbroker_url = \"mqtts://broker.example\"\nchain = \"acme\"\nstore = \"s1\"\nterminal = \"t1\"\nca_file = \"fleet/ca.pem\"\nclient_cert_file = \"fleet/t.pem\"\nclient_key_file = \"/etc/t.key\"\n";
        let text = format!("{}{section}", super::super::DEFAULT_CONFIG);
        let fleet = StoreConfig::load(&write(dir.path(), &text))?.fleet.ok_or("no [fleet]")?;
        assert_eq!(fleet.ca_file, Some(dir.path().join("fleet/ca.pem")));
        assert_eq!(fleet.client_key_file, Some(PathBuf::from("/etc/t.key")));
        let bad = text.replace("terminal = \"t1\"", "terminal = \"t/1\"");
        let e = StoreConfig::load(&write(dir.path(), &bad)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("fleet.terminal") && e.contains("no / + #"), "{e}");
        Ok(())
    }

    #[test]
    fn locales() {
        assert!(valid_locale("sv-SE"));
        assert!(!valid_locale("sv_SE"));
        assert!(!valid_locale("SV-se"));
    }
}
