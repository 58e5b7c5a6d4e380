//! Store-and-forward figures (issues #7 and #25), each over several rounds with median
//! and spread:
//!
//! 1. durable enqueue rate of the journal's outbox (`Journal::enqueue`: owner thread,
//!    bounded channel, one WAL transaction with synchronous=FULL per operation) against a
//!    raw rusqlite INSERT of the same row with the same pragmas (WAL, synchronous=FULL,
//!    foreign_keys, secure_delete), interleaved in blocks (goal ≥ 0.95×);
//! 2. group commit: 8 writers enqueueing at once, each awaiting every enqueue until
//!    durable, against one writer, interleaved in blocks (goal ≥ 3×);
//! 3. draining 10,000 queued offline card authorizations through the sync worker to the
//!    simulated acquirer, which runs in a child process on loopback (goal ≤ 1 s), with
//!    the CPU time of this process, its journal thread and the acquirer, and this
//!    process's peak RSS (goal ≤ 25 MiB).
//!
//! `cargo bench --bench outbox` (`PARTS=enqueue,group,drain`, `ENQUEUE=n`, `GROUP=n`,
//! `ROUNDS=n`, `DRAIN=n` to choose and size them); the ratio lines (`RATIO name ratio
//! goal`) are what `.ci/ratio` checks. Figures in docs/performance.md.
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

/// The raw side: a connection to a journal file with the pragmas [`Journal::open`] sets.
fn raw_connection(path: &std::path::Path) -> rusqlite::Connection {
    drop(Journal::open(path).unwrap());
    let conn = rusqlite::Connection::open(path).unwrap();
    for (pragma, value) in
        [("journal_mode", "WAL"), ("synchronous", "FULL"), ("foreign_keys", "ON"), ("secure_delete", "ON")]
    {
        conn.pragma_update(None, pragma, value).unwrap();
    }
    conn
}

/// The raw INSERT of `ops`, one autocommit statement (one synced transaction) each, with
/// the request encoded to JSON as `Journal::enqueue` does; the time it took.
fn raw_block(conn: &rusqlite::Connection, ops: &[NewOp]) -> Duration {
    let t = Instant::now();
    for o in ops {
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
    t.elapsed()
}

/// `Journal::enqueue` of `ops` by `writers` tasks at once, each awaiting its own one by
/// one; the time until the last is durable.
async fn journal_block(journal: &Journal, ops: Vec<NewOp>, writers: usize) -> Duration {
    let mut chunks: Vec<Vec<NewOp>> = (0..writers).map(|_| vec![]).collect();
    for (i, o) in ops.into_iter().enumerate() {
        chunks[i % writers].push(o);
    }
    let t = Instant::now();
    if writers == 1 {
        for o in chunks.pop().unwrap() {
            journal.enqueue(o, 0).await.unwrap();
        }
    } else {
        let tasks = chunks.into_iter().map(|chunk| {
            let journal = journal.clone();
            tokio::spawn(async move {
                for o in chunk {
                    journal.enqueue(o, 0).await.unwrap();
                }
            })
        });
        for task in futures_util::future::join_all(tasks).await {
            task.unwrap();
        }
    }
    t.elapsed()
}

/// Operations per second of each block.
fn rate(ops: usize, took: Duration) -> f64 {
    ops as f64 / took.as_secs_f64()
}

/// Runs two sides in alternating blocks of `block` operations, `n` operations a side in
/// each of `rounds` rounds on fresh files (the side going first alternates too, so both
/// meet the disk in the same states); the block rates of each side.
async fn interleaved(
    rounds: usize,
    n: usize,
    block: usize,
    mut side: impl AsyncFnMut(bool, &std::path::Path, Vec<NewOp>) -> Duration,
) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (vec![], vec![]);
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        for (k, start) in (0..n).step_by(block).enumerate() {
            let range = start..(start + block).min(n);
            let order = if k % 2 == 0 { [true, false] } else { [false, true] };
            for first in order {
                let ops: Vec<NewOp> = range.clone().map(op).collect();
                let took = side(first, dir.path(), ops).await;
                if first { a.push(rate(range.len(), took)) } else { b.push(rate(range.len(), took)) }
            }
        }
    }
    (a, b)
}

fn report(what: &str, name: &str, a: (&str, Vec<f64>), b: (&str, Vec<f64>), goal: f64) {
    let (am, alo, ahi) = stats(a.1);
    let (bm, blo, bhi) = stats(b.1);
    println!("{what}:");
    println!("  {:<22} median {am:.0}/s (blocks min {alo:.0}, max {ahi:.0})", a.0);
    println!("  {:<22} median {bm:.0}/s (blocks min {blo:.0}, max {bhi:.0})", b.0);
    println!("  ratio of the medians   {:.2}× (goal ≥ {goal}×)", am / bm);
    // For .ci/ratio: name, ratio, goal.
    println!("RATIO {name} {:.3} {goal}", am / bm);
}

/// Durable enqueue against a raw INSERT of the same row with the same pragmas.
async fn enqueue_rates(rounds: usize, n: usize) {
    // One journal and one raw connection per round's files (a new round replaces them).
    let mut journal: Option<(std::path::PathBuf, Journal)> = None;
    let mut raw_conn: Option<(std::path::PathBuf, rusqlite::Connection)> = None;
    let (ours, raw) = interleaved(rounds, n, 50, async |journal_side, dir: &std::path::Path, ops| {
        if journal_side {
            if journal.as_ref().is_none_or(|(d, _)| d != dir) {
                journal = Some((dir.to_path_buf(), Journal::open(&dir.join("journal.db")).unwrap()));
            }
            journal_block(&journal.as_ref().unwrap().1, ops, 1).await
        } else {
            if raw_conn.as_ref().is_none_or(|(d, _)| d != dir) {
                raw_conn = Some((dir.to_path_buf(), raw_connection(&dir.join("raw.db"))));
            }
            raw_block(&raw_conn.as_ref().unwrap().1, &ops)
        }
    })
    .await;
    let what = format!(
        "durable enqueue, {n} operations a side × {rounds} rounds in blocks of 50, one synced transaction each (WAL, synchronous=FULL, foreign_keys, secure_delete on both sides)"
    );
    report(&what, "enqueue_vs_raw", ("posagent outbox", ours), ("raw rusqlite", raw), 0.95);
    owner_thread(n).await;
}

/// What the owner thread costs by itself: a round trip with no SQL in it, and the two
/// hops around a synced INSERT (the caller's task to the journal thread, the answer back
/// to the task, which slept through the commit).
async fn owner_thread(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("rt.db")).unwrap();
    let mut trips = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        journal.call(|_, _| Ok(())).await.unwrap();
        trips.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (tm, tlo, thi) = stats(trips);
    println!("  owner-thread round trip without SQL: median {tm:.1} µs (min {tlo:.1}, max {thi:.1})");
    let (mut there, mut back) = (vec![], vec![]);
    for i in 0..n.min(500) {
        let sent = Instant::now();
        let (start, end) = journal
            .call(move |conn, _| {
                let start = Instant::now();
                conn.execute("INSERT INTO sales (id, reference, state, data, created_at, updated_at) VALUES (?1, ?1, 'CREATED', '{}', '', '')", [i.to_string()])
                    .unwrap();
                Ok((start, Instant::now()))
            })
            .await
            .unwrap();
        back.push(end.elapsed().as_secs_f64() * 1e6);
        there.push((start - sent).as_secs_f64() * 1e6);
    }
    let (th, tlo, thi) = stats(there);
    let (bm, blo, bhi) = stats(back);
    println!(
        "  around a synced INSERT: to the journal thread median {th:.1} µs (min {tlo:.1}, max {thi:.1}), the answer back to the awaiting task {bm:.1} µs (min {blo:.1}, max {bhi:.1})"
    );
}

/// Group commit: 8 writers at once against one, each enqueue awaited until durable.
async fn group_commit(rounds: usize, n: usize) {
    const WRITERS: usize = 8;
    let mut journals: Option<(std::path::PathBuf, Journal, Journal)> = None;
    let (many, one) = interleaved(rounds, n, 200, async |many_side, dir: &std::path::Path, ops| {
        if journals.as_ref().is_none_or(|(d, ..)| d != dir) {
            let open = |name: &str| Journal::open(&dir.join(name)).unwrap();
            journals = Some((dir.to_path_buf(), open("many.db"), open("one.db")));
        }
        let (_, many, one) = journals.as_ref().unwrap();
        if many_side { journal_block(many, ops, WRITERS).await } else { journal_block(one, ops, 1).await }
    })
    .await;
    let what = format!(
        "group commit, {n} operations a side × {rounds} rounds in blocks of 200: {WRITERS} writers at once against one (Journal::enqueue, each told once durable)"
    );
    report(&what, "group_commit_8_vs_1", (&format!("{WRITERS} writers"), many), ("1 writer", one), 3.0);
}

/// Setup of a drain (not timed): `n` queued operations, each with the sale it updates
/// once the acquirer answers, written in one transaction.
fn queue(path: &std::path::Path, n: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    for i in 0..n {
        let o = op(i);
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

/// CPU time (user + system) of a process or thread from its `stat` file, in seconds
/// (Linux's USER_HZ is 100).
fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time of this process's journal thread.
fn journal_thread_cpu() -> f64 {
    let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten();
    tasks
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "journal"))
        .map(|t| cpu_seconds(&t.path().join("stat").to_string_lossy()))
        .sum()
}

/// One drain of `n` operations: the time until the sync worker has written every answer,
/// the CPU seconds of this process, of its journal threads and of the acquirer, and the
/// peak RSS of this process while it drained.
async fn drain_once(n: usize) -> (f64, f64, f64, f64, u64) {
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
    queue(&path, n);
    let backend = AcquirerClient::with_settings(ClientSettings {
        base_url: url,
        api_key: KEY.into(),
        timeout: Duration::from_secs(30),
        retry: RetryPolicy::default(),
        ..ClientSettings::default()
    })
    .unwrap();
    let metrics = Arc::new(posagent::metrics::Metrics::default());
    let handle = SyncHandle::new(journal.clone(), backend, SyncSettings::default(), metrics);
    // Told of each finished operation, as the register's event stream is: no polling
    // of the journal while it drains.
    let finished = Arc::new((std::sync::atomic::AtomicUsize::new(0), tokio::sync::Notify::new()));
    let seen = finished.clone();
    let publish = Arc::new(move |_: &posagent::store::Patched| {
        seen.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        seen.1.notify_one();
    });
    let worker = SyncWorker::new(&handle, publish);
    let stop = tokio_util::sync::CancellationToken::new();
    let child_stat = format!("/proc/{}/stat", child.id());
    // The peak RSS from here on (5: reset VmHWM to the current RSS).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (cpu0, journal0, sim0) = (cpu_seconds("/proc/self/stat"), journal_thread_cpu(), cpu_seconds(&child_stat));
    let t = Instant::now();
    let task = tokio::spawn(worker.run(stop.clone()));
    while finished.0.load(std::sync::atomic::Ordering::Relaxed) < n {
        if tokio::time::timeout(Duration::from_secs(2), finished.1.notified()).await.is_err() {
            eprintln!("  … {:?} after {:?}", journal.queue_summary().await.unwrap(), t.elapsed());
        }
    }
    let took = t.elapsed().as_secs_f64();
    let rss = peak_rss_kib();
    let cpu = (cpu_seconds("/proc/self/stat") - cpu0, journal_thread_cpu() - journal0, cpu_seconds(&child_stat) - sim0);
    let s = journal.queue_summary().await.unwrap();
    assert_eq!((s.pending, s.dead), (0, 0), "the acquirer refused some: {s:?}");
    stop.cancel();
    task.await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    (took, cpu.0, cpu.1, cpu.2, rss)
}

async fn drain(n: usize, rounds: usize) {
    let mut runs = vec![];
    for _ in 0..rounds {
        runs.push(drain_once(n).await);
    }
    let (m, lo, hi) = stats(runs.iter().map(|r| r.0).collect());
    let (cpu, journal, sim) = (
        stats(runs.iter().map(|r| r.1).collect()).0,
        stats(runs.iter().map(|r| r.2).collect()).0,
        stats(runs.iter().map(|r| r.3).collect()).0,
    );
    println!("drain {n} queued offline card authorizations to the simulated acquirer (child process, loopback):");
    println!(
        "  median {m:.2} s (min {lo:.2}, max {hi:.2}) over {rounds} rounds = {:.0} operations/s (goal ≤ 1 s)",
        n as f64 / m
    );
    println!(
        "  CPU while draining (medians): this process {cpu:.2} s, of it the journal thread {journal:.2} s; the simulated acquirer {sim:.2} s"
    );
    let rss = runs.iter().map(|r| r.4).max().unwrap_or(0);
    println!(
        "  peak RSS of this process while draining (journal, sync worker, client; highest of the rounds): {rss} KiB (goal ≤ 25 MiB = 25600 KiB)"
    );
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
    // PARTS: which figures, of enqueue, group and drain (all by default; .ci/ratio runs
    // the first two).
    let parts = std::env::var("PARTS").unwrap_or_else(|_| "enqueue,group,drain".into());
    rt.block_on(async {
        if parts.contains("enqueue") {
            enqueue_rates(env("ROUNDS", 5), env("ENQUEUE", 1000)).await;
        }
        if parts.contains("group") {
            group_commit(env("ROUNDS", 5), env("GROUP", 1600)).await;
        }
        if parts.contains("drain") {
            drain(env("DRAIN", 10_000), env("ROUNDS", 5).min(3)).await;
        }
    });
}
