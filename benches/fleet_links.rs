//! 10,000 simulated fleet links against one broker (issue #24, docs/fleet.md): lightweight
//! clients (benches/fleet_links/link.rs, the spec's client side, not src/fleet's
//! terminal) on one Mosquitto 2.0.11 started here with packaging/fleet's TLS, client
//! certificates and ACL (plus the pushed configuration's lines), spread over `STORES`
//! stores of one chain. Measures: the time to connect all (and the rate), the broker's
//! RSS with all connected; a chain config document pushed retained by an operator — its
//! fan-out (per-link receive latency) and the time until the operator, watching
//! `posagent/+/+/+/state`, has seen every state name the new version; a second push at
//! `{"rollout": {"percent": 10}}` and how many take it; then the broker killed (SIGKILL)
//! and started again on its port, the links reconnecting with the terminal's jittered
//! backoff: the reconnections per 100 ms, the peak second, the time until all are back
//! and the failed attempts. `LINKS` (or the first argument; default 10,000), `STORES`
//! (100), `CONNECTING` (connections being set up at once at the start, 64: under
//! Mosquitto's listen backlog of 100); `RESTART_ON_APPLY=1`: a link taking a new version
//! ends its connection (farewell, DISCONNECT) and connects again at once, as the
//! terminal's restart into it would; `RECONNECT_WINDOW_SECS=S`: the first attempt after
//! the loss drawn in 0–S s instead of the terminal's 0–0.5 s (a policy to compare).
//! `cargo bench --profile ratio --bench fleet_links`; figures in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "fleet_links/broker.rs"]
mod broker;
mod common;
#[path = "fleet_links/link.rs"]
mod link;
#[path = "fleet_links/operator.rs"]
mod operator;
#[path = "fleet_links/pki.rs"]
mod pki;
#[path = "fleet_links/report.rs"]
mod report;

use broker::Broker;
use link::{Ev, Kind, Link};
use posagent::fleet::TerminalPath;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

const CHAIN: &str = "acme";

/// The run's settings.
struct Setup {
    links: usize,
    stores: usize,
    connecting: usize,
    behaviour: link::Behaviour,
}

fn setup() -> Setup {
    let arg = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let links = arg.unwrap_or_else(|| common::env_count("LINKS", 10_000));
    Setup {
        links,
        stores: common::env_count("STORES", 100),
        connecting: common::env_count("CONNECTING", 64),
        behaviour: link::Behaviour {
            restart_on_apply: common::env_count("RESTART_ON_APPLY", 0) == 1,
            first_window: Duration::from_secs(common::env_count("RECONNECT_WINDOW_SECS", 0) as u64),
        },
    }
}

/// Link `i`'s identity: terminal `t{i}` of store `s-{i mod stores}`.
fn path_of(i: usize, stores: usize) -> TerminalPath {
    TerminalPath { chain: CHAIN.to_string(), store: format!("s-{:03}", i % stores), terminal: format!("t{i:05}") }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run());
}

async fn run() {
    let Setup { links, stores, connecting, behaviour } = setup();
    if broker::mosquitto().is_none() {
        eprintln!("SKIPPED fleet_links: the mosquitto binary is absent; install: apt-get install -y mosquitto");
        return;
    }
    assert_eq!(link::crc32(b"123456789"), 0xCBF4_3926, "CRC-32/ISO-HDLC's check value");
    let fd_limit = broker::open_files_limit("/proc/self/limits");
    assert!(fd_limit as usize > links + 200, "{links} links need more open files than {fd_limit} (ulimit -n)");
    let dir = tempfile::tempdir().unwrap();
    let made = Instant::now();
    let pki = pki::Pki::new(dir.path());
    let tls: Vec<_> = (0..links).map(|i| pki.client(&path_of(i, stores).to_string())).collect();
    println!(
        "fleet_links: {links} links over {stores} stores of `{CHAIN}`; {links} client certificates made in {:.2?}",
        made.elapsed()
    );
    let mut broker = Broker::start(dir.path()).await;
    println!("mosquitto pid {}, open files limit {} (the bench's {fd_limit})", broker.pid(), broker.open_files_limit());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let operator = operator::Operator::start(broker.port, pki.client("operator-alice"), tx.clone());

    let mut tasks = tokio::task::JoinSet::new();
    let gate = Arc::new(Semaphore::new(connecting));
    let started = Instant::now();
    let overflows = broker::listen_overflows();
    let cpu = (broker::cpu_secs(&broker.pid().to_string()), broker::cpu_secs("self"));
    for (i, tls) in tls.into_iter().enumerate() {
        let permit = gate.clone().acquire_owned().await.unwrap();
        tasks.spawn(Link::new(i, path_of(i, stores), broker.port, tls, tx.clone(), permit, behaviour).run());
    }
    let rate = connect_all(&mut rx, links, started, &broker).await;
    println!(
        "  connections dropped by the full listen queue (the kernel's ListenOverflows): {}",
        broker::listen_overflows() - overflows
    );
    cpu_line(&broker, cpu, started);
    let (listed, took) = operator::status(broker.port, pki.client("operator-bob"), links).await;
    println!(
        "status: a second operator's subscription to every state got {listed} of {links} retained states in {took:.2?}"
    );
    push_to_all(&mut rx, &operator, links).await;
    push_to_ten_percent(&mut rx, &operator, links, stores).await;
    restart(&mut rx, &mut broker, links, rate).await;
    tasks.abort_all();
}

/// Receives events until `done` says so or `limit` passes; returns them and whether done.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Ev>,
    limit: Duration,
    mut done: impl FnMut(&Ev) -> bool,
) -> (Vec<Ev>, bool) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = vec![];
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                let finished = done(&ev);
                seen.push(ev);
                if finished {
                    return (seen, true);
                }
            }
            _ => return (seen, false),
        }
    }
}

/// Counts distinct links for which `pick` holds; `true` once all `n` have been counted.
fn distinct(n: usize, mut pick: impl FnMut(&Ev) -> bool) -> impl FnMut(&Ev) -> bool {
    let (mut flags, mut count) = (vec![false; n], 0);
    move |ev| {
        if ev.id < n && !flags[ev.id] && pick(ev) {
            flags[ev.id] = true;
            count += 1;
        }
        count == n
    }
}

/// All links connected, and seen online by the operator; returns the connections a second.
async fn connect_all(rx: &mut mpsc::UnboundedReceiver<Ev>, n: usize, started: Instant, broker: &Broker) -> f64 {
    let mut connected = distinct(n, |e| matches!(e.kind, Kind::Connected));
    let mut online = distinct(n, |e| matches!(e.kind, Kind::Observed { online: true, .. }));
    let (mut all_connected, mut all_online) = (None, None);
    let (events, ok) = collect(rx, Duration::from_secs(120), |e| {
        if connected(e) && all_connected.is_none() {
            all_connected = Some(e.at);
        }
        if online(e) && all_online.is_none() {
            all_online = Some(e.at);
        }
        all_connected.is_some() && all_online.is_some()
    })
    .await;
    let failed = events.iter().filter(|e| matches!(e.kind, Kind::Lost | Kind::Failed)).count();
    let Some(all) = all_connected else {
        let count = events.iter().filter(|e| matches!(e.kind, Kind::Connected)).count();
        panic!("only {count} of {n} connected within 180 s ({failed} failures)\n{}", broker.log_tail());
    };
    let took = all - started;
    println!(
        "connect: all {n} connected in {took:.2?} ({:.0}/s), {failed} failed attempts; the operator saw all online {}",
        n as f64 / took.as_secs_f64(),
        all_online.map_or("-".to_string(), |t| format!("at {:.2?}", t - started)),
    );
    if !ok {
        let mut ids = std::collections::HashSet::new();
        let observed =
            events.iter().filter(|e| matches!(e.kind, Kind::Observed { online: true, .. }) && ids.insert(e.id));
        println!("  the operator saw {} of {n} online within 120 s", observed.count());
        println!("{}", broker.log_of("operator-alice"));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "memory with {n} connected: mosquitto RSS {:.1} MiB ({:.1} KiB a link), the bench's RSS {:.1} MiB",
        broker.rss_kib() as f64 / 1024.0,
        broker.rss_kib() as f64 / n as f64,
        broker::status_kib("/proc/self/status", "VmRSS:") as f64 / 1024.0,
    );
    n as f64 / took.as_secs_f64()
}

/// The first chain document (every terminal): fan-out and the operator's view of it.
async fn push_to_all(rx: &mut mpsc::UnboundedReceiver<Ev>, operator: &operator::Operator, n: usize) {
    drain(rx);
    let doc = json!({
        "version": "2026-12-04.1",
        "toml": "[offline]\nfloor_limit = 20000\n",
        "rollout": null,
        "previous": null,
        "pushed_at_ms": posagent::domain::now_ms(),
    });
    let pushed = operator.push_chain(CHAIN, doc).await;
    let v1 = Some("2026-12-04.1".to_string());
    let mut seen = distinct(n, |e| matches!(&e.kind, Kind::Observed { chain, .. } if *chain == v1));
    let (events, ok) = collect(rx, Duration::from_secs(60), |e| seen(e)).await;
    let received =
        report::latencies(&events, pushed, |k| matches!(k, Kind::Document { layer: 0, version } if *version == v1));
    let reported = report::latencies(&events, pushed, |k| matches!(k, Kind::Observed { chain, .. } if *chain == v1));
    let published = events.iter().filter(|e| matches!(&e.kind, Kind::Reported { chain } if *chain == v1)).count();
    println!("push 1 (chain document, every terminal; {published} links published a state naming it):");
    println!("  {}", common::latency_line("received by the link", received.clone()));
    println!("  {}", common::latency_line("its state naming it seen by the operator", reported.clone()));
    println!(
        "  all {n} received it {:.2?} after the push; the operator saw all {n} report it at {:.2?} (of it {:.0?} the links' settle)",
        received.iter().max().copied().unwrap_or_default(),
        reported.iter().max().copied().unwrap_or_default(),
        link::SETTLE
    );
    assert!(ok && received.len() == n, "{} received, {} reported", received.len(), reported.len());
}

/// The second chain document at 10 %: who takes it, against the buckets.
async fn push_to_ten_percent(
    rx: &mut mpsc::UnboundedReceiver<Ev>,
    operator: &operator::Operator,
    n: usize,
    stores: usize,
) {
    drain(rx);
    let expected = (0..n).filter(|&i| link::bucket(&path_of(i, stores).to_string()) < 10).count();
    let doc = json!({
        "version": "2026-12-04.2",
        "toml": "[offline]\nfloor_limit = 30000\n",
        "rollout": {"percent": 10},
        "previous": {"version": "2026-12-04.1", "toml": "[offline]\nfloor_limit = 20000\n"},
        "pushed_at_ms": posagent::domain::now_ms(),
    });
    let pushed = operator.push_chain(CHAIN, doc).await;
    let v2 = Some("2026-12-04.2".to_string());
    let mut count = 0;
    let (mut events, _) = collect(rx, Duration::from_secs(60), |e| {
        count += usize::from(matches!(&e.kind, Kind::Observed { chain, .. } if *chain == v2));
        count >= expected
    })
    .await;
    // Anyone outside the rollout who took it would report within the settle: wait longer.
    let (late, _) = collect(rx, link::SETTLE * 4, |_| false).await;
    events.extend(late);
    let received = report::latencies(&events, pushed, |k| matches!(k, Kind::Document { layer: 0, .. }));
    let took = report::latencies(&events, pushed, |k| matches!(k, Kind::Observed { chain, .. } if *chain == v2));
    let others = events.iter().filter(|e| matches!(&e.kind, Kind::Observed { chain, .. } if *chain != v2)).count();
    println!("push 2 (rollout 10 %, previous = push 1):");
    println!("  {}", common::latency_line("received by the link", received.clone()));
    println!(
        "  {} of {n} reported the new version ({:.1} %; buckets < 10: {expected}), {others} other states published; {}",
        took.len(),
        100.0 * took.len() as f64 / n as f64,
        common::latency_line("seen by the operator", took.clone())
    );
    assert_eq!(took.len(), expected, "the links that took it are not the buckets below 10");
}

/// The CPU time the broker and the bench took since `cpu` was read at `since`.
fn cpu_line(broker: &Broker, (broker_cpu, own_cpu): (f64, f64), since: Instant) {
    println!(
        "  CPU since then: mosquitto {:.1} s, the bench (links and operator) {:.1} s, in {:.1} s of wall time on {} cores",
        broker::cpu_secs(&broker.pid().to_string()) - broker_cpu,
        broker::cpu_secs("self") - own_cpu,
        since.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}

/// Events left from before: not this phase's.
fn drain(rx: &mut mpsc::UnboundedReceiver<Ev>) {
    while rx.try_recv().is_ok() {}
}

/// SIGKILL to the broker with all connected, started again at once: the reconnections.
async fn restart(rx: &mut mpsc::UnboundedReceiver<Ev>, broker: &mut Broker, n: usize, rate: f64) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    drain(rx);
    let overflows = broker::listen_overflows();
    let killed = broker.kill_and_restart();
    let own_cpu = broker::cpu_secs("self");
    let up = broker.listening().await;
    let mut back = distinct(n, |e| matches!(e.kind, Kind::Connected));
    let (events, ok) = collect(rx, Duration::from_secs(240), |e| back(e)).await;
    println!("broker restart (SIGKILL, started again at once; it listened {:.2?} after the kill):", up - killed);
    report::reconnections(&events, killed, n, rate, broker::listen_overflows() - overflows);
    cpu_line(broker, (0.0, own_cpu), killed);
    let documents = events.iter().filter(|e| matches!(e.kind, Kind::Document { layer: 0, version: Some(_) })).count();
    println!(
        "  the chain's config document after the restart: {documents} of {n} links got it again \
         (Mosquitto saves its retained messages at a clean stop and every autosave_interval, 1800 s by default)"
    );
    assert!(ok, "not all {n} links came back within 240 s");
}
