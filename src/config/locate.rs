//! Where a device profile comes from: `device_profile` names a shipped profile by name
//! (`generic-800x480`), looked up in the store's overrides beside the config
//! (`/etc/posagent/firmware-config/NAME.toml`) and then in the package's profiles
//! (`/usr/share/posagent/firmware-config/NAME.toml`), so that an upgrade reaches every
//! terminal that names one; or it is a path, as before. And what a profile leaves to the
//! store: the address of a network printer (`printer_endpoint`).

use super::{ConfigError, DeviceProfile, Endpoint};
use std::path::{Path, PathBuf};

/// The package's device profiles.
pub const SYSTEM_PROFILE_DIR: &str = "/usr/share/posagent/firmware-config";

/// Whether `device_profile` is a profile name (`generic-800x480`) rather than a path: one
/// path component of letters, digits, `-`, `_` and `.`, not ending in `.toml`.
pub fn is_profile_name(value: &Path) -> bool {
    let Some(s) = value.to_str() else { return false };
    !s.is_empty()
        && !s.starts_with('.')
        && !s.ends_with(".toml")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The folders a profile name is looked up in, in order, for a config in `config_dir`:
/// the store's overrides (`firmware-config/` beside the config: `/etc/posagent/firmware-config`
/// for the installed one), then the package's.
pub fn profile_dirs(config_dir: &Path) -> Vec<PathBuf> {
    vec![config_dir.join("firmware-config"), PathBuf::from(SYSTEM_PROFILE_DIR)]
}

/// The file of the profile `name`: the first `DIR/NAME.toml` that exists among `dirs`,
/// or an error listing every place it looked.
pub fn find_profile(name: &str, dirs: &[PathBuf]) -> Result<PathBuf, ConfigError> {
    let candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join(format!("{name}.toml"))).collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| ConfigError::ProfileNotFound { name: name.to_string(), looked_in: candidates })
}

/// `device_profile` of the config at `config`: a name is looked up ([`profile_dirs`]), a
/// relative path is relative to the config's folder, an absolute path stays.
pub fn resolve_profile(value: &Path, config: &Path) -> Result<PathBuf, ConfigError> {
    let base = config.parent().unwrap_or(Path::new("."));
    if is_profile_name(value) {
        find_profile(&value.to_string_lossy(), &profile_dirs(base))
    } else if value.is_relative() {
        Ok(base.join(value))
    } else {
        Ok(value.to_path_buf())
    }
}

impl DeviceProfile {
    /// Every profile (`*.toml`) in `dir`, by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<DeviceProfile>, ConfigError> {
        let read = |source| ConfigError::Read { path: dir.to_path_buf(), source };
        let mut paths = vec![];
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        paths.iter().map(|p| DeviceProfile::load(p)).collect()
    }

    /// The profile with what the store config sets for it: `printer_endpoint` replaces the
    /// printer's endpoint; a profile whose printer is on the network (`endpoint =
    /// "network"`) needs it, since no LAN address is guessed.
    pub fn with_store_endpoints(mut self, printer_endpoint: Option<&Endpoint>) -> Result<Self, ConfigError> {
        match (printer_endpoint, &self.printer.endpoint) {
            (Some(e), _) => self.printer.endpoint = e.clone(),
            (None, Endpoint::Network) => {
                return Err(ConfigError::Missing {
                    key: "printer_endpoint".into(),
                    message: format!(
                        "the device profile {} has a network receipt printer and its address is not guessed; set printer_endpoint = \"tcp:PRINTER-ADDRESS:9100\" in the store config (the printer's fixed address, e.g. from its self-test slip)",
                        self.model
                    ),
                });
            }
            (None, _) => {}
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = include_str!("../../firmware-config/simulator.toml");

    #[test]
    fn names_and_paths() {
        for name in ["generic-800x480", "counter-pc", "my_model.v2"] {
            assert!(is_profile_name(Path::new(name)), "{name}");
        }
        for path in ["firmware-config/generic-800x480.toml", "generic-800x480.toml", "/x/y", "./x", "", ".hidden"] {
            assert!(!is_profile_name(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn a_name_is_found_in_the_overrides_first_then_in_the_package() -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let (store, system) = (tmp.path().join("etc"), tmp.path().join("share"));
        std::fs::create_dir_all(&store)?;
        std::fs::create_dir_all(&system)?;
        let dirs = [store.clone(), system.clone()];
        std::fs::write(system.join("m.toml"), PROFILE)?;
        assert_eq!(find_profile("m", &dirs)?, system.join("m.toml"));
        std::fs::write(store.join("m.toml"), PROFILE)?;
        assert_eq!(find_profile("m", &dirs)?, store.join("m.toml"), "the store's override wins");
        let missing = find_profile("nope", &dirs).err();
        let text = missing.as_ref().map(|e| e.to_string()).unwrap_or_default();
        assert!(matches!(missing, Some(ConfigError::ProfileNotFound { ref looked_in, .. }) if looked_in.len() == 2));
        for want in [store.join("nope.toml"), system.join("nope.toml")] {
            assert!(text.contains(&want.display().to_string()), "{text}");
        }
        assert!(text.contains("device_profile"), "{text}");
        Ok(())
    }

    #[test]
    fn a_config_resolves_names_beside_it_and_paths_as_before() -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let config = tmp.path().join("posagent.toml");
        std::fs::create_dir_all(tmp.path().join("firmware-config"))?;
        std::fs::write(tmp.path().join("firmware-config/terminal.toml"), PROFILE)?;
        let dir = tmp.path().join("firmware-config");
        assert_eq!(resolve_profile(Path::new("terminal"), &config)?, dir.join("terminal.toml"));
        let rel = Path::new("firmware-config/terminal.toml");
        assert_eq!(resolve_profile(rel, &config)?, tmp.path().join(rel));
        assert_eq!(resolve_profile(Path::new("/abs/p.toml"), &config)?, PathBuf::from("/abs/p.toml"));
        assert_eq!(profile_dirs(Path::new("/etc/posagent"))[0], PathBuf::from("/etc/posagent/firmware-config"));
        Ok(())
    }

    #[test]
    fn a_network_printer_needs_its_address_from_the_store() -> Result<(), Box<dyn std::error::Error>> {
        let text = PROFILE.replacen("endpoint = \"tcp:127.0.0.1:1\"\ncolumns", "endpoint = \"network\"\ncolumns", 1);
        assert_ne!(text, PROFILE);
        let p = DeviceProfile::parse(&text, Path::new("n.toml"))?;
        assert_eq!(p.printer.endpoint, Endpoint::Network);
        let e = p.clone().with_store_endpoints(None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("printer_endpoint") && e.contains("not guessed"), "{e}");
        let set = Endpoint::Tcp("10.20.30.40:9100".into());
        let p = p.with_store_endpoints(Some(&set))?;
        assert_eq!(p.printer.endpoint, set);
        // Only a printer may leave its address to the store.
        let bad = PROFILE.replacen("endpoint = \"tcp:127.0.0.1:1\"", "endpoint = \"network\"", 1);
        let e = DeviceProfile::parse(&bad, Path::new("n.toml")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("display.endpoint"), "{e}");
        Ok(())
    }
}
