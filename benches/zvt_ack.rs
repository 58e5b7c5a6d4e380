//! How fast posagent, as a ZVT payment terminal, acknowledges a register's command with
//! `80 00 00` (ZVT P15 §2.2.2: the PT answers every command within T3, 5 s; the goal here
//! is 5 ms at p99), measured by `posagent-zvt-register` — a register written from the
//! specification and docs/zvt.md alone — over TCP on loopback against the daemon on the
//! simulator: from the register's command leaving to the PT's `80 00` in its transcript.
//! N commands (`COMMANDS`, default 500), alternately a status enquiry (05 01) and a
//! registration (06 00), each run to its completion. Reports p50/p90/p99/max.
//! `cargo bench --bench zvt_ack`; figures in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use posagent_zvt_register::transcript::{Direction, EntryKind};
use posagent_zvt_register::{Register, Registration};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// SEK (ISO 4217 752), the simulated store's currency.
const SEK: u16 = 752;

/// The time from the register's first APDU to the PT's `80 00` after it.
fn ack_latency(t: &posagent_zvt_register::transcript::Transcript) -> Duration {
    let is_apdu = |e: &&posagent_zvt_register::transcript::Entry| e.kind == EntryKind::Apdu;
    let sent = t.entries.iter().filter(is_apdu).find(|e| e.direction == Direction::EcrToPt).unwrap();
    let ack = t
        .entries
        .iter()
        .filter(is_apdu)
        .find(|e| e.direction == Direction::PtToEcr && e.at >= sent.at && e.bytes.starts_with(&[0x80, 0x00]))
        .unwrap_or_else(|| panic!("no 80 00 in {}", t.dump()));
    ack.at - sent.at
}

fn main() {
    let n = common::env_count("COMMANDS", 500);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let running = common::simulated(&dir, &stop).await;
        let addr = running.daemon.zvt_addrs[0];
        let mut register = Register::connect_tcp(addr).await.unwrap();
        let registration = Registration { currency: Some(SEK), ..Registration::new(0) };
        register.register(&registration).await;
        let mut samples = Vec::with_capacity(n);
        for i in 0..n {
            let out = if i % 2 == 0 { register.status_enquiry().await } else { register.register(&registration).await };
            assert!(out.transcript.violations().is_empty(), "{:?}", out.transcript.violations());
            samples.push(ack_latency(&out.transcript));
        }
        println!("{}", common::latency_line("zvt_ack", samples));
        running.daemon.stop().await;
        stop.cancel();
    });
}
