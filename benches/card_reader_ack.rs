//! How fast the daemon acknowledges the card reader's frames (protocol v2: within 100 ms
//! of the frame's last byte), measured by the simulated reader — written from the
//! protocol alone — from the last byte of each of its frames to the host's ACK, over the
//! real path: the daemon's card reader owner thread, a real pseudo-terminal.
//! Two phases of N frames each (`FRAMES`, default 300): idle (reads of no transaction,
//! discarded) and during a card sale waiting for the card (retryable read errors).
//! Reports p50/p99/max. `cargo bench --bench card_reader_ack`; figures in
//! docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use posagent_sim::devices::card_reader::{ReaderFault, SimCardReader, TestCard};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn percentiles(mut v: Vec<u32>) -> (f64, f64, f64) {
    v.sort_unstable();
    let at = |q| f64::from(common::quantile(&v, q)) / 1000.0;
    (at(0.5), at(0.99), at(1.0))
}

/// Plays `n` frames through `fault` and returns the host's ACK latencies (µs) for them.
async fn phase(reader: &Arc<SimCardReader>, n: usize, fault: impl Fn() -> ReaderFault) -> Vec<u32> {
    let before = reader.stats().link.frames_sent;
    let seen = reader.stats().host_ack_latencies_us.len();
    for _ in 0..n {
        let sent = reader.stats().link.frames_sent;
        reader.inject(fault()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while reader.stats().link.frames_sent == sent && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    // Let the last ACK in.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = reader.stats();
    assert!(s.link.frames_sent >= before + n as u64, "the reader sent its frames");
    let all = s.host_ack_latencies_us;
    all[seen.min(all.len())..].to_vec()
}

fn main() {
    let n = common::env_count("FRAMES", 300);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let running = common::simulated(&dir, &stop).await;
        let reader = running.sim.card_reader.clone().expect("a simulated card reader (PTYs)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while reader.state().host_version.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let idle = phase(&reader, n, || ReaderFault::StrayRead { card: TestCard::Approve, txn: None }).await;

        let http = reqwest::Client::new();
        let (url, token) = (running.daemon.ecr_url.clone(), running.daemon.ecr_token.clone());
        let sale: serde_json::Value = http
            .post(format!("{url}/v1/sales"))
            .bearer_auth(&token)
            .json(&json!({"amount": 1000, "currency": "SEK", "method": "CARD"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while reader.state().waiting_for.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let during = phase(&reader, n, || ReaderFault::Error { code: 0x01, text: None }).await;
        let id = sale["id"].as_str().unwrap();
        let _ = http.post(format!("{url}/v1/sales/{id}/cancel")).bearer_auth(&token).json(&json!({})).send().await;

        for (name, v) in [("idle", idle), ("during a sale", during)] {
            let count = v.len();
            let (p50, p99, max) = percentiles(v);
            println!("host ACK latency {name:14} n={count:4}  p50 {p50:6.2} ms  p99 {p99:6.2} ms  max {max:6.2} ms");
        }
        stop.cancel();
    });
}
