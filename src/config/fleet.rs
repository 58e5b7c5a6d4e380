//! `[fleet]`: the link to the chain's MQTT 5 broker (docs/fleet.md) — the broker's URL,
//! this terminal's place in the topic tree (`posagent/{chain}/{store}/{terminal}/`), the
//! CA and the terminal's own client certificate, the keepalive, the heartbeat and the
//! grace period of a pushed configuration.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Longest chain, store or terminal id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// `[fleet]` (absent: no fleet link).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// The broker: `mqtts://HOST:PORT` (8883 when no port is given); plain
    /// `mqtt://127.0.0.1:PORT` only to a broker on this machine.
    pub broker_url: String,
    /// The chain's id, the first level of the topics.
    pub chain: String,
    /// The store's id.
    pub store: String,
    /// This terminal's id.
    pub terminal: String,
    /// PEM file of the CA that signed the broker's certificate (mqtts).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM file of this terminal's client certificate (mqtts); its CN is
    /// `{chain}/{store}/{terminal}`, the broker's ACLs are keyed on it.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM file of the certificate's private key (mode 0600).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// MQTT keepalive in seconds (5 to 600): the broker marks the terminal offline (its
    /// last will) within 1.5 times this after it stops answering.
    #[serde(default = "default_keepalive")]
    pub keepalive_secs: u64,
    /// Seconds between heartbeats, when the state is published again unchanged (5 to 3600).
    #[serde(default = "default_heartbeat")]
    pub heartbeat_secs: u64,
    /// Seconds after a pushed configuration is taken during which a worse health rolls
    /// it back (15 to 3600).
    #[serde(default = "default_config_grace")]
    pub config_grace_secs: u64,
    /// Seconds over which the terminals of a fleet spread their reconnections after the
    /// broker was lost, and their restarts into a pushed configuration (each waits a
    /// random time below this; 1 to 600): one broker takes a few hundred TLS
    /// connections a second (docs/performance.md, "Fleet links at 10,000").
    #[serde(default = "default_spread")]
    pub spread_secs: u64,
}

fn default_keepalive() -> u64 {
    30
}
fn default_heartbeat() -> u64 {
    60
}
fn default_config_grace() -> u64 {
    300
}
fn default_spread() -> u64 {
    30
}

/// The broker's address as `broker_url` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts`: TLS with the terminal's certificate.
    pub tls: bool,
}

/// Whether `id` may be a level of a topic: 1 to [`MAX_ID_LEN`] of `A-Z a-z 0-9 . _ -`
/// (no `/`, `+`, `#`, no spaces, nothing that starts with `$`).
pub fn is_topic_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Reads `mqtts://host[:port]` or `mqtt://host[:port]`; the reason when it is not one.
pub fn parse_broker_url(url: &str) -> Result<BrokerAddr, String> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err(format!("`{url}` is not an mqtts:// URL like \"mqtts://broker.chain.example:8883\""));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@']) {
        return Err(format!("`{url}`: give only the host and port (no path, query or user)"));
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (host, after) =
                v6.split_once(']').ok_or_else(|| format!("`{url}`: unclosed `[` of an IPv6 address"))?;
            (host, after.strip_prefix(':'))
        }
        None => match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    if host.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| format!("`{url}`: bad port `{p}`"))?,
        None if tls => 8883,
        None => 1883,
    };
    Ok(BrokerAddr { host: host.to_string(), port, tls })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl FleetConfig {
    /// The broker's address (checked at load: never fails on a loaded config).
    pub fn broker(&self) -> Result<BrokerAddr, String> {
        parse_broker_url(&self.broker_url)
    }

    /// The keepalive.
    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs)
    }

    /// How widely reconnections and restarts are spread.
    pub fn spread(&self) -> Duration {
        Duration::from_secs(self.spread_secs)
    }

    /// The grace period of a pushed configuration.
    pub fn config_grace(&self) -> Duration {
        Duration::from_secs(self.config_grace_secs)
    }

    /// The heartbeat.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }

    /// `posagent/{chain}/{store}/{terminal}`: this terminal's subtree, without the slash.
    pub fn topic_root(&self) -> String {
        format!("posagent/{}/{}/{}", self.chain, self.store, self.terminal)
    }

    /// The identity the broker knows this terminal by: its certificate's CN and the MQTT
    /// client id, `{chain}/{store}/{terminal}`.
    pub fn identity(&self) -> String {
        format!("{}/{}/{}", self.chain, self.store, self.terminal)
    }

    /// The section's checks: each failure names the key and what it must be.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        let broker = parse_broker_url(&self.broker_url).map_err(|m| ("fleet.broker_url", m))?;
        if !broker.tls && !is_loopback(&broker.host) {
            return Err((
                "fleet.broker_url",
                format!(
                    "`{}` is plain MQTT to another machine: use mqtts:// (TLS with this terminal's certificate); mqtt:// only to 127.0.0.1",
                    self.broker_url
                ),
            ));
        }
        for (key, id) in
            [("fleet.chain", &self.chain), ("fleet.store", &self.store), ("fleet.terminal", &self.terminal)]
        {
            if !is_topic_id(id) {
                return Err((
                    key,
                    format!(
                        "`{id}` must be 1 to {MAX_ID_LEN} of the letters A-Z a-z, digits and . _ - (it is a topic level: no / + # or spaces)"
                    ),
                ));
            }
        }
        self.check_files(broker.tls)?;
        if !(5..=600).contains(&self.keepalive_secs) {
            return Err(("fleet.keepalive_secs", "must be 5 to 600".into()));
        }
        if !(5..=3600).contains(&self.heartbeat_secs) {
            return Err(("fleet.heartbeat_secs", "must be 5 to 3600".into()));
        }
        if !(1..=600).contains(&self.spread_secs) {
            return Err((
                "fleet.spread_secs",
                "must be 1 to 600 (seconds reconnections and restarts are spread over)".into(),
            ));
        }
        if !(15..=3600).contains(&self.config_grace_secs) {
            return Err((
                "fleet.config_grace_secs",
                "must be 15 to 3600 (seconds a pushed configuration is watched)".into(),
            ));
        }
        Ok(())
    }

    /// mqtts needs the CA and the terminal's certificate and key; the pair goes together.
    fn check_files(&self, tls: bool) -> Result<(), (&'static str, String)> {
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            return Err(("fleet", "set both client_cert_file and client_key_file, or neither".into()));
        }
        if !tls {
            return Ok(());
        }
        for (key, file) in [
            ("fleet.ca_file", &self.ca_file),
            ("fleet.client_cert_file", &self.client_cert_file),
            ("fleet.client_key_file", &self.client_key_file),
        ] {
            if file.is_none() {
                return Err((
                    key,
                    "is needed with mqtts://: the broker's CA, and this terminal's own certificate (CN chain/store/terminal) and key, all PEM".into(),
                ));
            }
        }
        Ok(())
    }

    /// The optional files, for the config's loader to make relative to the config's folder.
    pub(super) fn files_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        [self.ca_file.as_mut(), self.client_cert_file.as_mut(), self.client_key_file.as_mut()].into_iter().flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
broker_url = "mqtts://broker.chain.example"
chain = "acme"
store = "s-042"
terminal = "till_3"
ca_file = "ca.pem"
client_cert_file = "terminal.pem"
client_key_file = "terminal.key"
"#;

    fn parse(text: &str) -> FleetConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_good_section_passes_with_its_defaults() {
        let c = parse(GOOD);
        assert_eq!(c.check(), Ok(()));
        assert_eq!((c.keepalive_secs, c.heartbeat_secs), (30, 60));
        assert_eq!(c.topic_root(), "posagent/acme/s-042/till_3");
        assert_eq!(c.identity(), "acme/s-042/till_3");
        assert_eq!(c.broker().unwrap(), BrokerAddr { host: "broker.chain.example".into(), port: 8883, tls: true });
    }

    #[test]
    fn each_key_is_checked() {
        for (from, to, key) in [
            ("mqtts://broker.chain.example", "https://broker", "fleet.broker_url"),
            ("mqtts://broker.chain.example", "mqtt://broker.chain.example", "fleet.broker_url"),
            ("mqtts://broker.chain.example", "mqtts://broker:0", "fleet.broker_url"),
            ("mqtts://broker.chain.example", "mqtts://broker/x", "fleet.broker_url"),
            ("\"acme\"", "\"ac/me\"", "fleet.chain"),
            ("\"s-042\"", "\"s+1\"", "fleet.store"),
            ("\"till_3\"", "\"#\"", "fleet.terminal"),
            ("\"till_3\"", "\"\"", "fleet.terminal"),
            ("\"till_3\"", "\"$SYS\"", "fleet.terminal"),
            ("ca_file = \"ca.pem\"", "", "fleet.ca_file"),
            ("client_key_file = \"terminal.key\"", "", "fleet"),
        ] {
            let text = GOOD.replace(from, to);
            assert_ne!(text, GOOD, "{from}");
            assert_eq!(parse(&text).check().unwrap_err().0, key, "{to}");
        }
        let long = GOOD.replace("\"till_3\"", &format!("\"{}\"", "t".repeat(MAX_ID_LEN + 1)));
        assert_eq!(parse(&long).check().unwrap_err().0, "fleet.terminal");
        for (extra, key) in [
            ("keepalive_secs = 4", "fleet.keepalive_secs"),
            ("heartbeat_secs = 4", "fleet.heartbeat_secs"),
            ("config_grace_secs = 14", "fleet.config_grace_secs"),
            ("spread_secs = 0", "fleet.spread_secs"),
        ] {
            assert_eq!(parse(&format!("{GOOD}{extra}")).check().unwrap_err().0, key);
        }
    }

    #[test]
    fn plain_mqtt_only_to_this_machine() {
        let plain = |url: &str| {
            let text = format!("broker_url = \"{url}\"\nchain = \"a\"\nstore = \"b\"\nterminal = \"c\"");
            parse(&text).check()
        };
        assert_eq!(plain("mqtt://127.0.0.1:1883"), Ok(()));
        assert_eq!(plain("mqtt://[::1]:1883"), Ok(()));
        assert_eq!(plain("mqtt://localhost"), Ok(()));
        assert_eq!(plain("mqtt://10.0.0.5:1883").unwrap_err().0, "fleet.broker_url");
        assert_eq!(plain("mqtts://127.0.0.1:8883").unwrap_err().0, "fleet.ca_file");
        assert_eq!(parse_broker_url("mqtts://[::1]:9").unwrap().host, "::1");
    }
}
