//! Latency from the register's `POST /v1/sales` to the QR frame acknowledged by the
//! (simulated) customer display, over the real path: ECR HTTP, journal (SQLite, FULL
//! sync), availability and authorize calls to the simulated acquirer, render, panel
//! protocol over TCP. Reports p50/p90/p99 over N sales (`SALES`, default 200), one at
//! most every 25 ms. The simulated panel writes no PNG of its frames here (developers'
//! files, not the daemon's work).
//! `cargo bench --bench sale_to_qr`; figures in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn main() {
    let n = common::env_count("SALES", 200);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let running = common::simulated(&dir, &stop).await;
        let http = reqwest::Client::new();
        let (url, token) = (running.daemon.ecr_url.clone(), running.daemon.ecr_token.clone());
        let mut frames = running.sim.display.subscribe();
        // The simulated panel's PNG of every frame is for developers, not the daemon's work.
        running.sim.display.set_frame_files(false);
        // Let the idle screen through first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut samples = Vec::with_capacity(n);
        // A sale every 25 ms at most: a register's pace (and under the API's 100 requests
        // a second), not a throughput test.
        let mut pace = tokio::time::interval(Duration::from_millis(25));
        for i in 0..n {
            pace.tick().await;
            let before = *frames.borrow_and_update();
            let t0 = Instant::now();
            let sale: serde_json::Value = http
                .post(format!("{url}/v1/sales"))
                .bearer_auth(&token)
                .json(&json!({"amount": 10_000 + i, "currency": "SEK"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            // The first frame after the request is the QR screen: the simulated acquirer
            // answers well within the 150 ms after which "one moment" would be drawn first.
            let qr = before + 1;
            while *frames.borrow_and_update() < qr {
                tokio::time::timeout(Duration::from_secs(10), frames.changed()).await.unwrap().unwrap();
            }
            samples.push(t0.elapsed());
            let id = sale["id"].as_str().unwrap();
            let r: serde_json::Value = http
                .post(format!("{url}/v1/sales/{id}/cancel"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(r["state"], "CANCELED", "{r}");
            // Wait for the canceled screen so it is not taken for the next sale's frames.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while *frames.borrow_and_update() <= qr && tokio::time::Instant::now() < deadline {
                let _ = tokio::time::timeout_at(deadline, frames.changed()).await;
            }
        }
        println!("{}", common::latency_line("sale_to_qr_frame", samples));
        running.daemon.stop().await;
        stop.cancel();
    });
}
