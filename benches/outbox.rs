//! Store-and-forward figures (issue #7), each over several rounds with median and spread:
//!
//! 1. durable enqueue rate of the journal's outbox (`Journal::enqueue`: owner thread,
//!    bounded channel, one WAL transaction with synchronous=FULL per operation) against a
//!    raw rusqlite INSERT of the same row with the same pragmas, in the same run
//!    (goal ≥ 0.9×);
//! 2. draining 10,000 queued offline card authorizations through the sync worker to the
//!    simulated acquirer, which runs in a child process on loopback (goal ≤ 5 s), with
//!    this process's peak RSS (goal ≤ 40 MiB).
//!
//! `cargo bench --bench outbox` (`ENQUEUE=n`, `ROUNDS=n`, `DRAIN=n` to change sizes);
//! figures in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent::backend::{AcquirerClient, ClientSettings, RetryPolicy};
use posagent::domain::{NewOp, OpKind, Subject};
use posagent::outbox::SyncHandle;
use posagent::outbox::sync::{SyncSettings, SyncWorker};
use posagent::store::Journal;
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIM_ENV: &str = "POSAGENT_BENCH_SIM";
const KEY: &str = "bench-key";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn op(i: usize) -> NewOp {
    let reference = format!("BENCH-{i:06}");
    let amount = 1000 + (i % 500) as i64;
    // A genuine encrypted read (the simulated acquirer decrypts it), one DUKPT counter each.
    let counter = u32::try_from(i + 1).expect("fewer than 2^32 operations");
    let card = posagent_sim::card_crypto::sample_card_data("4111111111111111", amount, "SEK", None, counter)
        .expect("a sample card read");
    let request = serde_json::json!({
        "method": "CARD", "currency": "SEK", "amount": amount,
        "payment_transaction_reference": reference, "country": "SE", "locale": "sv-SE",
        "point_of_checkout": {"type": "PHYSICAL_STORE", "store_reference": "bench-store"},
        "point_of_transaction": {"type": "TERMINAL", "terminal_reference": "BENCH01"},
        "capture": "NOW",
        "card": card,
        "offline_approved_at": "2026-11-25T12:00:00Z"
    });
    NewOp {
        group: format!("sale-{i}"),
        subject: Subject::Sale,
        subject_id: format!("sale-{i}"),
        kind: OpKind::Authorize,
        idempotency_key: format!("bench-{i:06}-{}", uuid::Uuid::new_v4()),
        payment_transaction_id: None,
        request,
        amount: 1000,
        currency: "SEK".into(),
    }
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The child: the simulated acquirer on a loopback port, printed on stdout.
fn run_sim() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cancel = tokio_util::sync::CancellationToken::new();
        let backend = posagent_sim::backend::SimBackend::new(
            KEY.into(),
            url.clone(),
            chrono::Duration::minutes(15),
            cancel.clone(),
        );
        println!("{url}");
        posagent_sim::backend::serve(listener, posagent_sim::backend::router(backend), cancel).await.unwrap();
    });
}

async fn enqueue_rates(rounds: usize, n: usize) {
    let mut ours = vec![];
    let mut raw = vec![];
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        // Raw: the same row into the same table, same pragmas, one transaction each.
        let raw_path = dir.path().join("raw.db");
        drop(Journal::open(&raw_path).unwrap());
        let conn = rusqlite::Connection::open(&raw_path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        let journal = Journal::open(&dir.path().join("journal.db")).unwrap();
        // Interleaved in blocks of 50 so both see the same disk at the same moment.
        let (mut raw_time, mut ours_time) = (Duration::ZERO, Duration::ZERO);
        for block in 0..n.div_ceil(50) {
            let range = block * 50..((block + 1) * 50).min(n);
            let ops: Vec<NewOp> = range.clone().map(op).collect();
            let t = Instant::now();
            for o in &ops {
                let now = chrono::Utc::now().timestamp_millis();
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO outbox (group_key, subject_kind, subject_id, kind, idempotency_key,
                         payment_transaction_id, request, amount, currency, state, created_ms, next_attempt_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'PENDING', ?10, ?10, ?10)",
                )
                .unwrap()
                .execute(rusqlite::params![
                    o.group,
                    o.subject.as_str(),
                    o.subject_id,
                    o.kind.as_str(),
                    o.idempotency_key,
                    o.payment_transaction_id,
                    serde_json::to_string(&o.request).unwrap(),
                    o.amount,
                    o.currency,
                    now
                ])
                .unwrap();
            }
            raw_time += t.elapsed();
            let ops: Vec<NewOp> = range.map(op).collect();
            let t = Instant::now();
            for o in ops {
                journal.enqueue(o, 0).await.unwrap();
            }
            ours_time += t.elapsed();
        }
        raw.push(n as f64 / raw_time.as_secs_f64());
        ours.push(n as f64 / ours_time.as_secs_f64());
    }
    // What the owner thread costs by itself: a round trip with no SQL in it.
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("rt.db")).unwrap();
    let mut trips = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        journal.call(|_, _| Ok(())).await.unwrap();
        trips.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (tm, tlo, thi) = stats(trips);
    let (om, olo, ohi) = stats(ours);
    let (rm, rlo, rhi) = stats(raw);
    println!("durable enqueue, {n} operations × {rounds} rounds, one synced transaction each:");
    println!("  posagent outbox  median {om:.0}/s (min {olo:.0}, max {ohi:.0})");
    println!("  raw rusqlite     median {rm:.0}/s (min {rlo:.0}, max {rhi:.0})");
    println!("  ratio            {:.2}× (goal ≥ 0.9×)", om / rm);
    println!("  owner-thread round trip without SQL: median {tm:.1} µs (min {tlo:.1}, max {thi:.1})");
}

async fn drain(n: usize, rounds: usize) {
    let mut times = vec![];
    for _ in 0..rounds {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .env(SIM_ENV, "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut url = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
        let url = url.trim().to_string();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let journal = Journal::open(&path).unwrap();
        // Setup (not timed): n queued operations written in one transaction.
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("BEGIN").unwrap();
            let now = chrono::Utc::now().to_rfc3339();
            for i in 0..n {
                let o = op(i);
                // The sale each operation updates once the acquirer answers.
                let sale = serde_json::json!({
                    "id": o.group, "reference": format!("BENCH-{i:06}"), "state": "APPROVED", "method": "CARD",
                    "amount": o.amount, "currency": "SEK", "locale": "sv-SE", "offline": "QUEUED",
                    "masked_pan": "411111******1111", "entry_mode": "CONTACTLESS", "receipt_printed": true,
                    "created_at": now, "updated_at": now
                });
                conn.execute(
                    "INSERT INTO sales (id, reference, state, data, created_at, updated_at) VALUES (?1, ?2, 'APPROVED', ?3, ?4, ?4)",
                    rusqlite::params![o.group, format!("BENCH-{i:06}"), sale.to_string(), now],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO outbox (group_key, subject_kind, subject_id, kind, idempotency_key, request, amount,
                         currency, state, created_ms, next_attempt_ms, updated_ms)
                     VALUES (?1, 'SALE', ?1, 'AUTHORIZE', ?2, ?3, ?4, 'SEK', 'PENDING', 0, 0, 0)",
                    rusqlite::params![o.group, o.idempotency_key, serde_json::to_string(&o.request).unwrap(), o.amount],
                )
                .unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
        }
        let metrics = Arc::new(posagent::metrics::Metrics::default());
        let backend = AcquirerClient::with_settings(ClientSettings {
            base_url: url,
            api_key: KEY.into(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            ..ClientSettings::default()
        })
        .unwrap();
        let handle = SyncHandle::new(journal.clone(), backend, SyncSettings::default(), metrics);
        let worker = SyncWorker::new(&handle, Arc::new(|_: &posagent::store::Patched| {}));
        let stop = tokio_util::sync::CancellationToken::new();
        let t = Instant::now();
        let task = tokio::spawn(worker.run(stop.clone()));
        let mut last_report = Instant::now();
        loop {
            let s = journal.queue_summary().await.unwrap();
            if last_report.elapsed() > Duration::from_secs(2) {
                eprintln!("  … {s:?} after {:?}", t.elapsed());
                last_report = Instant::now();
            }
            if s.pending == 0 {
                assert_eq!(s.dead, 0, "the acquirer refused some: {s:?}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(t.elapsed().as_secs_f64());
        stop.cancel();
        task.await.unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
    let (m, lo, hi) = stats(times);
    println!("drain {n} queued offline card authorizations to the simulated acquirer (child process, loopback):");
    println!(
        "  median {m:.2} s (min {lo:.2}, max {hi:.2}) over {rounds} rounds = {:.0} operations/s (goal ≤ 5 s)",
        n as f64 / m
    );
    println!("  peak RSS of this process (journal, sync worker, client): {} KiB (goal ≤ 40 MiB)", peak_rss_kib());
}

fn main() {
    if std::env::var(SIM_ENV).is_ok() {
        run_sim();
        return;
    }
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        enqueue_rates(env("ROUNDS", 5), env("ENQUEUE", 1000)).await;
        drain(env("DRAIN", 10_000), env("ROUNDS", 5).min(3)).await;
    });
}
