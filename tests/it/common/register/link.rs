//! The register's line to the daemon: a request that fails (connection refused or reset
//! because the daemon was killed, a timeout, a 500/503/504, a 429) is resent, the same
//! body and the same `Idempotency-Key`, once the daemon is back. The answer to the last
//! send is what the register believes. Every answer that came whole is checked strictly
//! against docs/ecr-api.yaml (tests/it/common/contract.rs).

use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long one request may take before the register counts it as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(12);
/// How long the register keeps resending one request before it gives up on it.
const GIVE_UP: Duration = Duration::from_secs(90);

/// Where the daemon answers now; `generation` counts its starts.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    pub token: String,
    pub generation: u64,
}

/// What went wrong on the line, for the summary.
#[derive(Default, Debug)]
pub struct LinkStats {
    pub sent: AtomicUsize,
    pub resends: AtomicUsize,
    pub connection_errors: AtomicUsize,
    pub timeouts: AtomicUsize,
    pub server_errors: AtomicUsize,
    pub rate_limited: AtomicUsize,
    pub given_up: AtomicUsize,
}

impl LinkStats {
    pub fn line(&self) -> String {
        let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        format!(
            "http {} (resends {}: connection {}, timeout {}, 5xx {}, 429 {}; given up {})",
            get(&self.sent),
            get(&self.resends),
            get(&self.connection_errors),
            get(&self.timeouts),
            get(&self.server_errors),
            get(&self.rate_limited),
            get(&self.given_up)
        )
    }
}

/// The daemon's answer; `status` 0 when none came within [`GIVE_UP`].
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub attempts: u32,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn answered(&self) -> bool {
        self.status != 0
    }
}

#[derive(Clone)]
pub struct Link {
    http: reqwest::Client,
    endpoint: watch::Receiver<Option<Endpoint>>,
    pub stats: Arc<LinkStats>,
    /// Commands (POSTs) on the wire now: the killer aims at them.
    pub posts_in_flight: Arc<AtomicUsize>,
}

enum Failure {
    Connection,
    Timeout,
}

impl Link {
    pub fn new(endpoint: watch::Receiver<Option<Endpoint>>) -> Link {
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap();
        Link { http, endpoint, stats: Arc::default(), posts_in_flight: Arc::default() }
    }

    /// The daemon's endpoint, once one is up.
    pub async fn endpoint(&self) -> Endpoint {
        let mut rx = self.endpoint.clone();
        loop {
            if let Some(e) = rx.borrow_and_update().clone() {
                return e;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        }
    }

    /// Waits (a while at most) for a daemon of another generation than `generation`.
    async fn next_daemon(&self, generation: u64) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut rx = self.endpoint.clone();
        while Instant::now() < deadline {
            if rx.borrow_and_update().as_ref().is_some_and(|e| e.generation != generation) {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), rx.changed()).await;
        }
    }

    async fn once(
        &self,
        e: &Endpoint,
        method: &reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<(u16, Option<u64>, Value), Failure> {
        let mut r = self.http.request(method.clone(), format!("{}{path}", e.url)).bearer_auth(&e.token);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let classify = |err: reqwest::Error| if err.is_timeout() { Failure::Timeout } else { Failure::Connection };
        let resp = r.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let content_type = content_type.map(String::from);
        let text = resp.text().await.map_err(classify)?;
        // Every answer that came whole is one the document gives.
        crate::common::contract::ecr().check(method.as_str(), path, status, content_type.as_deref(), text.as_bytes());
        Ok((status, retry_after, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Sends until answered: the same request each time.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>, key: Option<&str>) -> Answer {
        let body_sent = body;
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            let e = self.endpoint().await;
            attempts += 1;
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
            if attempts > 1 {
                self.stats.resends.fetch_add(1, Ordering::Relaxed);
            }
            let post = method == reqwest::Method::POST;
            if post {
                self.posts_in_flight.fetch_add(1, Ordering::Relaxed);
            }
            let answer = self.once(&e, &method, path, body, key).await;
            if post {
                self.posts_in_flight.fetch_sub(1, Ordering::Relaxed);
            }
            match answer {
                Ok((429, after, _)) => {
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(after.unwrap_or(1).min(2))).await;
                }
                Ok((status @ (500 | 503 | 504), _, body)) => {
                    self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
                    super::log(format!("{method} {path} -> {status} {}, resending", body["code"]));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok((status, _, body)) => {
                    if method != reqwest::Method::GET || attempts > 1 {
                        let (code, key) = (body["code"].as_str().unwrap_or(""), key.unwrap_or("-"));
                        let sent = body_text(body_sent);
                        let took = started.elapsed().as_secs_f64();
                        super::log(format!(
                            "{method} {path} key {key} {sent} -> {status} {code} (attempts {attempts}, {took:.3} s)"
                        ));
                    }
                    return Answer { status, body, attempts };
                }
                Err(Failure::Timeout) => {
                    self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                }
                Err(Failure::Connection) => {
                    self.stats.connection_errors.fetch_add(1, Ordering::Relaxed);
                    self.next_daemon(e.generation).await;
                }
            }
            if started.elapsed() > GIVE_UP {
                self.stats.given_up.fetch_add(1, Ordering::Relaxed);
                super::log(format!("{method} {path} GIVEN UP after {attempts} attempts"));
                return Answer { status: 0, body: Value::Null, attempts };
            }
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>, key: Option<&str>) -> Answer {
        self.send(reqwest::Method::POST, path, body, key).await
    }
}

fn body_text(body: Option<&Value>) -> String {
    body.map_or_else(String::new, |b| {
        let mut b = b.clone();
        if let Some(o) = b.as_object_mut() {
            o.remove("order_lines");
        }
        b.to_string()
    })
}
