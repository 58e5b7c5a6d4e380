//! Configuration: the store config (`posagent.toml`) and the device profile from
//! `firmware-config/` (by name or path), and the udev rules made from the profiles.
//! Unknown keys, missing files and bad values stop start-up with an error naming the
//! file, the key and what to do.

mod check;
pub mod console;
pub mod fleet;
pub mod layered;
mod locate;
mod profile;
mod store;
pub mod udev;
pub mod zvt;

pub use console::{Article, ConsoleConfig};
pub use fleet::FleetConfig;
pub use locate::{SYSTEM_PROFILE_DIR, find_profile, is_profile_name, profile_dirs, resolve_profile};
pub use profile::{CardReaderProfile, DeviceProfile, DisplayDriver, DisplayProfile, Endpoint, PrinterProfileConfig};
pub use store::{AcquirerConfig, EcrConfig, LimitsConfig, StoreConfig, StoreSection, SyncConfig, valid_locale};
pub use udev::{DeviceUsbIds, udev_link};
pub use zvt::ZvtConfig;

use std::path::{Path, PathBuf};

/// The commented default store config written by `posagent init`.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// A configuration problem, worded for store IT.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}; create it with `posagent init` or pass the right path with --config")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (unknown key, wrong type, missing key).
    #[error("{path}: {message}; compare with the commented default that `posagent init` writes")]
    Parse {
        /// File.
        path: PathBuf,
        /// What toml said, with line and column.
        message: String,
    },
    /// `device_profile` names a profile that is in none of the folders looked in.
    #[error(
        "device profile `{name}` not found: looked for {}; install the profile there (a store's own in the first), or set device_profile to the profile file's path",
        list(.looked_in)
    )]
    ProfileNotFound {
        /// The name.
        name: String,
        /// Every file looked for, in order.
        looked_in: Vec<PathBuf>,
    },
    /// A key the terminal cannot do without is not set.
    #[error("key `{key}` is not set: {message}")]
    Missing {
        /// Dotted key.
        key: String,
        /// Why it is needed and what to write.
        message: String,
    },
    /// A key has a value that is not allowed.
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// Dotted key.
        key: String,
        /// What is wrong and what to write instead.
        message: String,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", then ")
}

pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().trim().replace('\n', " ") })
}

pub(crate) fn invalid(path: &Path, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { path: path.to_path_buf(), key: key.to_string(), message: message.into() }
}
