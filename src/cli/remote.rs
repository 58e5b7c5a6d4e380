//! Reaching the running daemon (its config, or the simulator's `simulator.json`), and
//! the `sale`, `sales` and `report` subcommands.

use anyhow::Context;
use posagent::config::StoreConfig;
use posagent_ecr_api::{EcrClient, EcrError, SaleHistory, SaleList, SaleQuery};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A post-purchase operation of `posagent sale`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SaleAction {
    /// The sale and its journaled history.
    Show,
    /// Print the receipt again (marked COPY).
    Reprint,
    /// Capture (the rest of) a `capture: LATER` sale.
    Capture,
    /// Release what is left of the authorization.
    Void,
}

/// An end-of-day report of `posagent report`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ReportKind {
    /// Mid-day totals.
    X,
    /// Closes the day.
    Z,
    /// Against the acquirer's settlement report.
    Reconcile,
}

/// What `run --simulator` writes for the commands that reach it (`simulator.json`).
#[derive(serde::Deserialize)]
struct SimulatorInfo {
    ecr_url: String,
    ecr_token_file: PathBuf,
}

/// A client of the running daemon: from its config (over HTTPS trusting the API's own
/// certificate), or from the simulator's `simulator.json` in `data_dir`.
pub fn client(config: Option<&Path>, data_dir: &Path) -> anyhow::Result<EcrClient> {
    let (url, token_file, http) = match config {
        Some(path) => {
            let c = StoreConfig::load(path)?;
            (
                c.ecr.local_url(c.ecr.listen.port()),
                c.data_dir.join(&c.ecr.token_file),
                posagent::ecr::local_client(&c.ecr)?,
            )
        }
        None => {
            let info_path = data_dir.join("simulator.json");
            let text = std::fs::read(&info_path)
                .with_context(|| format!("cannot read {}; pass --config for a real terminal", info_path.display()))?;
            let info: SimulatorInfo =
                serde_json::from_slice(&text).with_context(|| format!("{} is not posagent's", info_path.display()))?;
            let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
            (info.ecr_url, info.ecr_token_file, http)
        }
    };
    let token =
        posagent::ecr::read_token(&token_file).with_context(|| format!("cannot read {}", token_file.display()))?;
    Ok(EcrClient::new(http, url, token))
}

/// Prints an answer as pretty JSON.
fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints the answer, or the refusal's envelope (on stdout, as the answer would be) and
/// fails with it.
fn print_answer<T: Serialize>(answer: Result<T, EcrError>) -> anyhow::Result<T> {
    match answer {
        Ok(v) => {
            print_json(&v)?;
            Ok(v)
        }
        Err(e) => {
            if let EcrError::Refused { body, .. } = &e {
                print_json(body)?;
            }
            Err(e.into())
        }
    }
}

/// `posagent report x|z|reconcile`.
pub async fn report(
    kind: ReportKind,
    config: Option<&Path>,
    data_dir: &Path,
    date: Option<String>,
    print: bool,
) -> anyhow::Result<()> {
    let ecr = client(config, data_dir)?;
    match kind {
        ReportKind::X => print_answer(ecr.report_x(print).await).map(drop),
        ReportKind::Z => print_answer(ecr.report_z().await).map(drop),
        ReportKind::Reconcile => {
            let r = print_answer(ecr.reconciliation(date).await)?;
            let n = r.differences.len();
            anyhow::ensure!(n == 0, "{n} difference(s) between the terminal and the acquirer");
            Ok(())
        }
    }
}

/// `posagent sale show|reprint|capture|void ID`.
pub async fn sale(
    action: SaleAction,
    id: &str,
    amount: Option<i64>,
    config: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let ecr = client(config, data_dir)?;
    // One key per command run: a retry of this very command by the shell is a new request.
    let key = uuid::Uuid::new_v4().to_string();
    match action {
        SaleAction::Show => {
            print!("{}", render_history(&ecr.sale_history(id).await?));
            Ok(())
        }
        SaleAction::Reprint => print_answer(ecr.reprint(id).await).map(drop),
        SaleAction::Capture => print_answer(ecr.capture(id, amount, &key).await.map(|(s, _)| s)).map(drop),
        SaleAction::Void => print_answer(ecr.void(id, &key).await.map(|(s, _)| s)).map(drop),
    }
}

/// `posagent sales`: the sales `q` selects, as a table or the API's JSON.
pub async fn sales(q: &SaleQuery, json: bool, config: Option<&Path>, data_dir: &Path) -> anyhow::Result<()> {
    let ecr = client(config, data_dir)?;
    if json {
        return print_answer(ecr.sales(q).await).map(drop);
    }
    print!("{}", render_sales(&ecr.sales(q).await?));
    Ok(())
}

/// `posagent sales`: one line per sale, newest first, then how many.
pub fn render_sales(list: &SaleList) -> String {
    let mut out =
        format!("{:<32} {:<24} {:<22} {:<7} {:>12} {:<4}\n", "CREATED", "REFERENCE", "STATE", "METHOD", "AMOUNT", "");
    for s in &list.sales {
        out.push_str(&format!(
            "{:<32} {:<24} {:<22} {:<7} {:>12} {:<4}\n",
            text(&s.created_at),
            s.reference,
            s.state,
            text(&s.method),
            s.amount,
            text(&s.currency),
        ));
    }
    out.push_str(&format!("{} sale(s)\n", list.sales.len()));
    out
}

/// A value as the API writes it (`-` for none): `COMPLETED`, `5000`, `true`.
fn text(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) | Err(_) => "-".into(),
        Ok(other) => other.to_string(),
    }
}

/// `posagent sale show`: the sale's key fields, then one line per journaled change.
pub fn render_history(h: &SaleHistory) -> String {
    let sale = &h.sale;
    let mut out = format!(
        "sale {} ({})\n  state {}  {} {} {}  reason {}\n",
        sale.reference,
        sale.id,
        sale.state,
        sale.amount,
        text(&sale.currency),
        text(&sale.method),
        text(&sale.reason),
    );
    out.push_str(&format!(
        "  transaction {} ({})  captured {}  refunded {}  offline {}  reversal {}\n",
        text(&sale.payment_transaction_id),
        text(&sale.transaction_state),
        sale.captured_amount,
        sale.refunded_amount,
        text(&sale.offline),
        text(&sale.reversal),
    ));
    out.push_str(&format!(
        "  receipt printed {}  receipt error {}  sync error {}\nhistory\n",
        sale.receipt_printed,
        text(&sale.receipt_error),
        text(&sale.sync_error),
    ));
    for e in &h.history {
        out.push_str(&format!("  {}  {:<22} {}\n", text(&e.at), e.state, text(&e.detail)));
    }
    out
}
