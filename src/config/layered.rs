//! A pushed configuration (docs/fleet.md, "Pushed configuration"): the local file with
//! the fleet's layers (chain, store, terminal: TOML with the local file's keys) over it,
//! key by key, read and checked by the code that reads the local file. A layer may not
//! set `data_dir` nor `[fleet]`: the journal and the link stay the local file's.

use super::{ConfigError, StoreConfig};
use std::path::Path;

/// Keys only the local file sets.
pub const LOCAL_ONLY: [&str; 2] = ["data_dir", "fleet"];

/// One layer to put over the local file.
#[derive(Debug, Clone, Copy)]
pub struct LayerText<'a> {
    /// `chain`, `store` or `terminal`.
    pub layer: &'a str,
    /// The operator's name of its version.
    pub version: &'a str,
    /// Its TOML.
    pub toml: &'a str,
}

/// Reads a layer's TOML: a table without a local-only key.
pub fn parse_layer(text: &str) -> Result<toml::Table, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string().trim().replace('\n', " "))?;
    if let Some(key) = LOCAL_ONLY.iter().find(|k| table.contains_key(**k)) {
        return Err(format!(
            "`{key}` is set only in the terminal's own file (the journal and the fleet link stay its own)"
        ));
    }
    // A profile by name only: a path could name any file of the terminal, and a parser's
    // error quotes what it read.
    if let Some(profile) = table.get("device_profile") {
        if !profile.as_str().is_some_and(|p| super::is_profile_name(Path::new(p))) {
            return Err("`device_profile` in a layer is a profile's name (e.g. \"generic-800x480\"), not a path".into());
        }
    }
    Ok(table)
}

/// Checks a layer on the operator's side, where the terminal's files are not: its TOML,
/// no local-only key, and every key and value one the local config takes (over the
/// commented default config that `posagent init` writes).
pub fn check_layer(text: &str) -> Result<(), String> {
    let over = parse_layer(text)?;
    let mut table: toml::Table = super::DEFAULT_CONFIG.parse().map_err(|e: toml::de::Error| e.to_string())?;
    merge(&mut table, over);
    let config: StoreConfig =
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| e.to_string().trim().replace('\n', " "))?;
    config.validate(Path::new("the layer")).map_err(|e| e.to_string())
}

/// Puts `over` into `base` key by key: a table into a table merges, anything else replaces.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => drop(base.insert(key, value)),
        }
    }
}

impl StoreConfig {
    /// Reads `path` with `layers` over it (in order), then resolves and checks it as
    /// [`StoreConfig::load`] does; an error names the layers.
    pub fn load_layered(path: &Path, layers: &[LayerText<'_>]) -> Result<StoreConfig, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let parse = |message: String| ConfigError::Parse { path: labelled(path, layers), message };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| parse(e.to_string()))?;
        for l in layers {
            let over = parse_layer(l.toml).map_err(|e| parse(format!("the {} layer {}: {e}", l.layer, l.version)))?;
            merge(&mut table, over);
        }
        let config: StoreConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| parse(e.to_string().trim().replace('\n', " ")))?;
        config.resolved(path).map_err(|e| match e {
            ConfigError::Invalid { key, message, .. } => {
                ConfigError::Invalid { path: labelled(path, layers), key, message }
            }
            other => other,
        })
    }
}

/// The file's name with the layers over it, for errors: `posagent.toml + chain 7 + store 2`.
fn labelled(path: &Path, layers: &[LayerText<'_>]) -> std::path::PathBuf {
    let mut label = path.display().to_string();
    for l in layers {
        label.push_str(&format!(" + {} {}", l.layer, l.version));
    }
    label.into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn local(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("posagent.toml");
        std::fs::write(&path, crate::config::DEFAULT_CONFIG).unwrap();
        std::fs::create_dir_all(dir.join("firmware-config")).unwrap();
        let profile = include_str!("../../firmware-config/generic-800x480.toml");
        std::fs::write(dir.join("firmware-config/generic-800x480.toml"), profile).unwrap();
        path
    }

    #[test]
    fn layers_override_key_by_key_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = local(dir.path());
        let base = StoreConfig::load(&path).unwrap();
        let chain = LayerText { layer: "chain", version: "7", toml: "[offline]\nfloor_limit = 1000\nmax_count = 3\n" };
        let store =
            LayerText { layer: "store", version: "2", toml: "[offline]\nmax_count = 4\n[store]\nname = \"B\"\n" };
        let c = StoreConfig::load_layered(&path, &[chain, store]).unwrap();
        assert_eq!((c.offline.floor_limit, c.offline.max_count), (1000, 4));
        assert_eq!(c.store.name, "B");
        assert_eq!(c.store.currency, base.store.currency, "keys of a table a layer does not name stay");
        assert_eq!(c.data_dir, base.data_dir);
        assert_eq!(c.device_profile, base.device_profile, "resolved as the local file's");
    }

    #[test]
    fn a_bad_layer_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = local(dir.path());
        for (toml, says) in [
            ("[offline]\nfloor_limt = 1\n", "floor_limt"),
            ("[offline]\nfloor_limit = \"many\"\n", "floor_limit"),
            ("data_dir = \"/tmp/x\"\n", "data_dir"),
            ("[fleet]\nchain = \"x\"\n", "fleet"),
            ("device_profile = \"/var/lib/posagent/ecr.token\"\n", "not a path"),
            ("[store]\nlocale = \"swedish\"\n", "locale"),
            ("not toml", "store 9"),
        ] {
            let layer = LayerText { layer: "store", version: "9", toml };
            let e = StoreConfig::load_layered(&path, &[layer]).unwrap_err().to_string();
            assert!(e.contains(says), "{toml:?}: {e}");
            assert!(e.contains("+ store 9"), "{toml:?}: {e}");
        }
    }

    #[test]
    fn the_operator_checks_a_layer_without_the_terminal() {
        assert_eq!(check_layer("[offline]\nfloor_limit = 1000\n"), Ok(()));
        assert_eq!(check_layer(""), Ok(()));
        for (bad, says) in [
            ("[offline]\nfloor_limt = 1\n", "floor_limt"),
            ("data_dir = \"x\"", "data_dir"),
            ("[store]\nlocale = \"swedish\"\n", "locale"),
            ("[", "invalid table header"),
        ] {
            let e = check_layer(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn merge_replaces_values_and_merges_tables() {
        let mut base: toml::Table = "a = 1\n[t]\nx = 1\ny = [1, 2]\n".parse().unwrap();
        merge(&mut base, "a = 2\n[t]\ny = [3]\n[u]\nz = true\n".parse().unwrap());
        let want: toml::Table = "a = 2\n[t]\nx = 1\ny = [3]\n[u]\nz = true\n".parse().unwrap();
        assert_eq!(base, want);
    }
}
