//! `posagent-sim`: runs the simulated acquirer alone (`posagent-sim backend --listen ADDR`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "posagent-sim", about = "posagent's simulated acquirer and devices", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs scenario files against a running `posagent run --simulator`.
    Scenario {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The data directory of the running daemon (holds simulator.json).
        #[arg(long, default_value = "posagent-data")]
        data_dir: std::path::PathBuf,
    },
    /// Runs the whole simulator alone — acquirer, display, printer, card reader — and
    /// prints its endpoints as one line of JSON (for a daemon in another process).
    All {
        /// File holding the terminal API key the backend accepts.
        #[arg(long)]
        api_key_file: std::path::PathBuf,
    },
    /// Runs the simulated acquirer backend (Terminal API) on ADDR.
    Backend {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// File holding the terminal API key the backend accepts.
        #[arg(long)]
        api_key_file: std::path::PathBuf,
        /// Lifetime of payment requests in minutes (15 to 2880).
        #[arg(long, default_value_t = 15)]
        request_ttl_minutes: i64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    match Cli::parse().command {
        Command::Scenario { files, data_dir } => {
            let info_path = data_dir.join("simulator.json");
            let info: serde_json::Value = serde_json::from_slice(&std::fs::read(&info_path).with_context(|| {
                format!("cannot read {}; is `posagent run --simulator` running?", info_path.display())
            })?)?;
            let read = |key: &str| -> anyhow::Result<String> {
                let path = info[key].as_str().with_context(|| format!("{} lacks {key}", info_path.display()))?;
                Ok(std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?.trim().to_string())
            };
            let endpoints = posagent_sim::scenario::Endpoints {
                ecr_url: info["ecr_url"].as_str().unwrap_or_default().to_string(),
                ecr_token: read("ecr_token_file")?,
                sim_url: info["sim_url"].as_str().unwrap_or_default().to_string(),
                acquirer_key: read("acquirer_key_file")?,
            };
            let mut failed = 0;
            for f in &files {
                let report = posagent_sim::scenario::run(&posagent_sim::scenario::load(f)?, &endpoints).await;
                print!("{}", report.render());
                failed += usize::from(!report.passed());
            }
            println!("{} of {} scenarios passed", files.len() - failed, files.len());
            anyhow::ensure!(failed == 0, "{failed} scenario(s) failed");
        }
        Command::All { api_key_file } => {
            let key = std::fs::read_to_string(&api_key_file)
                .with_context(|| format!("cannot read the API key file {}", api_key_file.display()))?
                .trim()
                .to_string();
            anyhow::ensure!(!key.is_empty(), "the API key file {} is empty", api_key_file.display());
            let cancel = CancellationToken::new();
            let sim = posagent_sim::SimEnvironment::start(posagent_sim::SimConfig::new(key, None), cancel.clone())
                .await
                .context("cannot start the simulator")?;
            let endpoints = serde_json::json!({
                "backend_url": sim.backend_url,
                "display": format!("tcp:{}", sim.display_addr),
                "printer": format!("tcp:{}", sim.printer_addr),
                "card_reader": sim.card_reader.as_ref().map(|r| format!("serial:{}@115200", r.path)),
            });
            println!("{endpoints}");
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
        }
        Command::Backend { listen, api_key_file, request_ttl_minutes } => {
            let key = std::fs::read_to_string(&api_key_file)
                .with_context(|| format!("cannot read the API key file {}", api_key_file.display()))?
                .trim()
                .to_string();
            anyhow::ensure!(!key.is_empty(), "the API key file {} is empty", api_key_file.display());
            let listener =
                tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
            let url = format!("http://{}", listener.local_addr()?);
            let cancel = CancellationToken::new();
            let backend = posagent_sim::backend::SimBackend::new(
                key,
                url.clone(),
                chrono::Duration::minutes(request_ttl_minutes),
                cancel.clone(),
            );
            println!("simulated acquirer on {url}");
            let c = cancel.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                c.cancel();
            });
            posagent_sim::backend::serve(listener, posagent_sim::backend::router(backend), cancel).await?;
        }
    }
    Ok(())
}
