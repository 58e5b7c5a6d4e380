//! Scenario files: a checkout flow written as steps and expected outcomes (TOML), run
//! against a running posagent and its simulator over their real HTTP interfaces, with a
//! pass/fail report per step.
//!
//! ```toml
//! name = "Klarna sale, customer approves"
//! [[steps]]
//! action = "create_sale"
//! amount = 123450
//! currency = "SEK"
//! [[steps]]
//! action = "wait_state"
//! state = "QR_SHOWN"
//! [[steps]]
//! action = "customer"
//! do = "approve"
//! [[steps]]
//! action = "expect_sale"
//! state = "APPROVED"
//! receipt_printed = true
//! ```

use posagent_ecr_api::{EcrClient, EcrError, KlarnaQuery, NewSale, Sale};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name in the report.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Step {
    /// `POST /v1/sales` with these fields; the sale becomes the current one.
    CreateSale {
        /// Minor units.
        amount: i64,
        /// ISO 4217.
        currency: String,
        /// Register reference.
        #[serde(default)]
        reference: Option<String>,
        /// Order lines, as the ECR API takes them.
        #[serde(default)]
        order_lines: Vec<toml::Value>,
        /// Interoperability token.
        #[serde(default)]
        interoperability_token: Option<String>,
        /// `KLARNA` (default) or `CARD`.
        #[serde(default)]
        method: Option<String>,
        /// Expected HTTP status (201 by default).
        #[serde(default)]
        expect_status: Option<u16>,
        /// Expected error code when refused.
        #[serde(default)]
        expect_code: Option<String>,
    },
    /// Waits until the current sale is in `state`.
    WaitState {
        /// e.g. `QR_SHOWN`.
        state: String,
        /// Give up after this long (default 10 s).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// The simulated customer scans the display and acts: `approve`, `decline`, `scan`.
    Customer {
        /// What the customer does.
        #[serde(rename = "do")]
        action: String,
    },
    /// The customer presents a test card (`approve`, `decline`, `insufficient_funds`,
    /// `expired`, `pin_required`) by `tap`, `insert` or `swipe`, once the reader waits.
    PresentCard {
        /// Which test card.
        card: String,
        /// How (default `tap`).
        #[serde(default)]
        presentation: Option<String>,
    },
    /// The cashier cancels the current sale.
    CancelSale {},
    /// The current sale's fields equal these (state, reason, receipt_printed, …).
    ExpectSale {
        /// Final or current state.
        state: String,
        /// Expected reason.
        #[serde(default)]
        reason: Option<String>,
        /// Expected receipt flag.
        #[serde(default)]
        receipt_printed: Option<bool>,
    },
    /// Sets the acquirer's faults: `faults = { error_5xx_rate = 1.0 }` (fields of `/sim/faults`).
    SetFaults {
        /// The fault settings.
        faults: toml::Table,
    },
    /// The acquirer's ledger holds this many entries of each kind.
    ExpectLedger {
        /// Authorizations.
        #[serde(default)]
        authorizations: Option<usize>,
        /// Captures.
        #[serde(default)]
        captures: Option<usize>,
    },
    /// The register asks whether to offer Klarna for an amount.
    ExpectKlarnaOffered {
        /// Minor units.
        amount: i64,
        /// Expected answer.
        available: bool,
        /// Expected reason when not.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Waits a little.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// The simulated card reader plays a fault; its fields are inline, as
    /// `POST /sim/card-reader/fault` takes them: `kind = "stray_read"`, `card = "approve"`
    /// (see [`crate::devices::card_reader::ReaderFault`]).
    CardReaderFault(crate::devices::card_reader::ReaderFault),
    /// Unplugs (`plugged = false`) or plugs in the card reader's cable.
    CardReaderPlug {
        /// Plugged in or not.
        plugged: bool,
    },
    /// Waits until the card reader is in `state` (`idle`, `waiting`, `read`, `pin`,
    /// `out_of_service`).
    WaitCardReader {
        /// The reader state.
        state: String,
        /// Give up after this long (default 10 s).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
}

/// Where the daemon and the simulator are.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// ECR API base URL.
    pub ecr_url: String,
    /// ECR bearer token.
    pub ecr_token: String,
    /// Simulator (acquirer + control) base URL.
    pub sim_url: String,
    /// The terminal's API key at the simulated acquirer (for the ledger).
    pub acquirer_key: String,
}

/// The outcome of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Step number (1-based).
    pub number: usize,
    /// What the step was.
    pub label: String,
    /// `None` if it passed, else why not.
    pub failure: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// The outcome of a scenario.
#[derive(Debug, Clone)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Per step, up to the first failure.
    pub steps: Vec<StepReport>,
}

impl Report {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.failure.is_none())
    }

    /// A human-readable report.
    pub fn render(&self) -> String {
        let mut out = format!("{} {}\n", if self.passed() { "PASS" } else { "FAIL" }, self.name);
        for s in &self.steps {
            match &s.failure {
                None => out.push_str(&format!("  ok   {:>2} {} ({} ms)\n", s.number, s.label, s.elapsed.as_millis())),
                Some(f) => out.push_str(&format!("  FAIL {:>2} {}: {f}\n", s.number, s.label)),
            }
        }
        out
    }
}

/// A scenario file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("scenario {path}: {message}")]
pub struct ScenarioError {
    /// File.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Reads a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let err = |message: String| ScenarioError { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    toml::from_str(&text).map_err(|e| err(e.to_string()))
}

struct Runner<'a> {
    ep: &'a Endpoints,
    /// The daemon's ECR API, typed.
    ecr: EcrClient,
    /// The simulator's control API.
    http: reqwest::Client,
    sale: Option<Sale>,
}

fn fail<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

/// A value as JSON text (`"DECLINED"`, `null`, `true`), for failure messages.
fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Polls `check` every 20 ms until it gives `Ok(true)` or `timeout` passed; then the
/// failure `check` describes (`Ok(false)` makes no message: `why` does).
async fn poll<F, Fut>(timeout: Duration, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let why = match check().await? {
            None => return Ok(()),
            Some(why) => why,
        };
        if Instant::now() > deadline {
            return fail(why);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Runner<'_> {
    fn sale_id(&self) -> Result<String, String> {
        self.sale.as_ref().map(|s| s.id.clone()).ok_or_else(|| "no current sale".to_string())
    }

    async fn current(&self) -> Result<Sale, String> {
        self.ecr.sale(&self.sale_id()?).await.map_err(|e| format!("reading the sale: {e}"))
    }

    async fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::CreateSale { .. } => self.create_sale(step).await,
            Step::WaitState { state, timeout_ms } => {
                let timeout = Duration::from_millis(timeout_ms.unwrap_or(10_000));
                poll(timeout, || async {
                    let v = self.current().await?;
                    Ok((v.state.as_str() != state)
                        .then(|| format!("still {} ({})", json_text(&v.state), json_text(&v.reason))))
                })
                .await
            }
            Step::Customer { action } => {
                let r = self.sim_post_raw("/sim/customer", &json!({ "action": action })).await?;
                match r {
                    (true, _) => Ok(()),
                    (false, text) => fail(format!("the customer could not {action}: {text}")),
                }
            }
            Step::PresentCard { card, presentation } => {
                let body = json!({"card": card, "presentation": presentation.as_deref().unwrap_or("tap")});
                poll(Duration::from_secs(5), || async {
                    let (ok, text) = self.sim_post_raw("/sim/card", &body).await?;
                    Ok((!ok).then(|| format!("the card reader did not take the card: {text}")))
                })
                .await
            }
            Step::CancelSale {} => {
                self.ecr.cancel_sale(&self.sale_id()?).await.map_err(|e| format!("cancel: {e}"))?;
                Ok(())
            }
            Step::ExpectSale { state, reason, receipt_printed } => {
                // Settling (e.g. printing) may take a moment: give it up to 5 s.
                poll(Duration::from_secs(5), || async {
                    let v = self.current().await?;
                    let ok = v.state.as_str() == state
                        && reason.as_ref().is_none_or(|r| v.reason.as_deref() == Some(r.as_str()))
                        && receipt_printed.is_none_or(|p| v.receipt_printed == p);
                    Ok((!ok).then(|| {
                        format!(
                            "sale is {} (reason {}, receipt_printed {})",
                            json_text(&v.state),
                            json_text(&v.reason),
                            v.receipt_printed
                        )
                    }))
                })
                .await
            }
            Step::SetFaults { faults } => {
                let (ok, text) =
                    self.sim_post_raw("/sim/faults", &serde_json::to_value(faults).map_err(|e| e.to_string())?).await?;
                if !ok {
                    return fail(format!("faults refused: {text}"));
                }
                Ok(())
            }
            Step::ExpectLedger { authorizations, captures } => self.expect_ledger(*authorizations, *captures).await,
            Step::ExpectKlarnaOffered { amount, available, reason } => {
                let q = KlarnaQuery { amount: *amount, ..KlarnaQuery::default() };
                let v = self.ecr.klarna(&q).await.map_err(|e| format!("answer {e}"))?;
                if v.available != *available || reason.as_ref().is_some_and(|r| v.reason.as_deref() != Some(r.as_str()))
                {
                    return fail(format!("answer 200: {}", json_text(&v)));
                }
                Ok(())
            }
            Step::Sleep { ms } => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(())
            }
            Step::CardReaderFault(_) | Step::CardReaderPlug { .. } | Step::WaitCardReader { .. } => {
                self.card_reader_step(step).await
            }
        }
    }

    /// `POST /v1/sales` with the step's fields; the answer (or refusal) as expected.
    async fn create_sale(&mut self, step: &Step) -> Result<(), String> {
        let Step::CreateSale {
            amount,
            currency,
            reference,
            order_lines,
            interoperability_token,
            method,
            expect_status,
            expect_code,
        } = step
        else {
            return Ok(());
        };
        let lines = serde_json::to_value(order_lines).and_then(serde_json::from_value).map_err(|e| e.to_string())?;
        let sale = NewSale {
            amount: *amount,
            currency: currency.clone(),
            method: method.clone(),
            reference: reference.clone(),
            order_lines: lines,
            interoperability_token: interoperability_token.clone(),
            ..NewSale::default()
        };
        let want = expect_status.unwrap_or(201);
        match self.ecr.create_sale(&sale).await {
            Ok((v, new)) => {
                let status = if new { 201 } else { 200 };
                if status != want {
                    return fail(format!("expected HTTP {want}, got {status}: {}", json_text(&v)));
                }
                if let Some(code) = expect_code {
                    return fail(format!("expected error code {code}, got {}", json_text(&v)));
                }
                self.sale = Some(v);
                Ok(())
            }
            Err(EcrError::Refused { status, body }) => {
                if status != want {
                    return fail(format!("expected HTTP {want}, got {status}: {}", json_text(&body)));
                }
                if expect_code.as_ref().is_some_and(|c| c != body.code.as_str()) {
                    return fail(format!(
                        "expected error code {}, got {}",
                        expect_code.as_deref().unwrap_or(""),
                        json_text(&body)
                    ));
                }
                Ok(())
            }
            Err(e) => fail(format!("ECR API: {e}")),
        }
    }

    /// The acquirer's ledger holds this many entries of each kind.
    async fn expect_ledger(&self, authorizations: Option<usize>, captures: Option<usize>) -> Result<(), String> {
        let ledger: Vec<Value> = self
            .http
            .get(format!("{}/v1/ledger", self.ep.sim_url))
            .bearer_auth(&self.ep.acquirer_key)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let count = |kind: &str| ledger.iter().filter(|e| e.get("kind").and_then(Value::as_str) == Some(kind)).count();
        for (kind, want) in [("AUTHORIZATION", authorizations), ("CAPTURE", captures)] {
            if let Some(w) = want {
                if count(kind) != w {
                    return fail(format!("{} {kind} entries, expected {w}", count(kind)));
                }
            }
        }
        Ok(())
    }

    async fn card_reader_step(&self, step: &Step) -> Result<(), String> {
        match step {
            Step::CardReaderFault(fault) => {
                let body = serde_json::to_value(fault).map_err(|e| e.to_string())?;
                self.sim_post("/sim/card-reader/fault", &body).await
            }
            Step::CardReaderPlug { plugged } => {
                self.sim_post("/sim/devices/card_reader", &json!({ "plugged": plugged })).await
            }
            Step::WaitCardReader { state, timeout_ms } => {
                let timeout = Duration::from_millis(timeout_ms.unwrap_or(10_000));
                poll(timeout, || async {
                    let v = self.sim_state().await?;
                    let now = v.get("card_reader").and_then(|r| r.get("state")).cloned().unwrap_or(Value::Null);
                    Ok((now != state.as_str()).then(|| format!("the card reader is still {now}")))
                })
                .await
            }
            _ => Ok(()),
        }
    }

    /// Posts to the simulator's control API: whether it took it, and its answer's text.
    async fn sim_post_raw(&self, path: &str, body: &Value) -> Result<(bool, String), String> {
        let r =
            self.http.post(format!("{}{path}", self.ep.sim_url)).json(body).send().await.map_err(|e| e.to_string())?;
        let ok = r.status().is_success();
        Ok((ok, r.text().await.unwrap_or_default()))
    }

    async fn sim_post(&self, path: &str, body: &Value) -> Result<(), String> {
        let r =
            self.http.post(format!("{}{path}", self.ep.sim_url)).json(body).send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return fail(format!("{path} answered {}: {}", r.status(), r.text().await.unwrap_or_default()));
        }
        Ok(())
    }

    async fn sim_state(&self) -> Result<Value, String> {
        let r = self.http.get(format!("{}/sim/state", self.ep.sim_url)).send().await.map_err(|e| e.to_string())?;
        r.json().await.map_err(|e| e.to_string())
    }
}

fn label(step: &Step) -> String {
    match step {
        Step::CreateSale { amount, currency, .. } => format!("create sale {amount} {currency}"),
        Step::WaitState { state, .. } => format!("wait for {state}"),
        Step::Customer { action } => format!("customer: {action}"),
        Step::PresentCard { card, .. } => format!("card: {card}"),
        Step::CancelSale {} => "cashier cancels".into(),
        Step::ExpectSale { state, .. } => format!("expect sale {state}"),
        Step::SetFaults { faults } => format!("faults {faults}").replace('\n', " "),
        Step::ExpectLedger { .. } => "expect ledger".into(),
        Step::ExpectKlarnaOffered { amount, available, .. } => format!("Klarna offered for {amount}: {available}"),
        Step::Sleep { ms } => format!("sleep {ms} ms"),
        Step::CardReaderFault(fault) => {
            format!("card reader fault {}", serde_json::to_string(fault).unwrap_or_default())
        }
        Step::CardReaderPlug { plugged } => {
            format!("card reader {}", if *plugged { "plugged in" } else { "unplugged" })
        }
        Step::WaitCardReader { state, .. } => format!("wait for the card reader: {state}"),
    }
}

/// Runs `scenario` step by step; stops at the first failure. Faults are cleared at the end.
pub async fn run(scenario: &Scenario, ep: &Endpoints) -> Report {
    let http = reqwest::Client::new();
    let ecr = EcrClient::new(http.clone(), ep.ecr_url.clone(), ep.ecr_token.clone());
    let mut runner = Runner { ep, ecr, http, sale: None };
    let mut steps = vec![];
    for (i, step) in scenario.steps.iter().enumerate() {
        let start = Instant::now();
        let failure = runner.step(step).await.err();
        let failed = failure.is_some();
        steps.push(StepReport { number: i + 1, label: label(step), failure, elapsed: start.elapsed() });
        if failed {
            break;
        }
    }
    let _ = runner.http.post(format!("{}/sim/faults", ep.sim_url)).json(&json!({})).send().await;
    if scenario.steps.iter().any(|s| matches!(s, Step::CardReaderFault(_) | Step::CardReaderPlug { .. })) {
        let _ = runner.sim_post("/sim/devices/card_reader", &json!({ "plugged": true })).await;
        for fault in
            [json!({"kind": "dead", "on": false}), json!({"kind": "slow_acks", "ms": 0}), json!({"kind": "repair"})]
        {
            let _ = runner.sim_post("/sim/card-reader/fault", &fault).await;
        }
    }
    // Leave the terminal free for the next scenario.
    if let Ok(id) = runner.sale_id() {
        let _ = runner.ecr.cancel_sale(&id).await;
    }
    Report { name: scenario.name.clone(), steps }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
                assert!(!s.steps.is_empty(), "{}", path.display());
                n += 1;
            }
        }
        assert!(n >= 18, "{n} scenarios");
    }

    #[test]
    fn card_reader_steps_take_the_fault_inline_and_refuse_unknown_fields() {
        use crate::devices::card_reader::{FrameDamage, ReaderFault, TestCard};
        let s: Scenario = toml::from_str(
            r#"name = "x"
[[steps]]
action = "card_reader_fault"
kind = "stray_read"
card = "approve"
[[steps]]
action = "card_reader_fault"
kind = "damaged_frame"
how = "truncated"
[[steps]]
action = "card_reader_plug"
plugged = false
[[steps]]
action = "wait_card_reader"
state = "waiting"
"#,
        )
        .unwrap();
        assert!(matches!(
            &s.steps[0],
            Step::CardReaderFault(ReaderFault::StrayRead { card: TestCard::Approve, txn: None })
        ));
        assert!(matches!(
            &s.steps[1],
            Step::CardReaderFault(ReaderFault::DamagedFrame { how: FrameDamage::Truncated })
        ));
        assert!(matches!(&s.steps[2], Step::CardReaderPlug { plugged: false }));
        assert_eq!(label(&s.steps[0]), r#"card reader fault {"kind":"stray_read","card":"approve"}"#);
        for bad in
            ["kind = \"stray_read\"\ncard = \"approve\"\ncolour = 1", "kind = \"no_such_fault\"", "card = \"approve\""]
        {
            let text = format!("name = \"x\"\n[[steps]]\naction = \"card_reader_fault\"\n{bad}\n");
            assert!(toml::from_str::<Scenario>(&text).is_err(), "{bad}");
        }
    }
}
