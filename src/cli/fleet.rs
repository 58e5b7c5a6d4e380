//! `posagent fleet status|command|push|rollout|rollback`: the operator's side of the
//! fleet link, against the chain's broker with the operator's certificate
//! (docs/fleet.md). `status` is a table of the terminals (or JSON for scripts), `command`
//! sends one terminal one command and waits for its result; `push`, `rollout` and
//! `rollback` change a layer's config document.

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use posagent::fleet::TerminalState;
use posagent::fleet::document::{ConfigDocument, LayerVersion, Rollout};
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

/// Which layer of the pushed configuration: the chain's, a store's or a terminal's.
#[derive(Args)]
pub struct LayerArgs {
    /// The chain.
    #[arg(long)]
    chain: String,
    /// The store (its layer, or its terminal's with --terminal).
    #[arg(long)]
    store: Option<String>,
    /// The terminal (with --store).
    #[arg(long, requires = "store")]
    terminal: Option<String>,
}

/// Who takes a version.
#[derive(Args)]
#[group(multiple = false)]
pub struct RolloutArgs {
    /// The terminals whose bucket is below this percentage (0 to 100).
    #[arg(long)]
    percent: Option<u8>,
    /// The terminals named (`chain/store/terminal`, comma-separated).
    #[arg(long, value_delimiter = ',')]
    terminals: Option<Vec<String>>,
}

impl RolloutArgs {
    fn rollout(&self) -> Option<Rollout> {
        match (&self.percent, &self.terminals) {
            (Some(p), _) => Some(Rollout::Percent(*p)),
            (None, Some(t)) => Some(Rollout::Terminals(t.clone())),
            (None, None) => None,
        }
    }
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
    /// Publishes a new version of a layer (a TOML file of the local config's keys); the
    /// version it replaces stays as the document's `previous`.
    Push {
        #[command(flatten)]
        broker: BrokerArgs,
        #[command(flatten)]
        layer: LayerArgs,
        /// The version's name (1 to 64 of A-Z a-z 0-9 . _ -).
        #[arg(long)]
        version: String,
        /// The layer's TOML file.
        #[arg(required_unless_present = "remove", conflicts_with = "remove")]
        file: Option<PathBuf>,
        #[command(flatten)]
        rollout: RolloutArgs,
        /// A version without keys instead of the file: the layer no longer sets anything.
        #[arg(long)]
        remove: bool,
    },
    /// Gives the layer's current version to other terminals (no option: to all).
    Rollout {
        #[command(flatten)]
        broker: BrokerArgs,
        #[command(flatten)]
        layer: LayerArgs,
        #[command(flatten)]
        rollout: RolloutArgs,
    },
    /// Makes the layer's previous version its current one, for every terminal.
    Rollback {
        #[command(flatten)]
        broker: BrokerArgs,
        #[command(flatten)]
        layer: LayerArgs,
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
        FleetAction::Push { .. } | FleetAction::Rollout { .. } | FleetAction::Rollback { .. } => {
            config_action(action).await
        }
    }
}

/// `push`, `rollout` and `rollback`: a layer's document changed in place.
async fn config_action(action: FleetAction) -> anyhow::Result<()> {
    match action {
        FleetAction::Push { broker, layer, version, file, rollout, remove } => {
            let toml = match (remove, file) {
                (true, _) => String::new(),
                (false, Some(file)) => {
                    let toml = std::fs::read_to_string(&file)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                    posagent::config::layered::check_layer(&toml)
                        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was pushed", file.display()))?;
                    toml
                }
                (false, None) => bail!("give the layer's file, or --remove"),
            };
            let rollout = rollout.rollout();
            update(&broker, &layer, move |current| {
                // While the current version is only partly rolled out, the rest of the
                // terminals run its `previous`: that stays what they run.
                let previous = match current {
                    Some(ConfigDocument { rollout: Some(_), previous, .. }) => previous,
                    other => other.map(|c| LayerVersion { version: c.version, toml: c.toml }),
                };
                if previous.as_ref().is_some_and(|p| p.version == version) {
                    return Err(format!("version `{version}` is the current one; name the new version differently"));
                }
                let pushed_at_ms = Some(posagent::domain::now_ms());
                Ok(Some(ConfigDocument { version, toml, rollout, previous, pushed_at_ms }))
            })
            .await
        }
        FleetAction::Rollout { broker, layer, rollout } => {
            let rollout = rollout.rollout();
            update(&broker, &layer, move |current| match current {
                Some(doc) => Ok(Some(ConfigDocument { rollout, ..doc })),
                None => Err("this layer has no document to roll out; push one first".into()),
            })
            .await
        }
        FleetAction::Rollback { broker, layer } => {
            update(&broker, &layer, |current| match current {
                Some(ConfigDocument { previous: Some(p), pushed_at_ms, .. }) => Ok(Some(ConfigDocument {
                    version: p.version,
                    toml: p.toml,
                    rollout: None,
                    previous: None,
                    pushed_at_ms: pushed_at_ms.map(|_| posagent::domain::now_ms()),
                })),
                Some(_) => {
                    Err("this layer has no previous version; push the version to go back to, or --remove".into())
                }
                None => Err("this layer has no document".into()),
            })
            .await
        }
        FleetAction::Status { .. } | FleetAction::Command { .. } => bail!("not a config action"),
    }
}

/// Changes the layer's document and says what it is now.
async fn update(
    broker: &BrokerArgs,
    layer: &LayerArgs,
    change: impl FnOnce(Option<ConfigDocument>) -> Result<Option<ConfigDocument>, String>,
) -> anyhow::Result<()> {
    let topic = layer_topic(layer)?;
    let change = |current: Option<ConfigDocument>| {
        let new = change(current)?;
        if let Some(doc) = &new {
            doc.check()?;
        }
        Ok(new)
    };
    let wait = Duration::from_secs(broker.timeout_secs);
    let (before, after) = operator(broker)?.update_document(&topic, wait, change).await?;
    if broker.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "topic": topic, "before": before, "after": after }))?
        );
    } else {
        let version = |d: &Option<ConfigDocument>| d.as_ref().map_or("none".to_string(), |d| d.version.clone());
        let to = match after.as_ref().and_then(|d| d.rollout.as_ref()) {
            None => "every terminal".to_string(),
            Some(Rollout::Percent(p)) => format!("{p} % of the terminals"),
            Some(Rollout::Terminals(t)) => t.join(", "),
        };
        println!("{topic}: {} -> {} ({to})", version(&before), version(&after));
    }
    Ok(())
}

/// The layer's topic, its ids checked.
fn layer_topic(layer: &LayerArgs) -> anyhow::Result<String> {
    let ids = [Some(&layer.chain), layer.store.as_ref(), layer.terminal.as_ref()];
    if let Some(bad) = ids.iter().flatten().find(|id| !posagent::config::fleet::is_topic_id(id)) {
        bail!("`{bad}` is not an id: 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    let levels: Vec<&str> = ids.iter().flatten().map(|s| s.as_str()).collect();
    Ok(format!("{}/{}/config", posagent::fleet::topics::PREFIX, levels.join("/")))
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

/// `applied chain:7 store:2` — the config status and the running versions.
fn config_column(s: &TerminalState) -> String {
    let Some(c) = &s.config else { return "-".into() };
    let status = serde_json::to_value(c.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let r = &c.running;
    let named = [("chain", &r.chain), ("store", &r.store), ("terminal", &r.terminal)];
    let versions: Vec<String> = named.iter().filter_map(|(l, v)| v.as_ref().map(|v| format!("{l}:{v}"))).collect();
    format!("{status} {}", versions.join(" ")).trim_end().to_string()
}

/// The status table: one terminal a line.
fn table(states: &[TerminalState], now_ms: i64) -> String {
    let mut out = format!(
        "{:<40} {:<8} {:<8} {:<9} {:>6} {:>8}  {:<10}  {}\n",
        "TERMINAL", "STATE", "VERSION", "HEALTH", "QUEUE", "OLDEST", "LAST SEEN", "CONFIG"
    );
    for s in states {
        let presence = if s.online { "online" } else { "offline" };
        let health = s.health.as_deref().unwrap_or("-");
        let queue = s.queue.as_ref().map_or("-".to_string(), |q| q.depth.to_string());
        let oldest = s.queue.as_ref().and_then(|q| q.oldest_age_secs).map_or("-".to_string(), |a| format!("{a}s"));
        let ago = format!("{}s ago", (now_ms - s.at_ms).max(0) / 1000);
        let line = format!(
            "{:<40} {presence:<8} {:<8} {health:<9} {queue:>6} {oldest:>8}  {ago:<10}  {}\n",
            s.terminal,
            s.version,
            config_column(s)
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
