//! The pushed configuration's documents (docs/fleet.md, "Pushed configuration"): what an
//! operator publishes, retained, on a layer's topic — a version, its TOML, who takes it
//! (everyone, a percentage of the terminals by their bucket, or named terminals) and the
//! version the others run — parsed strictly; and which version a terminal is offered.

use super::topics::TerminalPath;
use crate::config::fleet::is_topic_id;
use serde::{Deserialize, Serialize};

/// Largest document, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// What an operator publishes on a layer's topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDocument {
    /// The operator's name of this version (a topic-safe id).
    pub version: String,
    /// The layer: keys of the local config file.
    pub toml: String,
    /// Who takes this version (absent: every terminal under the topic).
    #[serde(default)]
    pub rollout: Option<Rollout>,
    /// What the terminals outside the rollout run (absent: no such layer).
    #[serde(default)]
    pub previous: Option<LayerVersion>,
    /// When it was pushed (Unix ms).
    #[serde(default)]
    pub pushed_at_ms: Option<i64>,
}

/// A version of a layer: what a terminal runs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerVersion {
    /// Its name.
    pub version: String,
    /// Its TOML.
    pub toml: String,
}

/// Who takes a document's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rollout {
    /// The terminals whose [`bucket`] is below this (0 to 100).
    Percent(u8),
    /// The terminals named, as `chain/store/terminal`.
    Terminals(Vec<String>),
}

impl ConfigDocument {
    /// Reads a retained payload: `None` for an empty one (the topic was cleared).
    pub fn parse(payload: &[u8]) -> Result<Option<ConfigDocument>, String> {
        if payload.is_empty() {
            return Ok(None);
        }
        if payload.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{} bytes, more than {MAX_DOCUMENT_BYTES}", payload.len()));
        }
        let doc: ConfigDocument = serde_json::from_slice(payload).map_err(|e| format!("not a config document: {e}"))?;
        doc.check()?;
        Ok(Some(doc))
    }

    /// Checks what the types cannot.
    pub fn check(&self) -> Result<(), String> {
        let versions = std::iter::once(&self.version).chain(self.previous.as_ref().map(|p| &p.version));
        if let Some(bad) = versions.into_iter().find(|v| !is_topic_id(v)) {
            let bad: String = bad.chars().take(64).collect();
            return Err(format!("version `{bad}` is not 1 to 64 of A-Z a-z 0-9 . _ -"));
        }
        match &self.rollout {
            Some(Rollout::Percent(p)) if *p > 100 => Err(format!("rollout percent {p} is more than 100")),
            Some(Rollout::Terminals(names)) => match names.iter().find(|n| TerminalPath::parse(n).is_none()) {
                Some(bad) => {
                    let bad: String = bad.chars().take(200).collect();
                    Err(format!("rollout terminal `{bad}` is not chain/store/terminal"))
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Whether `terminal` takes this version.
    pub fn includes(&self, terminal: &TerminalPath) -> bool {
        match &self.rollout {
            None => true,
            Some(Rollout::Percent(p)) => bucket(terminal) < u32::from(*p),
            Some(Rollout::Terminals(names)) => names.iter().any(|n| *n == terminal.to_string()),
        }
    }

    /// What `terminal` is offered of this layer: this version, or the previous one.
    pub fn offered_to(&self, terminal: &TerminalPath) -> Option<LayerVersion> {
        if self.includes(terminal) {
            Some(LayerVersion { version: self.version.clone(), toml: self.toml.clone() })
        } else {
            self.previous.clone()
        }
    }
}

/// A terminal's rollout bucket, 0 to 99: the CRC-32 (ISO-HDLC, zlib's) of
/// `chain/store/terminal`, modulo 100. The same for every version.
pub fn bucket(terminal: &TerminalPath) -> u32 {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    CRC32.checksum(terminal.to_string().as_bytes()) % 100
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(path: &str) -> TerminalPath {
        TerminalPath::parse(path).unwrap()
    }

    #[test]
    fn documents_parse_strictly() {
        let doc = ConfigDocument::parse(
            br#"{"version":"7","toml":"[offline]\nmax_count = 2\n","rollout":{"percent":25},
                 "previous":{"version":"6","toml":""},"pushed_at_ms":1}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(doc.rollout, Some(Rollout::Percent(25)));
        assert_eq!(ConfigDocument::parse(b"").unwrap(), None, "a cleared topic is no document");
        let named = ConfigDocument::parse(br#"{"version":"7","toml":"","rollout":{"terminals":["a/b/c"]}}"#).unwrap();
        assert_eq!(named.unwrap().rollout, Some(Rollout::Terminals(vec!["a/b/c".into()])));
        for bad in [
            &br#"{"version":"7"}"#[..],
            br#"{"version":"7","toml":"","extra":1}"#,
            br#"{"version":"a b","toml":""}"#,
            br#"{"version":"7","toml":"","rollout":{"percent":101}}"#,
            br#"{"version":"7","toml":"","rollout":{"terminals":["a/b"]}}"#,
            br#"{"version":"7","toml":"","rollout":{"everyone":true}}"#,
            br##"{"version":"7","toml":"","previous":{"version":"#","toml":""}}"##,
            b"[1]",
        ] {
            assert!(ConfigDocument::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(ConfigDocument::parse(&vec![b' '; MAX_DOCUMENT_BYTES + 1]).is_err());
    }

    #[test]
    fn buckets_are_zlibs_crc32_of_the_path_modulo_100() {
        // zlib.crc32(b"acme/s-042/till-3") % 100, computed with Python's zlib.
        assert_eq!(bucket(&t("acme/s-042/till-3")), 0x5FDC_9844 % 100);
        let all: Vec<u32> = (0..1000).map(|i| bucket(&t(&format!("acme/s{}/t{}", i / 10, i % 10)))).collect();
        let below_10 = all.iter().filter(|b| **b < 10).count();
        assert!((60..=140).contains(&below_10), "about 10 % of 1000: {below_10}");
    }

    #[test]
    fn the_rollout_picks_who_takes_the_version_and_the_rest_get_previous() {
        let mut doc = ConfigDocument {
            version: "2".into(),
            toml: "new".into(),
            rollout: Some(Rollout::Terminals(vec!["acme/s1/t1".into()])),
            previous: Some(LayerVersion { version: "1".into(), toml: "old".into() }),
            pushed_at_ms: None,
        };
        assert_eq!(doc.offered_to(&t("acme/s1/t1")).unwrap().version, "2");
        assert_eq!(doc.offered_to(&t("acme/s1/t2")).unwrap().version, "1");
        doc.previous = None;
        assert_eq!(doc.offered_to(&t("acme/s1/t2")), None);
        doc.rollout = Some(Rollout::Percent(0));
        assert!(!doc.includes(&t("acme/s1/t1")));
        doc.rollout = Some(Rollout::Percent(100));
        assert!(doc.includes(&t("acme/s1/t1")));
        doc.rollout = None;
        assert!(doc.includes(&t("acme/s9/t9")));
    }
}
