//! The terminal's `state` as published (retained) to the fleet: who it is, its version,
//! how long it has run, its health and failing parts, its devices and their firmware,
//! the queue, the offline payments waiting (sums per currency) and when the last sale
//! began. Nothing of a sale, a card or a token is in it: every key is listed in
//! docs/fleet.md and a test holds the JSON to that list.

use crate::daemon::DaemonFacts;
use serde::{Deserialize, Serialize};

/// The package's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The build: the target's architecture and OS, and whether the simulator is in it.
pub fn build() -> String {
    let flavour = if cfg!(feature = "simulator") { "development" } else { "terminal" };
    format!("{}-{} {flavour}", std::env::consts::ARCH, std::env::consts::OS)
}

/// What the terminal publishes on `…/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalState {
    /// False in the last will: the broker publishes it when the terminal is gone.
    pub online: bool,
    /// `chain/store/terminal`.
    pub terminal: String,
    /// The package's version.
    pub version: String,
    /// Architecture, OS and flavour of the build.
    pub build: String,
    /// When this state was published (Unix ms); in the last will, when the connection
    /// that left it began.
    pub at_ms: i64,
    /// Seconds since the daemon started (absent in the last will).
    pub uptime_secs: Option<u64>,
    /// `ok`, `degraded` or `down`, as `/health` says (absent in the last will).
    pub health: Option<String>,
    /// The failing parts (display, printer, card_reader, acquirer, queue, journal) and why.
    pub problems: Vec<Problem>,
    /// The devices.
    pub devices: Vec<Device>,
    /// The queue of operations waiting for the acquirer (absent when unknown).
    pub queue: Option<Queue>,
    /// Offline card approvals not yet forwarded: sums per currency.
    pub offline_pending: Vec<OfflinePending>,
    /// When the last sale began (RFC 3339), if there was one.
    pub last_sale_at: Option<String>,
    /// What it runs of the pushed configuration (absent in the last will).
    pub config: Option<super::applied::ConfigReport>,
}

/// A failing part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// The part.
    pub part: String,
    /// What is wrong.
    pub reason: String,
}

/// A device's state and firmware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// `display`, `printer` or `card_reader`.
    pub device: String,
    /// Whether it is open.
    pub connected: bool,
    /// Its firmware version, if it tells.
    pub firmware: Option<String>,
    /// False: a firmware the device profile was not validated with.
    pub firmware_validated: Option<bool>,
    /// What it reports of itself (paper_out, cover_open, out_of_service…).
    pub conditions: Vec<String>,
}

/// The queue's depth and age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Operations waiting.
    pub depth: i64,
    /// Seconds the oldest has waited (absent when none waits).
    pub oldest_age_secs: Option<u64>,
    /// Operations refused for good.
    pub dead: i64,
}

/// Offline approvals waiting in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflinePending {
    /// ISO 4217.
    pub currency: String,
    /// Their sum, minor units.
    pub amount_minor: i64,
    /// How many.
    pub count: i64,
}

impl TerminalState {
    /// The last will: offline, with only who it is and what it runs.
    pub fn offline(terminal: &str, at_ms: i64) -> TerminalState {
        TerminalState {
            online: false,
            terminal: terminal.to_string(),
            version: VERSION.to_string(),
            build: build(),
            at_ms,
            uptime_secs: None,
            health: None,
            problems: vec![],
            devices: vec![],
            queue: None,
            offline_pending: vec![],
            last_sale_at: None,
            config: None,
        }
    }

    /// The state now, read off the daemon.
    pub async fn read(terminal: &str, facts: &DaemonFacts) -> TerminalState {
        let health = facts.health().await;
        let now = crate::domain::now_ms();
        let queue = health.queue.as_ref().map(|q| Queue {
            depth: q.pending,
            oldest_age_secs: q.oldest_pending_ms.map(|t| u64::try_from((now - t).max(0) / 1000).unwrap_or(0)),
            dead: q.dead,
        });
        let offline_pending = match facts.offline_pending().await {
            Ok(v) => v
                .into_iter()
                .map(|(currency, e)| OfflinePending { currency, amount_minor: e.total, count: e.count })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "fleet: cannot read the offline payments");
                vec![]
            }
        };
        let last_sale_at = facts.last_sale_at().await.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "fleet: cannot read the last sale's time");
            None
        });
        TerminalState {
            online: true,
            terminal: terminal.to_string(),
            version: VERSION.to_string(),
            build: build(),
            at_ms: now,
            uptime_secs: Some(facts.uptime().as_secs()),
            health: Some(health.status),
            problems: health.problems.into_iter().map(|p| Problem { part: p.part, reason: p.reason }).collect(),
            devices: health
                .devices
                .into_iter()
                .map(|d| Device {
                    device: d.device,
                    connected: d.connected,
                    firmware: d.firmware,
                    firmware_validated: d.firmware_validated,
                    conditions: d.conditions,
                })
                .collect(),
            queue,
            offline_pending,
            last_sale_at,
            config: None,
        }
    }

    /// Whether `other` says something else than this one (the time and uptime aside):
    /// a change to publish before the heartbeat.
    pub fn differs_from(&self, other: &TerminalState) -> bool {
        let strip = |s: &TerminalState| {
            let mut s = TerminalState { at_ms: 0, uptime_secs: None, ..s.clone() };
            if let Some(q) = s.queue.as_mut() {
                // The oldest operation's age grows by itself; that it waits is the change.
                q.oldest_age_secs = q.oldest_age_secs.map(|_| 0);
            }
            s
        };
        strip(self) != strip(other)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every key the state may carry, at any depth (docs/fleet.md lists the same).
    const DOCUMENTED: [&str; 22] = [
        "online",
        "terminal",
        "version",
        "build",
        "at_ms",
        "uptime_secs",
        "health",
        "problems",
        "part",
        "reason",
        "devices",
        "device",
        "connected",
        "firmware",
        "firmware_validated",
        "conditions",
        "queue",
        "depth",
        "oldest_age_secs",
        "dead",
        "offline_pending",
        "last_sale_at",
    ];
    const OFFLINE_KEYS: [&str; 3] = ["currency", "amount_minor", "count"];
    /// The `config` object's keys (docs/fleet.md, "Pushed configuration").
    const CONFIG_KEYS: [&str; 8] = ["config", "running", "status", "offered", "detail", "chain", "store", "terminal"];

    fn keys(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone());
                    keys(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    fn full() -> TerminalState {
        TerminalState {
            uptime_secs: Some(5),
            health: Some("degraded".into()),
            problems: vec![Problem { part: "printer".into(), reason: "paper out".into() }],
            devices: vec![Device {
                device: "card_reader".into(),
                connected: true,
                firmware: Some("2.1".into()),
                firmware_validated: Some(true),
                conditions: vec![],
            }],
            queue: Some(Queue { depth: 3, oldest_age_secs: Some(12), dead: 0 }),
            offline_pending: vec![OfflinePending { currency: "SEK".into(), amount_minor: 12_300, count: 2 }],
            last_sale_at: Some("2026-01-01T10:00:00Z".into()),
            config: Some(super::super::applied::ConfigReport {
                running: Default::default(),
                status: Default::default(),
                offered: Some(Default::default()),
                detail: Some("x".into()),
            }),
            ..TerminalState::offline("acme/s1/t1", 1)
        }
    }

    #[test]
    fn the_state_has_only_the_documented_keys() {
        let mut found = BTreeSet::new();
        keys(&serde_json::to_value(full()).unwrap(), &mut found);
        let allowed: BTreeSet<String> =
            DOCUMENTED.iter().chain(&OFFLINE_KEYS).chain(&CONFIG_KEYS).map(|k| k.to_string()).collect();
        assert_eq!(found, allowed, "a key that is not in docs/fleet.md, or a documented one gone");
        let doc = include_str!("../../docs/fleet.md");
        for k in &allowed {
            assert!(doc.contains(&format!("`{k}`")), "docs/fleet.md does not document `{k}`");
        }
        for never in ["pan", "card", "token", "amount", "reference", "sale_id", "lines", "session"] {
            assert!(!found.iter().any(|k| k == never), "{never}");
        }
    }

    #[test]
    fn the_will_is_offline_and_a_change_is_seen_past_the_clock() {
        let will = TerminalState::offline("acme/s1/t1", 7);
        assert!(!will.online && will.health.is_none());
        let mut later = full();
        later.at_ms += 60_000;
        later.uptime_secs = Some(65);
        assert!(!later.differs_from(&full()));
        later.queue = Some(Queue { depth: 4, oldest_age_secs: Some(12), dead: 0 });
        assert!(later.differs_from(&full()));
        let back: TerminalState = serde_json::from_str(&serde_json::to_string(&full()).unwrap()).unwrap();
        assert_eq!(back, full());
    }
}
