//! Shared helpers of the integration tests: a daemon on the simulator in a temp dir,
//! an ECR client over real HTTP, and a QR reader over the simulated display's PNG.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod contract;
pub mod eventually;
pub mod process;
pub mod scrape;

use eventually::{Seen, WITHIN, eventually, eventually_seen};
use posagent::daemon::{Daemon, simulated_profile, simulated_store_config, start_simulator};
use posagent_sim::SimEnvironment;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sim: SimEnvironment,
    pub sim_stop: CancellationToken,
    pub daemon: Option<Daemon>,
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

/// The simulator's device threads stop with the test, not with the process: every test
/// of `tests/it` shares one.
impl Drop for Harness {
    fn drop(&mut self) {
        self.sim_stop.cancel();
    }
}

impl Harness {
    pub async fn start() -> Harness {
        let mut h = Harness::without_daemon().await;
        h.start_daemon().await;
        h
    }

    /// Starts the simulator, puts a copy of `journal` in the data dir as the daemon's
    /// journal, then starts the daemon with a changed config.
    pub async fn start_on_journal(
        journal: &std::path::Path,
        change: impl FnOnce(&mut posagent::config::StoreConfig),
    ) -> Harness {
        let mut h = Harness::without_daemon().await;
        std::fs::copy(journal, h.data_dir().join("posagent.db")).unwrap();
        h.start_daemon_with(change).await;
        h
    }

    /// The simulator alone, its data dir ready; no daemon yet.
    pub async fn without_daemon() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let sim_stop = CancellationToken::new();
        let sim = start_simulator(&dir.path().join("data"), &dir.path().join("sim"), sim_stop.clone()).await.unwrap();
        Harness {
            dir,
            sim,
            sim_stop,
            daemon: None,
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            url: String::new(),
            token: String::new(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub async fn start_daemon(&mut self) {
        self.start_daemon_with(|_| {}).await;
    }

    /// Starts the daemon with a changed config.
    pub async fn start_daemon_with(&mut self, change: impl FnOnce(&mut posagent::config::StoreConfig)) {
        let profile = simulated_profile(&self.sim).unwrap();
        self.start_daemon_on(profile, change).await;
    }

    /// Starts the daemon on another terminal profile (its devices on the simulator's).
    pub async fn start_daemon_on(
        &mut self,
        profile: posagent::config::DeviceProfile,
        change: impl FnOnce(&mut posagent::config::StoreConfig),
    ) {
        let mut config =
            simulated_store_config(&self.data_dir(), &self.sim.backend_url, "127.0.0.1:0".parse().unwrap());
        // Tests stop daemons mid-sale to restart them: no grace period unless asked for.
        config.limits.shutdown_grace_secs = 0;
        change(&mut config);
        let daemon = Daemon::start(config, profile, CancellationToken::new()).await.unwrap();
        self.url = daemon.ecr_url.clone();
        self.token = daemon.ecr_token.clone();
        self.daemon = Some(daemon);
    }

    /// Starts a daemon with a changed config that must not start; its error, as the
    /// operator reads it.
    pub async fn start_error(&self, change: impl FnOnce(&mut posagent::config::StoreConfig)) -> String {
        let mut config =
            simulated_store_config(&self.data_dir(), &self.sim.backend_url, "127.0.0.1:0".parse().unwrap());
        change(&mut config);
        let profile = simulated_profile(&self.sim).unwrap();
        match Daemon::start(config, profile, CancellationToken::new()).await {
            Ok(_) => panic!("the daemon started"),
            Err(e) => e.to_string(),
        }
    }

    /// The typed client of the daemon's ECR API (`posagent-ecr-api`), with the token.
    pub fn ecr(&self) -> posagent_ecr_api::EcrClient {
        posagent_ecr_api::EcrClient::new(self.http.clone(), self.url.clone(), self.token.clone())
    }

    pub async fn stop_daemon(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop().await;
        }
    }

    /// A call to the daemon's ECR API with the token; its status and JSON body (null when
    /// none), the answer checked strictly against docs/ecr-api.yaml.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call_keyed(method, path, body, None).await
    }

    /// [`Harness::call`] with an `Idempotency-Key`.
    pub async fn call_keyed(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.ecr().request(method.clone(), path);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        contract::read_checked(contract::ecr(), method.as_str(), path, req.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(&body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `GET /health` (no token needed); its status and body, checked.
    pub async fn health(&self) -> (u16, Value) {
        let r = self.http.get(format!("{}/health", self.url)).send().await.unwrap();
        contract::read_checked(contract::ecr(), "GET", "/health", r).await
    }

    /// `GET /metrics` (no token needed), its status and content type checked; the text.
    pub async fn metrics(&self) -> String {
        let r = self.http.get(format!("{}/metrics", self.url)).send().await.unwrap();
        let status = r.status().as_u16();
        let content_type =
            r.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
        let text = r.text().await.unwrap();
        contract::ecr().check("GET", "/metrics", status, content_type.as_deref(), text.as_bytes());
        text
    }

    /// Creates a sale and returns its JSON (asserting 201).
    pub async fn create(&self, body: Value) -> Value {
        let (status, sale) = self.post("/v1/sales", body).await;
        assert_eq!(status, 201, "{sale}");
        sale
    }

    /// Polls the sale until `done` holds (10 s at most).
    pub async fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let what = format!("sale {id} to get there");
        eventually_seen(&what, WITHIN, || async {
            let (status, sale) = self.get(&format!("/v1/sales/{id}")).await;
            assert_eq!(status, 200, "{sale}");
            if done(&sale) { Seen::Done(sale) } else { Seen::Not(sale) }
        })
        .await
    }

    pub async fn wait_state(&self, id: &str, state: &str) -> Value {
        self.wait_for(id, |s| s["state"] == state).await
    }

    /// The acquirer's view, with the terminal's API key; the answer checked strictly
    /// against docs/acquirer-api.yaml.
    pub async fn backend_get(&self, path: &str) -> Value {
        let key = std::fs::read_to_string(self.data_dir().join("acquirer.key")).unwrap();
        let r = self.http.get(format!("{}{path}", self.sim.backend_url)).bearer_auth(key.trim()).send().await.unwrap();
        contract::read_checked(contract::acquirer(), "GET", path, r).await.1
    }

    /// A POST to the acquirer's Terminal API as the back office would make it (the
    /// terminal's API key, an Idempotency-Key); checked against docs/acquirer-api.yaml.
    pub async fn backend_post(&self, path: &str, idempotency_key: &str, body: &Value) -> (u16, Value) {
        let key = std::fs::read_to_string(self.data_dir().join("acquirer.key")).unwrap();
        let r = self.http.post(format!("{}{path}", self.sim.backend_url)).bearer_auth(key.trim());
        let r = r.header("Idempotency-Key", idempotency_key).json(body).send().await.unwrap();
        contract::read_checked(contract::acquirer(), "POST", path, r).await
    }

    /// Opens the event stream `GET /v1/events`, its status and content type checked.
    pub async fn events(&self) -> reqwest::Response {
        let r = self.ecr().request(reqwest::Method::GET, "/v1/events").send().await.unwrap();
        let content_type = r.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        contract::ecr().check("GET", "/v1/events", r.status().as_u16(), content_type, b"");
        r
    }

    /// The simulated display's current frame as PNG, fetched over HTTP.
    pub async fn display_png(&self) -> Vec<u8> {
        self.http
            .get(format!("{}/sim/display.png", self.sim.backend_url))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    }

    /// Waits until the display shows a QR code and returns what it encodes.
    pub async fn read_display_qr(&self) -> String {
        let qr = || async { decode_png_qr(&self.display_png().await).into_iter().next() };
        eventually("a QR code on the display", Duration::from_secs(5), qr).await
    }

    /// The simulated customer scans and acts.
    pub async fn customer(&self, action: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/sim/customer", self.sim.backend_url))
            .json(&json!({ "action": action }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The simulated customer scans the printed slip (a line-display terminal) and acts.
    pub async fn customer_from_slip(&self, action: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/sim/customer", self.sim.backend_url))
            .json(&json!({ "action": action, "from": "slip" }))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Presents a test card to the simulated reader once; 204 if it took it.
    pub async fn present_card(&self, card: &str, presentation: &str) -> u16 {
        self.http
            .post(format!("{}/sim/card", self.sim.backend_url))
            .json(&json!({"card": card, "presentation": presentation}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Presents a test card as soon as the reader waits for one (5 s at most).
    pub async fn present_card_when_waiting(&self, card: &str, presentation: &str) {
        let presented = || async {
            match self.present_card(card, presentation).await {
                204 => Seen::Done(()),
                status => Seen::Not(status),
            }
        };
        eventually_seen(&format!("the reader to wait for the {card} card"), Duration::from_secs(5), presented).await
    }

    pub fn sales_in_journal(&self) -> i64 {
        let db = rusqlite::Connection::open(self.data_dir().join("posagent.db")).unwrap();
        db.query_row("SELECT COUNT(*) FROM sales", [], |r| r.get(0)).unwrap()
    }

    pub fn journal_states(&self, id: &str) -> Vec<String> {
        let db = rusqlite::Connection::open(self.data_dir().join("posagent.db")).unwrap();
        let mut st = db.prepare("SELECT state FROM sale_events WHERE sale_id = ?1 ORDER BY seq").unwrap();
        st.query_map([id], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    }

    /// The details of a sale's journaled changes, oldest first ("" where none).
    pub fn journal_details(&self, id: &str) -> Vec<String> {
        let db = rusqlite::Connection::open(self.data_dir().join("posagent.db")).unwrap();
        let mut st =
            db.prepare("SELECT coalesce(detail, '') FROM sale_events WHERE sale_id = ?1 ORDER BY seq").unwrap();
        st.query_map([id], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    }
}

/// Loads an OpenAPI document of `docs/` as JSON.
pub fn openapi(file: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/docs/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&text).unwrap()).unwrap()
}

/// Where `value` breaks `schema` (JSON Schema 2020-12, `$ref`s into the document's
/// `components`).
pub fn schema_errors(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    let validator = jsonschema::draft202012::options().build(&root).unwrap();
    validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path)).collect()
}

/// Decodes a PNG and returns every QR code in it.
pub fn decode_png_qr(png_bytes: &[u8]) -> Vec<String> {
    browser::qr_codes(png_bytes)
}

/// RGB of the pixel at (x, y) of a PNG.
pub fn png_pixel(png_bytes: &[u8], x: usize, y: usize) -> [u8; 3] {
    let (w, _, px) = browser::pixels(png_bytes);
    px[y * w + x]
}

/// Writes `dir/posagent.toml` for this machine's tools (CLI, doctor) to reach the
/// harness's terminal: the simulator profile, the harness's data dir and acquirer key,
/// the acquirer at `acquirer_url`, plus the extra `[acquirer]` and `[ecr]` lines given.
pub fn write_store_config(
    h: &Harness,
    dir: &std::path::Path,
    acquirer_url: &str,
    acquirer_extra: &str,
    ecr_extra: &str,
) -> PathBuf {
    let path = dir.join("posagent.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{data}\"\ndevice_profile = \"{profile}\"\n[store]\nstore_reference = \"s\"\nterminal_reference = \"SIM01\"\nname = \"n\"\ncountry = \"SE\"\ncurrency = \"SEK\"\nlocale = \"sv-SE\"\n[acquirer]\nurl = \"{acquirer_url}\"\ncredentials_file = \"{key}\"\n{acquirer_extra}[ecr]\ntoken_file = \"ecr.token\"\n{ecr_extra}",
            data = h.data_dir().display(),
            profile = concat!(env!("CARGO_MANIFEST_DIR"), "/firmware-config/simulator.toml"),
            key = h.data_dir().join("acquirer.key").display(),
        ),
    )
    .unwrap();
    path
}

/// Writes a secret file as store IT must: readable by its owner only.
pub fn write_secret(path: &std::path::Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

pub fn lines_1234_50() -> Value {
    json!([
        {"name": "Kaffe", "reference": "SKU-1", "quantity": 2, "unit_price": 2500, "total_amount": 5000, "tax_rate": 1200, "total_tax_amount": 536},
        {"name": "Regnjacka", "reference": "SKU-2", "quantity": 1, "unit_price": 118450, "total_amount": 118450, "tax_rate": 2500, "total_tax_amount": 23690}
    ])
}
