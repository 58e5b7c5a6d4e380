//! `posagent fleet status|command`: the operator's side of the fleet link, against the
//! chain's broker with the operator's certificate (docs/fleet.md). `status` is a table
//! of the terminals (or JSON for scripts), `command` sends one terminal one command and
//! waits for its result.

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use posagent::fleet::TerminalState;
use posagent::fleet::operator::Operator;
use posagent::fleet::tls::TlsFiles;
use posagent::fleet::topics::TerminalPath;
use std::path::PathBuf;
use std::time::Duration;

/// How the operator reaches the broker.
#[derive(Args)]
pub struct BrokerArgs {
    /// The broker, e.g. `mqtts://broker.chain.example:8883`.
    #[arg(long)]
    broker: String,
    /// PEM: the CA that signed the broker's certificate.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// PEM: the operator's certificate (its CN is the operator's name in the broker's ACL).
    #[arg(long)]
    cert_file: Option<PathBuf>,
    /// PEM: its private key (mode 0600).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Seconds to wait for the broker (status) or the terminal's result (command).
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// JSON instead of a table, for scripts.
    #[arg(long)]
    json: bool,
}

/// Online or offline.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Presence {
    /// Connected to the broker.
    Online,
    /// Gone (its last will) or stopped.
    Offline,
}

/// What to do.
#[derive(Subcommand)]
pub enum FleetAction {
    /// A table of the terminals: version, health, queue, last seen.
    Status {
        #[command(flatten)]
        broker: BrokerArgs,
        /// Only this chain's terminals.
        #[arg(long)]
        chain: Option<String>,
        /// Only this store's terminals.
        #[arg(long)]
        store: Option<String>,
        /// Only those online, or offline.
        #[arg(long, value_enum)]
        state: Option<Presence>,
    },
    /// Sends a terminal a command and waits for its result: `set-log-level LEVEL`,
    /// `sync-now`, `doctor`, `reload`.
    Command {
        #[command(flatten)]
        broker: BrokerArgs,
        /// The terminal: `chain/store/terminal`.
        terminal: String,
        /// The command.
        command: String,
        /// Its arguments (`set-log-level` takes the level).
        args: Vec<String>,
    },
}

fn operator(b: &BrokerArgs) -> anyhow::Result<Operator> {
    let files = match (&b.ca_file, &b.cert_file, &b.key_file) {
        (Some(ca), Some(cert), Some(key)) => Some(TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() }),
        (None, None, None) => None,
        _ => bail!("give all of --ca-file, --cert-file and --key-file, or none (plain mqtt:// to 127.0.0.1)"),
    };
    let client_id = format!("posagent-operator-{}", std::process::id());
    Ok(Operator { broker_url: b.broker.clone(), files, client_id })
}

/// Runs `posagent fleet …`.
pub async fn fleet(action: FleetAction) -> anyhow::Result<()> {
    match action {
        FleetAction::Status { broker, chain, store, state } => {
            let states = operator(&broker)?.states(Duration::from_secs(broker.timeout_secs)).await?;
            let shown: Vec<TerminalState> = states
                .into_iter()
                .filter(|(path, s)| {
                    chain.as_ref().is_none_or(|c| *c == path.chain)
                        && store.as_ref().is_none_or(|st| *st == path.store)
                        && state.is_none_or(|p| (p == Presence::Online) == s.online)
                })
                .map(|(_, s)| s)
                .collect();
            if broker.json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                print!("{}", table(&shown, posagent::domain::now_ms()));
            }
            Ok(())
        }
        FleetAction::Command { broker, terminal, command, args } => {
            let Some(path) = TerminalPath::parse(&terminal) else {
                bail!(
                    "`{terminal}` is not a terminal: write chain/store/terminal, as `posagent fleet status` lists them"
                );
            };
            let body = command_body(&command, &args);
            let result = operator(&broker)?.command(&path, &body, Duration::from_secs(broker.timeout_secs)).await?;
            if broker.json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else if let Some(e) = &result.error {
                println!("{terminal}: {command} failed: {} {}", e.code, e.message);
            } else {
                let output = result.output.as_ref().map(|o| o.to_string()).unwrap_or_default();
                println!("{terminal}: {command} done {output}");
            }
            if result.ok != Some(true) {
                bail!("the terminal did not do the command");
            }
            Ok(())
        }
    }
}

/// The command's JSON: `set-log-level` takes its level; any other name is sent as it is
/// (with its arguments, if any), for the terminal to accept or refuse.
fn command_body(command: &str, args: &[String]) -> serde_json::Value {
    match (command, args) {
        ("set-log-level", [level]) => serde_json::json!({ "command": command, "level": level }),
        (_, []) => serde_json::json!({ "command": command }),
        _ => serde_json::json!({ "command": command, "args": args }),
    }
}

/// The status table: one terminal a line.
fn table(states: &[TerminalState], now_ms: i64) -> String {
    let mut out = format!(
        "{:<40} {:<8} {:<8} {:<9} {:>6} {:>8}  {}\n",
        "TERMINAL", "STATE", "VERSION", "HEALTH", "QUEUE", "OLDEST", "LAST SEEN"
    );
    for s in states {
        let presence = if s.online { "online" } else { "offline" };
        let health = s.health.as_deref().unwrap_or("-");
        let queue = s.queue.as_ref().map_or("-".to_string(), |q| q.depth.to_string());
        let oldest = s.queue.as_ref().and_then(|q| q.oldest_age_secs).map_or("-".to_string(), |a| format!("{a}s"));
        let ago = ((now_ms - s.at_ms).max(0) / 1000).to_string();
        let line = format!(
            "{:<40} {presence:<8} {:<8} {health:<9} {queue:>6} {oldest:>8}  {ago}s ago\n",
            s.terminal, s.version
        );
        out.push_str(&line);
    }
    if states.is_empty() {
        out.push_str("(no terminal has published its state)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_built_from_their_words() {
        assert_eq!(command_body("set-log-level", &["debug".into()])["level"], "debug");
        assert_eq!(command_body("doctor", &[]), serde_json::json!({"command": "doctor"}));
        assert_eq!(command_body("sync-now", &["x".into()])["args"][0], "x");
    }

    #[test]
    fn the_table_has_a_line_per_terminal() {
        let s = TerminalState::offline("acme/s1/t1", 1_000);
        let t = table(&[s], 61_000);
        assert!(t.contains("acme/s1/t1") && t.contains("offline") && t.contains("60s ago"), "{t}");
        assert!(table(&[], 0).contains("no terminal"));
    }
}
