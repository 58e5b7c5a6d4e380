//! Crash safety, from the published documents only: the daemon runs as a real process
//! against the simulated acquirer, card reader, display and printer. A register
//! (`tests/common/register/`) sells with Klarna and every test card, captures, voids,
//! returns by line and by amount, tries unpaid sales again, and resends whatever got no
//! answer; meanwhile every fault of `POST /sim/faults` is switched on and off during the
//! run, and the daemon is killed with SIGKILL at random moments, the journal's integrity
//! checked after each kill. At the end, back online, the queue drains and three sides must
//! agree: what the daemon promised the register, the terminal's journal and the acquirer's
//! ledger — nothing lost, doubled, phantom, stuck or mismatched.
//!
//! `CRASH_SEED=<u64>` replays a run's choices; `CRASH_KILLS=N CRASH_OPERATIONS=M` sizes it
//! (default 20 kills, 400 operations). See `docs/reliability.md`.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
// Parts of the register's record are for the dump of a failed run only.
#[allow(dead_code)]
#[path = "common/register/mod.rs"]
mod register;

use common::process::{Setup, ledger, setup};
use register::Register;
use register::audit::{Journal, audit};
use register::chaos::{Killer, no_faults, post_faults, switch_faults};
use register::link::Link;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the queue may take to drain once the network is back.
const SETTLE: Duration = Duration::from_secs(90);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// Polls the journal until nothing is open or queued (or the deadline passed), asking
/// for a sync now and then and finishing any sale the register left.
async fn settle(s: &Setup, reg: &mut Register) {
    let deadline = Instant::now() + SETTLE;
    let mut last_sync = Instant::now();
    reg.settle_sales().await;
    reg.sync_queue().await;
    while Instant::now() < deadline {
        if Journal::read(&s.data).open_items().is_empty() {
            return;
        }
        if last_sync.elapsed() > Duration::from_secs(3) {
            reg.sync_queue().await;
            reg.settle_sales().await;
            last_sync = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn counts<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m
}

/// Keeps what a failed run leaves for its report: the timeline, the ledger, the register's
/// books and the journal.
fn dump(s: &Setup, seed: u64, reg: &Register, ledger: &[serde_json::Value]) {
    let dir = std::env::temp_dir().join(format!("posagent-crash-{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("timeline.txt"), register::timeline().join("\n")).unwrap();
    std::fs::write(dir.join("ledger.json"), serde_json::to_string_pretty(ledger).unwrap()).unwrap();
    std::fs::write(dir.join("book.txt"), format!("{:#?}", reg.book)).unwrap();
    for f in ["posagent.db", "posagent.db-wal", "posagent.db-shm"] {
        let _ = std::fs::copy(s.data.join(f), dir.join(f));
    }
    eprintln!("the run's timeline, ledger, books and journal: {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_moments_loses_and_doubles_nothing() {
    let seed = env_number("CRASH_SEED", fastrand::u64(..));
    eprintln!("CRASH_SEED={seed}");
    let kills = usize::try_from(env_number("CRASH_KILLS", 20)).unwrap();
    let operations = usize::try_from(env_number("CRASH_OPERATIONS", 400)).unwrap();
    let started = Instant::now();
    let s = Arc::new(setup().await);

    let mut killer = Killer::start(s.clone()).await;
    let mut reg = Register::new(s.clone(), Link::new(killer.endpoint.subscribe()), seed);
    let stop = Arc::new(AtomicBool::new(false));
    let faults = tokio::spawn(switch_faults(
        s.http.clone(),
        s.sim.backend_url.clone(),
        stop.clone(),
        fastrand::Rng::with_seed(seed ^ 0x5bd1_e995),
    ));
    let (ops, posts, done) = (reg.ops.clone(), reg.link.posts_in_flight.clone(), Arc::new(AtomicBool::new(false)));
    let killing = {
        let done = done.clone();
        let rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9);
        tokio::spawn(async move {
            killer.run(ops, posts, done, (kills, operations), rng).await;
            killer
        })
    };
    while reg.operations() < operations {
        reg.step().await;
    }
    done.store(true, Ordering::Relaxed);
    let mut killer = killing.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let switched = faults.await.unwrap();
    let ran = started.elapsed();

    // Back online: a last restart, the queue drains, every sale ends.
    post_faults(&s.http, &s.sim.backend_url, &no_faults()).await;
    let kills_done = killer.kills;
    killer.kill_and_restart().await;
    settle(&s, &mut reg).await;
    reg.read_back().await;
    killer.stop();

    let ledger = ledger(&s).await;
    let journal = Journal::read(&s.data);
    let findings = audit(&reg.book, &journal, &ledger);
    let sales = counts(journal.sales.values().map(|x| x.state.as_str()));
    let returns = counts(journal.returns.values().map(|x| x.state.as_str()));
    let offline = journal.sales.values().filter(|x| x.data["offline"].is_string()).count();
    eprintln!("refusals: {:?}", reg.book.refusals);
    eprintln!("{}", reg.link.stats.line());
    if !findings.other_kinds.is_empty() {
        eprintln!("ledger kinds not compared: {:?}", findings.other_kinds);
    }
    eprintln!(
        "SUMMARY seed {seed}: {} operations {:?}; kills {kills_done} ({} aimed at a command, +1 to settle); faults switched {} {switched:?}, struck at a command {:?}; \
         sales {sales:?} ({offline} offline); returns {returns:?} ({} over what was left, refused); \
         ledger entries {}; {}; run {ran:.1?}, elapsed {:.1?}",
        reg.operations(),
        reg.tally,
        killer.aimed,
        switched.values().sum::<usize>(),
        reg.strikes,
        reg.book.over_refused,
        ledger.len(),
        findings.counters(),
        started.elapsed()
    );
    let keep = std::env::var_os("CRASH_KEEP").is_some();
    if keep || !findings.zero() || !killer.integrity_failures.is_empty() {
        dump(&s, seed, &reg, &ledger);
    }
    assert!(killer.integrity_failures.is_empty(), "journal damaged: {:?}", killer.integrity_failures);
    assert!(findings.zero(), "seed {seed}:\n{}", findings.details());
    assert_eq!(kills_done, kills, "the run ended before every kill");
    let approved = sales.get("APPROVED").copied().unwrap_or(0);
    assert!(approved >= operations / 50 && !returns.is_empty(), "the run exercised too little");
}

/// A paid sale of 1000 with a refunded return of 300, the same on all three sides.
fn clean_picture() -> (register::Book, Journal, Vec<serde_json::Value>) {
    use register::audit::{JReturn, JSale};
    use register::{Book, ReturnBook, SaleBook};
    use serde_json::json;
    let mut book = Book::default();
    let sale = SaleBook {
        reference: "S1".into(),
        amount: 1000,
        state: "APPROVED".into(),
        approved: true,
        captured: 1000,
        refunded: 300,
        ..SaleBook::default()
    };
    book.sales.insert("S1".into(), sale);
    let ret = ReturnBook {
        reference: "R1".into(),
        original: "S1".into(),
        amount: 300,
        status: 201,
        state: "REFUNDED".into(),
    };
    book.returns.insert("R1".into(), ret);
    let data = json!({"amount": 1000, "captured_amount": 1000, "voided": false, "offline": null});
    let journal = Journal {
        sales: [("S1".into(), JSale { id: "id1".into(), state: "APPROVED".into(), data })].into(),
        returns: [(
            "R1".into(),
            JReturn { original: "S1".into(), state: "REFUNDED".into(), amount: 300, key: "k-r".into() },
        )]
        .into(),
        outbox: vec![],
        keys: ["k-a".to_string(), "k-r".to_string()].into(),
    };
    let entry = |kind: &str, amount: i64, key: &str| json!({"kind": kind, "reference": "S1", "amount": amount, "idempotency_key": key});
    let ledger = vec![entry("AUTHORIZATION", 1000, "k-a"), entry("CAPTURE", 1000, "k-a"), entry("REFUND", 300, "k-r")];
    (book, journal, ledger)
}

/// The audit itself, without a daemon: a clean three-way picture passes, and each planted
/// fault is counted where it belongs.
#[test]
fn the_audit_counts_what_is_planted() {
    use register::Book;
    use register::audit::{Findings, JOp};
    use serde_json::{Value, json};
    let check = |change: &dyn Fn(&mut Book, &mut Journal, &mut Vec<Value>), counter: fn(&Findings) -> usize| {
        let (mut b, mut j, mut l) = clean_picture();
        change(&mut b, &mut j, &mut l);
        counter(&audit(&b, &j, &l))
    };
    let (b, j, l) = clean_picture();
    assert!(audit(&b, &j, &l).zero(), "{}", audit(&b, &j, &l).details());
    assert!(check(&|_, _, l| drop(l.pop()), |f| f.lost.len()) > 0, "a promised refund not booked is lost");
    let twice = |_: &mut Book, _: &mut Journal, l: &mut Vec<Value>| {
        l.push(json!({"kind": "AUTHORIZATION", "reference": "S1", "amount": 1000, "idempotency_key": "k-a"}));
    };
    assert!(check(&twice, |f| f.doubled.len()) > 0, "a key booked twice is doubled");
    let foreign = |_: &mut Book, _: &mut Journal, l: &mut Vec<Value>| l[2]["idempotency_key"] = json!("k-x");
    assert!(check(&foreign, |f| f.phantom.len()) > 0, "a key the terminal never stored is phantom");
    let untold = |b: &mut Book, _: &mut Journal, _: &mut Vec<Value>| b.sales.get_mut("S1").unwrap().approved = false;
    assert!(check(&untold, |f| f.phantom.len()) > 0, "money the register was not told of is phantom");
    let open =
        |_: &mut Book, j: &mut Journal, _: &mut Vec<Value>| j.sales.get_mut("S1").unwrap().state = "AUTHORIZING".into();
    assert!(check(&open, |f| f.stuck.len()) > 0, "an open sale is stuck");
    let amounts = |_: &mut Book, j: &mut Journal, _: &mut Vec<Value>| {
        j.sales.get_mut("S1").unwrap().data["captured_amount"] = json!(900)
    };
    assert!(check(&amounts, |f| f.mismatches.len()) > 0, "journal and ledger amounts must match");
    let dead = |_: &mut Book, j: &mut Journal, _: &mut Vec<Value>| {
        j.outbox.push(JOp { group: "id1".into(), kind: "REFUND".into(), state: "DEAD".into(), last_error: "x".into() });
    };
    assert!(check(&dead, |f| f.dead_unexplained.len()) > 0, "a dead refund of a paid sale is unexplained");
    // An offline approval declined when forwarded, the register told: explained, nothing owed.
    let (mut b, mut j, _) = clean_picture();
    let s1 = b.sales.get_mut("S1").unwrap();
    (s1.offline, s1.revoked) = (true, true);
    b.returns.get_mut("R1").unwrap().state = "REFUSED".into();
    j.sales.get_mut("S1").unwrap().data["offline"] = json!("DECLINED");
    j.returns.get_mut("R1").unwrap().state = "REFUSED".into();
    j.outbox.push(JOp {
        group: "id1".into(),
        kind: "AUTHORIZE".into(),
        state: "DEAD".into(),
        last_error: "declined".into(),
    });
    let f = audit(&b, &j, &[]);
    assert!(f.zero() && f.dead_explained == 1, "{}", f.details());
}
