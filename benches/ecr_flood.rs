//! The register's latency while a local flood without the token hits the ECR API: what a
//! web page open on the till PC (no-cors GETs) or a process guessing tokens can do.
//! Three phases of N register requests each (`REQUESTS`, default 600;
//! `GET /v1/queue/summary` with the token, one kept-alive connection, 50 a second): idle; under a
//! flood of 8 clients without the token (on their own runtime and threads, as another
//! process would be) asking `/health`, `/metrics`, `/console` and guessing tokens; and
//! the same flood plus 1,000 silent sockets. Reports p50/p99/max and the flood's rate.
//! `cargo bench --bench ecr_flood`; figures in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort_unstable();
    let at = |q| common::quantile(&v, q).as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", at(0.5), at(0.99), at(1.0))
}

async fn register(http: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<Duration> {
    let mut took = Vec::with_capacity(n);
    // Paced at 50 requests a second, half the register's own limit (ecr.max_requests_per_sec).
    let mut pace = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..n {
        pace.tick().await;
        let started = Instant::now();
        let r = http.get(format!("{url}/v1/queue/summary")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200, "the register was refused");
        r.bytes().await.unwrap();
        took.push(started.elapsed());
    }
    took
}

/// 8 clients without the token on their own runtime until `stop`; counts their answers.
fn flood(url: String, stop: CancellationToken, answered: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let mut tasks = vec![];
            for i in 0..8 {
                let path = ["/health", "/metrics", "/console", "/v1/sales/guess"][i % 4];
                let (url, stop, answered) = (format!("{url}{path}"), stop.clone(), answered.clone());
                tasks.push(tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    while !stop.is_cancelled() {
                        if http.get(&url).bearer_auth("guessing").send().await.is_ok() {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
    })
}

fn main() {
    let n = common::env_count("REQUESTS", 600);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let running = common::simulated(&dir, &stop).await;
        let (url, token) = (running.daemon.ecr_url.clone(), running.daemon.ecr_token.clone());
        let http = reqwest::Client::new();
        register(&http, &url, &token, 50).await;
        println!("idle:                       {}", percentiles(register(&http, &url, &token, n).await));

        let (flood_stop, answered) = (CancellationToken::new(), Arc::new(AtomicU64::new(0)));
        let flooder = flood(url.clone(), flood_stop.clone(), answered.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (started, before) = (Instant::now(), answered.load(Ordering::Relaxed));
        let flooded = register(&http, &url, &token, n).await;
        let rate = (answered.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
        println!("flood ({rate:.0} req/s):      {}", percentiles(flooded));

        let addr = url.trim_start_matches("http://").to_string();
        let mut silent = vec![];
        for _ in 0..1000 {
            silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
        }
        let (started, before) = (Instant::now(), answered.load(Ordering::Relaxed));
        let flooded = register(&http, &url, &token, n).await;
        let rate = (answered.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
        println!("flood + 1000 silent ({rate:.0} req/s): {}", percentiles(flooded));
        flood_stop.cancel();
        flooder.join().unwrap();
        drop(silent);
        stop.cancel();
    });
}
