//! `[zvt]`: posagent as a ZVT payment terminal for a register (docs/zvt.md) — where it
//! listens, the serial line, the password, the terminal id and Klarna's card-type id.

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// The ZVT card-type id reported for Klarna when none is configured: ZVT assigns none to
/// Klarna (PA00P015 rev 13.08), and 254 is unused in its list.
pub const DEFAULT_KLARNA_CARD_TYPE: u16 = 254;

/// The ZVT card-type ids of the cards the end of day counts apart (girocard, Mastercard,
/// American Express, Visa, VISA electron, Diners, V PAY, JCB): Klarna's id must be none
/// of them.
const CARD_IDS: [u16; 8] = [5, 6, 8, 10, 11, 12, 13, 14];

/// `[zvt]` (absent: no ZVT).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZvtConfig {
    /// TCP addresses to listen on (`127.0.0.1:20007` by default).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// The register's addresses: a connection from any other is closed at once. Needed
    /// when `listen` reaches beyond loopback (ZVT itself authenticates no one).
    #[serde(default)]
    pub allowed_peers: Vec<IpAddr>,
    /// The serial line of a register on RS-232 (`/dev/ttyS0`), if any.
    #[serde(default)]
    pub serial: Option<PathBuf>,
    /// Its speed: 9600 (ZVT's default) or 19200, 38400, 57600, 115200.
    #[serde(default = "default_baud")]
    pub serial_baud: u32,
    /// The 6-digit password the register's commands carry.
    #[serde(default = "default_password")]
    pub password: String,
    /// The 8-digit terminal id (TID) reported to the register and printed.
    #[serde(default = "default_terminal_id")]
    pub terminal_id: String,
    /// The ZVT card-type id that means Klarna (in `8A`/TLV `41` both ways).
    #[serde(default = "default_klarna_card_type")]
    pub klarna_card_type: u16,
    /// Seconds between intermediate status messages during a payment (5 to 60).
    #[serde(default = "default_status_interval")]
    pub status_interval_secs: u64,
}

impl Default for ZvtConfig {
    fn default() -> Self {
        ZvtConfig {
            listen: default_listen(),
            allowed_peers: vec![],
            serial: None,
            serial_baud: default_baud(),
            password: default_password(),
            terminal_id: default_terminal_id(),
            klarna_card_type: DEFAULT_KLARNA_CARD_TYPE,
            status_interval_secs: default_status_interval(),
        }
    }
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 20007))]
}
fn default_baud() -> u32 {
    9600
}
fn default_password() -> String {
    "000000".into()
}
fn default_terminal_id() -> String {
    "00000001".into()
}
fn default_klarna_card_type() -> u16 {
    DEFAULT_KLARNA_CARD_TYPE
}
fn default_status_interval() -> u64 {
    20
}

fn digits(value: &str, n: usize) -> bool {
    value.len() == n && value.bytes().all(|b| b.is_ascii_digit())
}

impl ZvtConfig {
    /// The password as the number its BCD digits make.
    pub fn password_number(&self) -> u32 {
        self.password.parse().unwrap_or(0)
    }

    /// The terminal id as the number its BCD digits make.
    pub fn terminal_id_number(&self) -> u32 {
        self.terminal_id.parse().unwrap_or(0)
    }

    /// The section's checks: each failure names the key and what it must be.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.listen.is_empty() && self.serial.is_none() {
            return Err(("zvt.listen", "give at least one address, or zvt.serial".into()));
        }
        if self.listen.iter().any(|a| !a.ip().is_loopback()) && self.allowed_peers.is_empty() {
            return Err((
                "zvt.allowed_peers",
                "list the register's address: zvt.listen reaches beyond loopback and ZVT authenticates no one".into(),
            ));
        }
        if ![9600, 19200, 38400, 57600, 115_200].contains(&self.serial_baud) {
            return Err(("zvt.serial_baud", "must be 9600, 19200, 38400, 57600 or 115200".into()));
        }
        if !digits(&self.password, 6) {
            return Err(("zvt.password", "must be 6 digits".into()));
        }
        if !digits(&self.terminal_id, 8) {
            return Err(("zvt.terminal_id", "must be 8 digits".into()));
        }
        if self.klarna_card_type == 0 || CARD_IDS.contains(&self.klarna_card_type) {
            return Err(("zvt.klarna_card_type", "must be 1 to 65535 and no card's id (5, 6, 8, 10 to 14)".into()));
        }
        if !(5..=60).contains(&self.status_interval_secs) {
            return Err(("zvt.status_interval_secs", "must be 5 to 60".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ZvtConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_pass_and_each_key_is_checked() {
        let c = parse("");
        assert_eq!(c.listen, ZvtConfig::default().listen);
        assert_eq!((c.password_number(), c.terminal_id_number(), c.klarna_card_type), (0, 1, 254));
        assert!(c.check().is_ok());
        for (text, key) in [
            ("listen = []", "zvt.listen"),
            ("listen = [\"0.0.0.0:20007\"]", "zvt.allowed_peers"),
            ("serial_baud = 4800", "zvt.serial_baud"),
            ("password = \"12345\"", "zvt.password"),
            ("terminal_id = \"1234567a\"", "zvt.terminal_id"),
            ("klarna_card_type = 10", "zvt.klarna_card_type"),
            ("status_interval_secs = 61", "zvt.status_interval_secs"),
        ] {
            assert_eq!(parse(text).check().unwrap_err().0, key, "{text}");
        }
        assert!(parse("listen = [\"0.0.0.0:20007\"]\nallowed_peers = [\"192.168.1.20\"]").check().is_ok());
    }
}
