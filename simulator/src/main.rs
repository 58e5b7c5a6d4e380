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
