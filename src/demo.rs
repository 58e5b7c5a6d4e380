//! `posagent demo --out DIR`: on the simulator and without interaction, one Klarna sale
//! that the customer approves and one the customer declines, driven through the real
//! ECR API; writes the display frames, the receipts and `summary.json` into DIR.

use crate::daemon::start_simulated;
use crate::domain::{SaleState, SaleView};
use posagent_sim::customer::CustomerAction;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one demo step may take before the demo fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One demo sale's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSale {
    /// Sale reference.
    pub reference: String,
    /// Tender.
    pub method: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Final state.
    pub final_state: SaleState,
    /// Expected final state.
    pub expected_state: SaleState,
    /// Klarna reference (approved sales).
    pub klarna_reference: Option<String>,
    /// URL the simulated customer read from the QR code on the display.
    pub scanned_url: Option<String>,
    /// Whether the receipt was printed.
    pub receipt_printed: bool,
}

/// What the demo produced.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The sales.
    pub sales: Vec<DemoSale>,
    /// Whether every sale ended as expected.
    pub ok: bool,
}

/// A demo failure.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The daemon did not start.
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
    /// The ECR API failed.
    #[error("ECR API call failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A step took too long or went wrong.
    #[error("{0}")]
    Step(String),
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// File.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

struct Ecr {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Ecr {
    async fn create(&self, body: serde_json::Value) -> Result<SaleView, DemoError> {
        let r = self.http.post(format!("{}/v1/sales", self.url)).bearer_auth(&self.token).json(&body).send().await?;
        if !r.status().is_success() {
            return Err(DemoError::Step(format!(
                "create sale answered {}: {}",
                r.status(),
                r.text().await.unwrap_or_default()
            )));
        }
        Ok(r.json().await?)
    }

    async fn wait(&self, id: &str, what: &str, done: impl Fn(&SaleView) -> bool) -> Result<SaleView, DemoError> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let v: SaleView = self
                .http
                .get(format!("{}/v1/sales/{id}", self.url))
                .bearer_auth(&self.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            if done(&v) {
                return Ok(v);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(DemoError::Step(format!("sale {} did not reach {what}; it is {:?}", v.reference, v.state)));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Runs the demo into `out`.
pub async fn run(out: &Path) -> Result<DemoSummary, DemoError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DemoError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(write_err(out))?;
    let shutdown = CancellationToken::new();
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let running = start_simulated(&out.join("state"), out, listen, None, false, shutdown.clone()).await?;
    let ecr = Ecr {
        http: reqwest::Client::new(),
        url: running.daemon.ecr_url.clone(),
        token: running.daemon.ecr_token.clone(),
    };
    let mut sales = vec![];
    for (amount, action, expected) in
        [(123_450, CustomerAction::Approve, SaleState::Approved), (4_990, CustomerAction::Decline, SaleState::Declined)]
    {
        let lines = serde_json::json!([
            {"name": "Kaffe", "reference": "SKU-1", "quantity": 2, "unit_price": 2_500, "total_amount": 5_000, "tax_rate": 1200, "total_tax_amount": 536},
            {"name": "Regnjacka", "reference": "SKU-2", "quantity": 1, "unit_price": amount - 5_000, "total_amount": amount - 5_000, "tax_rate": 2500, "total_tax_amount": (amount - 5_000) / 5}
        ]);
        let lines = if amount > 5_000 { lines } else { serde_json::json!([]) };
        let created =
            ecr.create(serde_json::json!({"amount": amount, "currency": "SEK", "order_lines": lines})).await?;
        ecr.wait(&created.id, "QR_SHOWN", |v| v.state == SaleState::QrShown || v.state.is_final()).await?;
        let scanned =
            running.sim.customer(action).await.map_err(|e| DemoError::Step(format!("simulated customer: {e}")))?;
        let end = ecr
            .wait(&created.id, "its final state", |v| {
                v.state.is_final() && (v.state != SaleState::Approved || v.receipt_printed || v.receipt_error.is_some())
            })
            .await?;
        println!("  {}  {:>9} {}  {:?}", end.reference, end.amount, end.currency, end.state);
        sales.push(DemoSale {
            reference: end.reference,
            method: "KLARNA".into(),
            amount: end.amount,
            currency: end.currency.code().to_string(),
            final_state: end.state,
            expected_state: expected,
            klarna_reference: end.klarna_reference,
            scanned_url: Some(scanned),
            receipt_printed: end.receipt_printed,
        });
        // Let the result screen be drawn before the next sale.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ok = sales
        .iter()
        .all(|s| s.final_state == s.expected_state && (s.final_state != SaleState::Approved || s.receipt_printed));
    let summary = DemoSummary { sales, ok };
    let path = out.join("summary.json");
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| DemoError::Step(e.to_string()))?;
    std::fs::write(&path, json).map_err(write_err(&path))?;
    running.daemon.hurry_handle().cancel();
    running.daemon.stop().await;
    Ok(summary)
}
