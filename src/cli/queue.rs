//! `posagent queue`: the operations waiting for the acquirer, for store IT — list,
//! retry a dead letter, export, sync now with progress.

use anyhow::bail;
use posagent_ecr_api::{EcrClient, QueueQuery};
use std::path::Path;
use std::time::{Duration, Instant};

/// A queued operation's state, to list only those.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum QueueState {
    /// Waiting for the acquirer.
    Pending,
    /// Done, not yet pruned.
    Done,
    /// Refused by the acquirer for good.
    Dead,
}

/// What `posagent queue` does.
#[derive(clap::Subcommand)]
pub enum QueueAction {
    /// Lists queued operations, newest first (all, or of one state).
    List {
        /// Only this state.
        #[arg(long, value_enum)]
        state: Option<QueueState>,
    },
    /// Sends a dead letter (an operation the acquirer refused) once more, same key.
    Retry {
        /// Queue id (from `posagent queue list`).
        id: i64,
    },
    /// Writes every queued operation as JSON (no card data) to stdout.
    Export,
    /// Sends everything waiting now and shows progress until the queue is empty.
    Sync {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

/// `posagent queue …` against the running daemon.
pub async fn queue(action: QueueAction, config: Option<&Path>, data_dir: &Path) -> anyhow::Result<()> {
    let ecr = super::remote::client(config, data_dir)?;
    match action {
        QueueAction::List { state } => list(&ecr, state).await,
        QueueAction::Retry { id } => {
            let op = ecr.retry_dead_letter(id).await?;
            println!("queued operation {id} is waiting again ({})", op.kind.as_str());
            Ok(())
        }
        QueueAction::Export => {
            let q = QueueQuery { state: None, limit: Some(10_000) };
            println!("{}", serde_json::to_string_pretty(&ecr.queue(&q).await?.operations)?);
            Ok(())
        }
        QueueAction::Sync { timeout } => sync(&ecr, Duration::from_secs(timeout)).await,
    }
}

/// One line per operation, newest first.
async fn list(ecr: &EcrClient, state: Option<QueueState>) -> anyhow::Result<()> {
    let state = state.map(|s| {
        match s {
            QueueState::Pending => "PENDING",
            QueueState::Done => "DONE",
            QueueState::Dead => "DEAD",
        }
        .to_string()
    });
    let ops = ecr.queue(&QueueQuery { state, limit: None }).await?.operations;
    println!(
        "{:>6}  {:<9} {:<7} {:>10} {:<4} {:>4}  {:<36}  last error",
        "id", "kind", "state", "amount", "cur", "try", "subject"
    );
    for op in &ops {
        println!(
            "{:>6}  {:<9} {:<7} {:>10} {:<4} {:>4}  {:<36}  {}",
            op.id,
            op.kind.as_str(),
            op.state.as_str(),
            op.amount,
            op.currency,
            op.attempts,
            op.subject_id,
            op.last_error.as_deref().unwrap_or("")
        );
    }
    println!("{} operation(s)", ops.len());
    Ok(())
}

/// Makes everything due and shows progress until nothing waits, or `timeout` passed.
async fn sync(ecr: &EcrClient, timeout: Duration) -> anyhow::Result<()> {
    let total = ecr.sync_queue().await?.summary.pending.max(1);
    let deadline = Instant::now() + timeout;
    loop {
        let state = ecr.queue_summary().await?;
        let pending = state.summary.pending;
        let done = (total - pending).clamp(0, total);
        let filled = usize::try_from(done * 30 / total).unwrap_or(0);
        eprint!("\r[{}{}] {done}/{total} sent, {pending} waiting ", "#".repeat(filled), ".".repeat(30 - filled));
        if pending == 0 {
            eprintln!();
            let dead = state.summary.dead;
            println!("queue drained; {dead} dead letter(s) (see `posagent queue list --state dead`)");
            return Ok(());
        }
        if Instant::now() > deadline {
            eprintln!();
            bail!(
                "{pending} operation(s) still waiting after {} s; the acquirer is {}",
                timeout.as_secs(),
                if state.acquirer_online {
                    "answering — see `posagent queue list --state pending` for errors"
                } else {
                    "unreachable — check the network"
                }
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
