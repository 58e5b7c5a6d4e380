//! The log level at run time: the binary installs a setter over its subscriber's reload
//! handle; `PUT /v1/log-level` and SIGHUP (the config's `log_level`) use it. The filter
//! is an `EnvFilter` directive such as `info` or `info,posagent::outbox=debug`.

use std::sync::{Mutex, OnceLock};

type Setter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

static SETTER: OnceLock<Setter> = OnceLock::new();
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// Why the level was not changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogLevelError {
    /// This process has no reloadable subscriber (e.g. a test).
    #[error("the log level cannot be changed in this process")]
    NotReloadable,
    /// The directive does not parse.
    #[error("`{filter}` is not a log filter ({reason}); write e.g. `info` or `info,posagent::outbox=debug`")]
    Invalid {
        /// What was given.
        filter: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Installs the setter (once, by the binary) and records the starting filter.
pub fn install(initial: &str, setter: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static) {
    if SETTER.set(Box::new(setter)).is_ok() {
        *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = initial.to_string();
    }
}

/// The filter in force (empty if not reloadable).
pub fn current() -> String {
    CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Changes the filter.
pub fn set_level(filter: &str) -> Result<(), LogLevelError> {
    let filter = filter.trim();
    if filter.is_empty() || filter.len() > 512 {
        return Err(LogLevelError::Invalid { filter: filter.to_string(), reason: "empty or too long".into() });
    }
    let setter = SETTER.get().ok_or(LogLevelError::NotReloadable)?;
    setter(filter).map_err(|reason| LogLevelError::Invalid { filter: filter.to_string(), reason })?;
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = filter.to_string();
    tracing::info!(filter, "log level changed");
    Ok(())
}
