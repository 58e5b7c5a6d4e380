//! The log level at run time: the binary installs a setter over its subscriber's reload
//! handle; `PUT /v1/log-level` and SIGHUP (the config's `log_level`) use it. The filter
//! is a level or `target=level` directives (tracing-subscriber's `Targets`, matched by
//! target prefix) such as `info` or `info,posagent::outbox=debug`.

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

/// The level names a filter may use.
pub const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a filter against the real level names: each comma-separated directive is a
/// level (`info`) or `target=level` (`posagent::outbox=debug`). A word that is not a
/// level (`warning`, `verbose`) would otherwise parse as a target and switch all logging
/// off without a word.
pub fn validate_filter(filter: &str) -> Result<(), String> {
    let filter = filter.trim();
    if filter.is_empty() || filter.len() > 512 {
        return Err("empty or too long".into());
    }
    let level = |l: &str| LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
    let target = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c));
    for d in filter.split(',') {
        let ok = match d.split_once('=') {
            Some((t, l)) => target(t.trim()) && level(l),
            None => level(d),
        };
        if !ok {
            return Err(format!("`{}` is not a level or target=level; the levels are {}", d.trim(), LEVELS.join(", ")));
        }
    }
    Ok(())
}

/// `filter` as the subscriber reads it: its directives trimmed (`Targets` takes a space
/// for part of a target name).
pub fn normalized(filter: &str) -> String {
    filter.split(',').map(str::trim).collect::<Vec<_>>().join(",")
}

/// Changes the filter; the change is logged at WARN before it applies (so it is seen
/// whatever the new level is).
pub fn set_level(filter: &str) -> Result<(), LogLevelError> {
    validate_filter(filter).map_err(|reason| LogLevelError::Invalid { filter: filter.trim().to_string(), reason })?;
    let filter = &normalized(filter);
    let setter = SETTER.get().ok_or(LogLevelError::NotReloadable)?;
    tracing::warn!(from = %current(), to = filter, "log level changing");
    setter(filter).map_err(|reason| LogLevelError::Invalid { filter: filter.to_string(), reason })?;
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = filter.to_string();
    Ok(())
}

/// A log line for journald on stderr: the event as `inner` formats it, after the syslog
/// priority prefix `<N>` journald reads (`SyslogLevelPrefix=`), so `journalctl -p
/// warning` finds the warnings.
pub struct SyslogPrefixed<F>(pub F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for SyslogPrefixed<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", syslog_priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The syslog priority of a tracing level (err 3, warning 4, info 6, debug 7).
pub fn syslog_priority(level: tracing::Level) -> u8 {
    match level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        _ => 7,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn journald_priorities_follow_syslog() {
        assert_eq!(super::syslog_priority(tracing::Level::ERROR), 3);
        assert_eq!(super::syslog_priority(tracing::Level::WARN), 4);
        assert_eq!(super::syslog_priority(tracing::Level::INFO), 6);
        assert_eq!(super::syslog_priority(tracing::Level::TRACE), 7);
    }

    #[test]
    fn only_real_level_names_pass() {
        for ok in ["info", "WARN", "info,posagent::outbox=debug", "off", "posagent=trace, hyper=warn"] {
            assert_eq!(super::validate_filter(ok), Ok(()), "{ok}");
            assert!(super::normalized(ok).parse::<tracing_subscriber::filter::Targets>().is_ok(), "{ok}");
        }
        for bad in ["warning", "verbose", "AAA", "", "info,", "posagent=loud", "=info", "a b=info"] {
            assert!(super::validate_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_filter_that_passes_is_the_one_the_subscriber_applies() {
        use tracing::Level;
        use tracing_subscriber::filter::{LevelFilter, Targets};
        let parse = |f: &str| -> Targets { super::normalized(f).parse().unwrap_or_else(|e| panic!("{f}: {e}")) };
        let t = parse("posagent=trace, hyper=warn");
        assert!(t.would_enable("posagent::outbox", &Level::TRACE));
        assert!(!t.would_enable("hyper::proto", &Level::INFO) && t.would_enable("hyper::proto", &Level::WARN));
        assert!(!t.would_enable("reqwest", &Level::ERROR), "no default level: other targets off, as EnvFilter");
        let t = parse("WARN,posagent::outbox=debug");
        assert_eq!(t.default_level(), Some(LevelFilter::WARN));
        assert!(
            t.would_enable("posagent::outbox::sync", &Level::DEBUG) && !t.would_enable("posagent::ecr", &Level::INFO)
        );
        assert_eq!(parse("off").default_level(), Some(LevelFilter::OFF));
    }
}
