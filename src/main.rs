//! `posagent`: the daemon and its command line.
//!
//! Without the `simulator` feature (the terminal package) `run --simulator`, `demo` and
//! `scenario` are hidden and exit with [`cli::NoSimulator`]; nothing of the simulator is linked.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use posagent::config::{DEFAULT_CONFIG, DeviceProfile, StoreConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod cli;

#[cfg(not(feature = "simulator"))]
use cli::NoSimulator;
use cli::queue::QueueAction;
use cli::remote::{ReportKind, SaleAction};

#[derive(Parser)]
#[command(name = "posagent", version, about = "Payment-terminal agent: Klarna at the counter")]
struct Cli {
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Loads and validates the config and its device profile.
    Check {
        /// Store config.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines (colour only on a terminal).
    Text,
    /// One JSON object per line.
    Json,
    /// Text lines with the syslog priority prefix journald reads (`<4>` for a warning);
    /// chosen by itself when stderr is the journal (`JOURNAL_STREAM`).
    Journald,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the daemon.
    Run {
        /// Store config file (see `posagent init`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Runs against the embedded simulator (acquirer, display, printer).
        #[arg(long)]
        #[cfg_attr(not(feature = "simulator"), arg(hide = true))]
        simulator: bool,
        /// Data directory in simulator mode.
        #[arg(long, default_value = "posagent-data")]
        #[cfg_attr(not(feature = "simulator"), arg(hide = true))]
        data_dir: PathBuf,
        /// ECR API address (overrides `ecr.listen` of --config; 127.0.0.1:7600 in
        /// simulator mode without a config).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// In simulator mode, a counter-PC terminal: a 2×20 line display instead of the
        /// graphic one, the Klarna QR code printed on a slip.
        #[arg(long, requires = "simulator")]
        #[cfg_attr(not(feature = "simulator"), arg(hide = true))]
        line_display: bool,
    },
    /// Writes a commented default config and the device profiles into DIR.
    Init {
        /// Folder to write into.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Overwrite an existing config.
        #[arg(long)]
        force: bool,
    },
    /// Lists serial ports and USB devices (VID:PID), and whether a profile's devices are there.
    Devices {
        /// A device profile (firmware-config/*.toml) to check against.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Also ask the profile's printer and card reader for their firmware versions
        /// (opens the devices: stop the service first).
        #[arg(long, requires = "profile")]
        firmware: bool,
        /// Lists the printer models of the ESC/POS printer database (for `printer.model`).
        #[arg(long)]
        models: bool,
    },
    /// Validates a config file and the device profile it names, nothing else (no
    /// devices, network or secrets): exit 0 when both load, 1 with the reason otherwise.
    Config {
        /// What to do: `check`.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Checks the terminal's setup: one line per check with OK, WARN or FAIL.
    Doctor {
        /// Store config.
        #[arg(long)]
        config: PathBuf,
    },
    /// Post-purchase operations on a sale of the running daemon: reprint (marked COPY),
    /// capture (the rest of) a `capture: LATER` sale, void what is left.
    Sale {
        /// show (the sale and its journaled history), reprint, capture or void.
        #[arg(value_enum)]
        action: SaleAction,
        /// Sale id or reference.
        id: String,
        /// Amount to capture in minor units (default: all that remains).
        #[arg(long)]
        amount: Option<i64>,
        /// Store config of the running daemon.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory of a daemon running on the simulator.
        #[arg(long, default_value = "posagent-data")]
        data_dir: PathBuf,
    },
    /// The running daemon's sales, newest first: a table (or `--json`), filtered by
    /// creation time, state and method.
    Sales {
        /// Only sales created at or after this RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
        /// Only sales created before this RFC 3339 instant (a table's last time: the next page).
        #[arg(long)]
        before: Option<String>,
        /// Only sales in this state (APPROVED, CANCELED, …).
        #[arg(long)]
        state: Option<String>,
        /// Only sales by this method (KLARNA or CARD).
        #[arg(long)]
        method: Option<String>,
        /// At most this many, 1 to 1000.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// The API's JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Store config of the running daemon.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory of a daemon running on the simulator.
        #[arg(long, default_value = "posagent-data")]
        data_dir: PathBuf,
    },
    /// End-of-day reports from the running daemon: `x` (mid-day), `z` (closes the day),
    /// `reconcile` (against the acquirer's settlement report).
    Report {
        /// x, z or reconcile.
        #[arg(value_enum)]
        kind: ReportKind,
        /// Store config of the running daemon.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory of a daemon running on the simulator.
        #[arg(long, default_value = "posagent-data")]
        data_dir: PathBuf,
        /// Day to reconcile (YYYY-MM-DD, default today).
        #[arg(long)]
        date: Option<String>,
        /// Print the X report on the receipt printer too.
        #[arg(long)]
        print: bool,
    },
    /// The queue of operations waiting for the acquirer (store-and-forward): list, retry
    /// a dead letter, export, sync now.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
        /// Store config of the running daemon.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// Data directory of a daemon running on the simulator.
        #[arg(long, default_value = "posagent-data", global = true)]
        data_dir: PathBuf,
    },
    /// The cashier console's cashiers (docs/console.md): add (or change), list, disable.
    Cashier {
        #[command(subcommand)]
        action: cli::cashier::CashierAction,
        /// Store config of the running daemon.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// Data directory of a daemon running on the simulator.
        #[arg(long, default_value = "posagent-data", global = true)]
        data_dir: PathBuf,
    },
    /// The chain's fleet through its MQTT broker, with an operator's certificate
    /// (docs/fleet.md): the terminals' states, a command to one terminal.
    Fleet {
        #[command(subcommand)]
        action: cli::fleet::FleetAction,
    },
    /// Prints the udev rules the device profiles' USB devices need (the package's
    /// 99-posagent.rules): their links and the service user's group.
    UdevRules {
        /// A folder of profiles (*.toml); without it, the profiles this build ships.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Runs scenario files (TOML), each against a fresh daemon on a fresh simulator,
    /// and prints a pass/fail report.
    #[cfg_attr(not(feature = "simulator"), command(hide = true))]
    Scenario {
        /// Scenario files (e.g. simulator/scenarios/*.toml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Runs an approved and a declined Klarna sale on the simulator and writes the
    /// frames, receipts and summary.json into DIR.
    #[cfg_attr(not(feature = "simulator"), command(hide = true))]
    Demo {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

const PROFILES: [(&str, &str); 5] = [
    ("counter-pc.toml", include_str!("../firmware-config/counter-pc.toml")),
    ("framebuffer-1024x600.toml", include_str!("../firmware-config/framebuffer-1024x600.toml")),
    ("generic-800x480.toml", include_str!("../firmware-config/generic-800x480.toml")),
    ("compact-480x272.toml", include_str!("../firmware-config/compact-480x272.toml")),
    ("simulator.toml", include_str!("../firmware-config/simulator.toml")),
];

fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, reload};
    let asked = std::env::var("POSAGENT_LOG").ok();
    let initial = match &asked {
        Some(f) if posagent::logging::validate_filter(f).is_ok() => posagent::logging::normalized(f),
        _ => "info".to_string(),
    };
    let filter: Targets = initial.parse().unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    use std::io::IsTerminal;
    let to_journal = std::env::var_os("JOURNAL_STREAM").is_some() && !std::io::stderr().is_terminal();
    let journald = match format {
        LogFormat::Journald => true,
        LogFormat::Text => to_journal,
        LogFormat::Json => false,
    };
    if journald {
        // journald stamps each line itself: no time, no colour, the priority first.
        let text = fmt::format().without_time().with_ansi(false);
        let layer = fmt::layer().with_ansi(false).event_format(posagent::logging::SyslogPrefixed(text));
        registry.with(layer.with_writer(std::io::stderr)).init();
    } else if matches!(format, LogFormat::Json) {
        registry.with(fmt::layer().json().with_writer(std::io::stderr)).init();
    } else {
        let layer = fmt::layer().with_ansi(std::io::stderr().is_terminal());
        registry.with(layer.with_writer(std::io::stderr)).init();
    }

    posagent::logging::install(&initial, move |directive| {
        let f: Targets = directive.parse().map_err(|e: tracing_subscriber::filter::ParseError| e.to_string())?;
        handle.reload(f).map_err(|e| e.to_string())
    });
    if let Some(refused) = asked.filter(|f| posagent::logging::validate_filter(f).is_err()) {
        tracing::warn!(
            filter = %refused,
            "POSAGENT_LOG is not a log filter (a level, or target=level, comma separated); logging at info"
        );
    }
}

fn init(dir: &Path, force: bool) -> anyhow::Result<()> {
    let config = dir.join("posagent.toml");
    if config.exists() && !force {
        bail!("{} exists; pass --force to overwrite it", config.display());
    }
    std::fs::create_dir_all(dir.join("firmware-config")).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&config, DEFAULT_CONFIG).with_context(|| format!("cannot write {}", config.display()))?;
    for (name, text) in PROFILES {
        let p = dir.join("firmware-config").join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let loaded = StoreConfig::load(&config)?;
    posagent::daemon::create_private_dir(&loaded.data_dir)?;
    let token = loaded.data_dir.join(&loaded.ecr.token_file);
    posagent::ecr::ensure_token_file(&token).with_context(|| format!("cannot create {}", token.display()))?;
    println!("wrote {}", config.display());
    println!("created {} and the ECR token {} (mode 0600)", loaded.data_dir.display(), token.display());
    println!(
        "next: put the acquirer API key in {} (mode 0600), set acquirer.url, then `posagent run --config {}`",
        loaded.acquirer.credentials_file.display(),
        config.display()
    );
    Ok(())
}

/// `posagent scenario FILE…`: each file on a fresh daemon and simulator; fails when one did.
#[cfg(feature = "simulator")]
async fn scenario(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failed = 0;
    for f in files {
        let report = posagent::scenarios::run_isolated(f).await?;
        print!("{}", report.render());
        failed += usize::from(!report.passed());
    }
    println!("{} of {} scenarios passed", files.len() - failed, files.len());
    if failed > 0 {
        bail!("{failed} scenario(s) failed");
    }
    Ok(())
}

/// `posagent scenario` in a build without the simulator.
#[cfg(not(feature = "simulator"))]
async fn scenario(_files: &[PathBuf]) -> anyhow::Result<()> {
    Err(NoSimulator("scenario").into())
}

/// `posagent demo --out DIR`: an approved and a declined Klarna sale on the simulator.
#[cfg(feature = "simulator")]
async fn demo(out: &Path) -> anyhow::Result<()> {
    println!("posagent demo: two Klarna sales on the simulator");
    let summary = posagent::demo::run(out).await?;
    println!("frames, receipts and summary.json are in {}", out.display());
    if !summary.ok {
        bail!("a sale did not end as expected; see {}", out.join("summary.json").display());
    }
    println!("all sales ended as expected");
    Ok(())
}

/// `posagent demo` in a build without the simulator.
#[cfg(not(feature = "simulator"))]
async fn demo(_out: &Path) -> anyhow::Result<()> {
    Err(NoSimulator("demo").into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Run { config, simulator, data_dir, listen, line_display } => {
            // A fatal error of the daemon is a log line in the chosen format (JSON,
            // journald), not plain text beside it.
            if let Err(e) = cli::run::run(config, simulator, line_display, data_dir, listen).await {
                tracing::error!(error = %format!("{e:#}"), "posagent cannot run");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Init { dir, force } => init(&dir, force),
        Command::Devices { models: true, .. } => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for m in posagent_drivers::printer::known_models() {
                if let Some(c) = posagent_drivers::printer::lookup_model(m) {
                    let cols = c.columns.map_or("?".to_string(), |n| n.to_string());
                    let dots = c.width_dots.map_or("?".to_string(), |n| n.to_string());
                    let qr = if c.native_qr { "QR" } else { "no QR" };
                    // A closed pipe (`| head`) ends the listing quietly.
                    if writeln!(out, "{m:<24} {:<12} {cols:>3} columns {dots:>4} dots  {qr}", c.vendor).is_err() {
                        break;
                    }
                }
            }
            Ok(())
        }
        Command::Devices { profile, firmware, .. } => {
            let profile = profile.as_deref().map(DeviceProfile::load).transpose()?;
            let known: Vec<DeviceProfile> =
                PROFILES.iter().filter_map(|(name, text)| DeviceProfile::parse(text, Path::new(name)).ok()).collect();
            let found = posagent::discovery::report_with(profile.as_ref(), &known);
            print!("{}", found.text);
            if let (true, Some(p)) = (firmware, profile) {
                let report = tokio::task::spawn_blocking(move || posagent::discovery::firmware_report(&p)).await?;
                print!("{report}");
            }
            if found.missing > 0 {
                bail!("{} of the profile's devices are missing: check the cables and the udev rules", found.missing);
            }
            Ok(())
        }
        Command::Config { action: ConfigAction::Check { config } } => {
            print_checks(&posagent::doctor::check_config(&config))
        }
        Command::Doctor { config } => print_checks(&posagent::doctor::run(&config).await),
        Command::Sale { action, id, amount, config, data_dir } => {
            cli::remote::sale(action, &id, amount, config.as_deref(), &data_dir).await
        }
        Command::Sales { since, before, state, method, limit, json, config, data_dir } => {
            let q = posagent_ecr_api::SaleQuery { since, before, state, method, limit: Some(limit) };
            cli::remote::sales(&q, json, config.as_deref(), &data_dir).await
        }
        Command::Report { kind, config, data_dir, date, print } => {
            cli::remote::report(kind, config.as_deref(), &data_dir, date, print).await
        }
        Command::Queue { action, config, data_dir } => cli::queue::queue(action, config.as_deref(), &data_dir).await,
        Command::Cashier { action, config, data_dir } => {
            cli::cashier::cashier(action, config.as_deref(), &data_dir).await
        }
        Command::Fleet { action } => cli::fleet::fleet(action).await,
        Command::UdevRules { dir } => {
            let profiles = match dir {
                Some(dir) => DeviceProfile::load_dir(&dir)?,
                None => PROFILES
                    .iter()
                    .map(|(name, text)| DeviceProfile::parse(text, Path::new(name)))
                    .collect::<Result<_, _>>()?,
            };
            print!("{}", posagent::config::udev::udev_rules(&profiles)?);
            Ok(())
        }
        Command::Scenario { files } => scenario(&files).await,
        Command::Demo { out } => demo(&out).await,
    }
}

/// Prints one line per check; fails when one did.
fn print_checks(checks: &[posagent::doctor::Check]) -> anyhow::Result<()> {
    for c in checks {
        println!("{c}");
    }
    if checks.iter().any(|c| c.level == posagent::doctor::Level::Fail) {
        bail!("some checks failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `posagent help` and `posagent help run`.
    fn help() -> (String, String) {
        let mut cli = Cli::command();
        let top = cli.render_long_help().to_string();
        let run = cli.find_subcommand_mut("run").map(|c| c.render_long_help().to_string()).unwrap_or_default();
        (top, run)
    }

    #[cfg(feature = "simulator")]
    #[test]
    fn the_development_build_offers_the_simulator() {
        let (top, run_help) = help();
        assert!(top.contains("demo") && top.contains("scenario"), "{top}");
        assert!(run_help.contains("--simulator") && run_help.contains("--line-display"), "{run_help}");
    }

    /// The terminal build (`--no-default-features`): no simulator in the help; asked for
    /// one anyway, it says this build has none.
    #[cfg(not(feature = "simulator"))]
    #[tokio::test]
    async fn the_terminal_build_has_no_simulator_and_says_so() {
        let (top, run_help) = help();
        assert!(!top.contains("demo") && !top.contains("scenario"), "{top}");
        assert!(!run_help.contains("--simulator") && !run_help.contains("--line-display"), "{run_help}");
        assert!(Cli::try_parse_from(["posagent", "run", "--simulator"]).is_ok());
        let dir = std::env::temp_dir().join(format!("posagent-nosim-{}", std::process::id()));
        let errors =
            [run(None, true, false, dir.clone(), None).await, demo(&dir).await, scenario(&[dir.join("x.toml")]).await];
        for e in errors {
            let text = e.err().map(|e| format!("{e:#}")).unwrap_or_default();
            assert!(text.starts_with("this build has no simulator"), "{text}");
        }
        assert!(!dir.exists(), "nothing written for a simulator this build lacks");
    }
}
