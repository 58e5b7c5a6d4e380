//! The operators' commands (`…/cmd/{id}`, a JSON object naming the command) and the
//! terminal's answers (`…/result/{id}`: `accepted`, then `done` with `ok` and the
//! output or a typed error). A command is parsed strictly — an unknown command, key
//! or value is answered `ok: false` and not run — and each is logged with its id.

use crate::daemon::DaemonFacts;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Largest command payload, in bytes.
pub const MAX_COMMAND_BYTES: usize = 4096;

/// A command an operator may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Sets the log filter (`info`, `info,posagent::outbox=debug`), as `PUT /v1/log-level`.
    SetLogLevel {
        /// The filter.
        level: String,
    },
    /// Makes every queued operation due now and wakes the sync worker.
    SyncNow,
    /// Runs `posagent doctor` on the terminal; its checks are the result.
    Doctor,
    /// Reloads the config file as SIGHUP does (log level, offline limits).
    Reload,
    /// Prints the printer's test receipt.
    PrintTestReceipt,
    /// Collects the redacted diagnostics bundle (`diagnostics.rs`).
    DiagnosticsBundle,
}

impl Command {
    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Command::SetLogLevel { .. } => "set-log-level",
            Command::SyncNow => "sync-now",
            Command::Doctor => "doctor",
            Command::Reload => "reload",
            Command::PrintTestReceipt => "print-test-receipt",
            Command::DiagnosticsBundle => "diagnostics-bundle",
        }
    }
}

/// Why a command was not done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not a command: not JSON, an unknown command or key, a missing or mistyped value.
    #[error("not a command: {0}; send e.g. {{\"command\":\"set-log-level\",\"level\":\"info\"}}")]
    Malformed(String),
    /// A value the command does not take.
    #[error("{0}")]
    Invalid(String),
    /// The terminal cannot do it (e.g. it runs without a config file).
    #[error("{0}")]
    Unavailable(String),
    /// It was tried and failed.
    #[error("{0}")]
    Failed(String),
}

impl CommandError {
    /// The error's code in the result.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Malformed(_) => "MALFORMED",
            CommandError::Invalid(_) => "INVALID",
            CommandError::Unavailable(_) => "UNAVAILABLE",
            CommandError::Failed(_) => "FAILED",
        }
    }
}

/// What the terminal publishes on `…/result/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandResult {
    /// The command's id (the last level of its topic).
    pub id: String,
    /// The command's name; absent when it did not parse.
    pub command: Option<String>,
    /// `accepted` (parsed, being run) or `done`.
    pub stage: String,
    /// Whether it was done (absent while `accepted`).
    pub ok: Option<bool>,
    /// What it produced (doctor's checks, the level set).
    pub output: Option<serde_json::Value>,
    /// Why not.
    pub error: Option<ResultError>,
}

/// A failed command's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultError {
    /// `MALFORMED`, `INVALID`, `UNAVAILABLE` or `FAILED`.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl CommandResult {
    /// The first answer: the command parsed and runs.
    pub fn accepted(id: &str, command: &Command) -> Self {
        CommandResult {
            id: id.into(),
            command: Some(command.name().into()),
            stage: "accepted".into(),
            ok: None,
            output: None,
            error: None,
        }
    }

    /// The final answer.
    pub fn done(id: &str, command: Option<&Command>, outcome: Result<serde_json::Value, CommandError>) -> Self {
        let (ok, output, error) = match outcome {
            Ok(v) => (true, Some(v), None),
            Err(e) => (false, None, Some(ResultError { code: e.code().into(), message: e.to_string() })),
        };
        CommandResult {
            id: id.into(),
            command: command.map(|c| c.name().into()),
            stage: "done".into(),
            ok: Some(ok),
            output,
            error,
        }
    }
}

/// Reads a command's payload, strictly: a JSON object with `command` and exactly the
/// keys that command takes.
pub fn parse(payload: &[u8]) -> Result<Command, CommandError> {
    if payload.len() > MAX_COMMAND_BYTES {
        return Err(CommandError::Malformed(format!("{} bytes, more than {MAX_COMMAND_BYTES}", payload.len())));
    }
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| CommandError::Malformed(format!("not JSON: {e}")))?;
    let serde_json::Value::Object(mut keys) = value else {
        return Err(CommandError::Malformed("not a JSON object".into()));
    };
    let name = match keys.remove("command") {
        Some(serde_json::Value::String(name)) => name,
        Some(_) => return Err(CommandError::Malformed("`command` is not a string".into())),
        None => return Err(CommandError::Malformed("no `command`".into())),
    };
    let command = match name.as_str() {
        "set-log-level" => match keys.remove("level") {
            Some(serde_json::Value::String(level)) => Command::SetLogLevel { level },
            Some(_) => return Err(CommandError::Malformed("`level` is not a string".into())),
            None => return Err(CommandError::Malformed("set-log-level needs `level`".into())),
        },
        "sync-now" => Command::SyncNow,
        "doctor" => Command::Doctor,
        "reload" => Command::Reload,
        "print-test-receipt" => Command::PrintTestReceipt,
        "diagnostics-bundle" => Command::DiagnosticsBundle,
        other => {
            let other: String = other.chars().take(64).collect();
            return Err(CommandError::Malformed(format!(
                "unknown command `{other}`; one of set-log-level, sync-now, doctor, reload, print-test-receipt, diagnostics-bundle"
            )));
        }
    };
    if let Some(key) = keys.keys().next() {
        let key: String = key.chars().take(64).collect();
        return Err(CommandError::Malformed(format!("{name} takes no `{key}`")));
    }
    if let Command::SetLogLevel { level } = &command {
        crate::logging::validate_filter(level).map_err(|why| {
            CommandError::Invalid(format!(
                "`{level}` is not a log filter ({why}); write e.g. `info` or `info,posagent::outbox=debug`"
            ))
        })?;
    }
    Ok(command)
}

/// What a command needs of the terminal.
#[derive(Clone)]
pub struct Context {
    /// The daemon.
    pub facts: DaemonFacts,
    /// The config file the daemon was started with, if any (doctor, reload).
    pub config_path: Option<PathBuf>,
    /// The pushed configuration's record (reload reads its layers over the file).
    pub record: Option<PathBuf>,
}

/// Runs a parsed command (`id` is printed on the test receipt).
pub async fn execute(command: &Command, cx: &Context, id: &str) -> Result<serde_json::Value, CommandError> {
    match command {
        Command::PrintTestReceipt => {
            let by = format!("fleet {id}");
            cx.facts.print_test_receipt(&by).await.map_err(|e| CommandError::Failed(e.to_string()))?;
            Ok(serde_json::json!({ "printed": true }))
        }
        Command::DiagnosticsBundle => {
            Ok(super::diagnostics::collect(&cx.facts, cx.config_path.as_deref(), cx.record.as_deref()).await)
        }
        Command::SetLogLevel { level } => {
            crate::logging::set_level(level).map_err(|e| CommandError::Failed(e.to_string()))?;
            Ok(serde_json::json!({ "level": crate::logging::current() }))
        }
        Command::SyncNow => {
            cx.facts.sync_now().await.map_err(|e| CommandError::Failed(e.to_string()))?;
            Ok(serde_json::json!({ "woken": true }))
        }
        Command::Doctor => {
            let path = config_path(cx)?;
            let checks = crate::doctor::run(&path).await;
            let fails = checks.iter().filter(|c| c.level == crate::doctor::Level::Fail).count();
            let checks: Vec<_> = checks
                .iter()
                .map(|c| serde_json::json!({ "level": level(c.level), "name": c.name, "detail": c.detail }))
                .collect();
            Ok(serde_json::json!({ "failed": fails, "checks": checks }))
        }
        Command::Reload => {
            let path = config_path(cx)?;
            let record = cx.record.clone();
            let loaded = tokio::task::spawn_blocking(move || super::applied::load_running(&path, record.as_deref()))
                .await
                .map_err(|e| CommandError::Failed(e.to_string()))?
                .map_err(|e| CommandError::Failed(format!("the config does not load; nothing changed: {e}")))?;
            cx.facts.reload().apply(&loaded);
            Ok(serde_json::json!({ "reloaded": true }))
        }
    }
}

fn config_path(cx: &Context) -> Result<PathBuf, CommandError> {
    cx.config_path.clone().ok_or_else(|| {
        CommandError::Unavailable("this daemon runs without a config file (--simulator without --config)".into())
    })
}

fn level(l: crate::doctor::Level) -> &'static str {
    match l {
        crate::doctor::Level::Ok => "ok",
        crate::doctor::Level::Warn => "warn",
        crate::doctor::Level::Fail => "fail",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_strictly() {
        assert_eq!(
            parse(br#"{"command":"set-log-level","level":"debug"}"#).unwrap(),
            Command::SetLogLevel { level: "debug".into() }
        );
        assert_eq!(parse(br#"{"command":"sync-now"}"#).unwrap(), Command::SyncNow);
        assert_eq!(parse(br#"{"command":"doctor"}"#).unwrap().name(), "doctor");
        assert_eq!(parse(br#"{"command":"reload"}"#).unwrap().name(), "reload");
        assert_eq!(parse(br#"{"command":"print-test-receipt"}"#).unwrap(), Command::PrintTestReceipt);
        assert_eq!(parse(br#"{"command":"diagnostics-bundle"}"#).unwrap(), Command::DiagnosticsBundle);
        for bad in [
            &b"not json"[..],
            br#"{"command":"reboot"}"#,
            br#"{"command":"sync-now","now":true}"#,
            br#"{"command":"set-log-level"}"#,
            br#"{"command":"set-log-level","level":3}"#,
            br#"{"level":"info"}"#,
            br#"["sync-now"]"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code(), "MALFORMED", "{}: {e}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse(br#"{"command":"set-log-level","level":"verbose"}"#).unwrap_err().code(), "INVALID");
        assert_eq!(parse(&vec![b' '; MAX_COMMAND_BYTES + 1]).unwrap_err().code(), "MALFORMED");
    }

    #[test]
    fn results_carry_the_outcome() {
        let c = Command::SyncNow;
        let a = CommandResult::accepted("c1", &c);
        assert_eq!((a.stage.as_str(), a.ok), ("accepted", None));
        let bad = CommandResult::done("c2", None, Err(CommandError::Malformed("x".into())));
        assert_eq!((bad.ok, bad.error.unwrap().code.as_str()), (Some(false), "MALFORMED"));
        let good = CommandResult::done("c3", Some(&c), Ok(serde_json::json!({})));
        assert_eq!((good.ok, good.command.as_deref()), (Some(true), Some("sync-now")));
    }
}
