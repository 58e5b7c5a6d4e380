//! The daemon as a real process (`posagent run --config`) against the simulator running
//! in the test process, for tests that kill it with SIGKILL.

use posagent::daemon::start_simulator;
use posagent_sim::SimEnvironment;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Setup {
    pub _dir: tempfile::TempDir,
    pub data: PathBuf,
    pub config: PathBuf,
    pub sim: SimEnvironment,
    /// Stops the simulator when the setup is dropped (the tests share one process).
    pub _stop: tokio_util::sync::DropGuard,
    pub http: reqwest::Client,
}

fn write_config(dir: &Path, data: &Path, sim: &SimEnvironment) -> PathBuf {
    let reader = sim.card_reader.as_ref().expect("the simulator has a card reader");
    let profile = format!(
        r#"model = "simulator"
description = "crash harness"
[display]
driver = "panel"
endpoint = "tcp:{display}"
width = 800
height = 480
[printer]
driver = "escpos"
endpoint = "tcp:{printer}"
columns = 48
width_dots = 576
native_qr = true
code_page = "pc858"
[card_reader]
driver = "framed-serial"
endpoint = "serial:{reader}@115200"
"#,
        display = sim.display_addr,
        printer = sim.printer_addr,
        reader = reader.path
    );
    std::fs::write(dir.join("profile.toml"), profile).unwrap();
    let config = format!(
        r#"data_dir = "{data}"
device_profile = "profile.toml"
[store]
store_reference = "crash-store"
terminal_reference = "CRASH01"
name = "Crash Store"
country = "SE"
currency = "SEK"
locale = "sv-SE"
[acquirer]
url = "{url}"
credentials_file = "{data}/acquirer.key"
timeout_ms = 1000
[ecr]
listen = "127.0.0.1:0"
token_file = "ecr.token"
max_requests_per_sec = 10000
[offline]
floor_limit = 100000
total_limit = 100000000
max_count = 10000
[sync]
max_backoff_secs = 2
"#,
        data = data.display(),
        url = sim.backend_url
    );
    let path = dir.join("posagent.toml");
    std::fs::write(&path, config).unwrap();
    path
}

pub async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stop = CancellationToken::new();
    let sim = start_simulator(&data, &dir.path().join("sim"), stop.clone()).await.unwrap();
    let config = write_config(dir.path(), &data, &sim);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    Setup { _dir: dir, data, config, sim, _stop: stop.drop_guard(), http }
}

/// A running daemon process and its ECR endpoint.
pub struct Daemon {
    pub child: Child,
    pub url: String,
    pub token: String,
}

pub fn start_daemon(s: &Setup) -> Daemon {
    start_daemon_logging(s, None)
}

/// The daemon, logging at info into `log` when given (else at error, nowhere).
pub fn start_daemon_logging(s: &Setup, log: Option<&Path>) -> Daemon {
    let (level, stderr) = match log {
        Some(path) => ("info", Stdio::from(std::fs::File::create(path).unwrap())),
        None => ("error", Stdio::null()),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_posagent"))
        .args(["run", "--config"])
        .arg(&s.config)
        .env("POSAGENT_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no ECR URL in `{line}`"))
        .to_string();
    let token = std::fs::read_to_string(s.data.join("ecr.token")).unwrap().trim().to_string();
    Daemon { child, url, token }
}

pub async fn faults(s: &Setup, partition: bool) {
    s.http
        .post(format!("{}/sim/faults", s.sim.backend_url))
        .json(&json!({"partition": partition}))
        .send()
        .await
        .unwrap();
}

/// Sets the simulated acquirer's faults (`latency_ms`, `partition`, …).
pub async fn set_faults(s: &Setup, body: serde_json::Value) {
    let r = s.http.post(format!("{}/sim/faults", s.sim.backend_url)).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "faults refused: {}", r.status());
}

/// A register call to the daemon at `url`; the error when the daemon is not there (it
/// may just have been killed).
pub async fn register_call(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let ecr = posagent_ecr_api::EcrClient::new(http.clone(), url, token);
    let r = ecr.request(method.clone(), path).json(&body).send().await?;
    let status = r.status().as_u16();
    let content_type = r.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
    let bytes = r.bytes().await?;
    super::contract::ecr().check(method.as_str(), path, status, content_type.as_deref(), &bytes);
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)))
}

impl Daemon {
    /// A register call to the running daemon.
    pub async fn call(
        &self,
        s: &Setup,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        register_call(&s.http, &self.url, &self.token, method, path, body).await.unwrap()
    }

    /// Kills the process with SIGKILL (a crash: nothing is flushed or closed).
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The simulated acquirer's ledger (every booking), read with the terminal's API key.
pub async fn ledger(s: &Setup) -> Vec<serde_json::Value> {
    let key = std::fs::read_to_string(s.data.join("acquirer.key")).unwrap();
    let r = s.http.get(format!("{}/v1/ledger", s.sim.backend_url)).bearer_auth(key.trim()).send().await.unwrap();
    let (_, v) = super::contract::read_checked(super::contract::acquirer(), "GET", "/v1/ledger", r).await;
    serde_json::from_value(v).unwrap()
}

/// Taps the approving test card as soon as the simulated reader waits for one (5 s at most).
pub async fn tap(s: &Setup) {
    let reader = s.sim.card_reader.as_ref().expect("the simulator has a card reader");
    for _ in 0..500 {
        if reader.state().waiting_for.is_some() {
            let r = s
                .http
                .post(format!("{}/sim/card", s.sim.backend_url))
                .json(&json!({"card": "approve", "presentation": "tap"}))
                .send()
                .await
                .unwrap();
            if r.status() == 204 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the card reader never waited for a card");
}
