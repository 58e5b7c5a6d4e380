//! A register written from `docs/ecr-api.md`: it sells (Klarna, card, the customer's
//! choice), captures, voids, returns and tries unpaid sales again, resends whatever got
//! no answer, and books every promise the daemon made to it — the third side the crash
//! harness compares with the terminal's journal and the acquirer's ledger.

pub mod audit;
pub mod chaos;
pub mod link;
mod money;
mod sale;

use crate::common::process::Setup;
use link::Link;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

static TIMELINE: Mutex<Vec<String>> = Mutex::new(Vec::new());
static START: OnceLock<Instant> = OnceLock::new();

/// Notes what happened when, for the report of a failed run.
pub fn log(what: impl std::fmt::Display) {
    let at = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    TIMELINE.lock().unwrap().push(format!("{at:9.3} {what}"));
}

/// Everything [`log`]ged so far.
pub fn timeline() -> Vec<String> {
    TIMELINE.lock().unwrap().clone()
}

/// An order line as the register sold it.
#[derive(Clone, Debug)]
pub struct Line {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
}

/// What the register was told about one sale.
#[derive(Clone, Debug, Default)]
pub struct SaleBook {
    pub reference: String,
    pub id: String,
    pub amount: i64,
    pub later: bool,
    pub method: String,
    pub lines: Vec<Line>,
    /// The last state the register read or was answered.
    pub state: String,
    /// Told `APPROVED` (the customer paid).
    pub approved: bool,
    /// Approved by the terminal while offline (`"offline": "QUEUED"`).
    pub offline: bool,
    /// Told afterwards that the offline approval was declined when forwarded.
    pub revoked: bool,
    pub retryable: bool,
    pub retried: bool,
    /// No final state seen while the register drove it (read again at the end).
    pub unresolved: bool,
    /// Captures promised (200/202; a `NOW` sale: its amount at approval).
    pub captured: i64,
    pub voided: bool,
    /// Refunds promised (returns answered 200/201/202).
    pub refunded: i64,
    /// Quantities returned by line, promised.
    pub returned: HashMap<String, i64>,
}

impl SaleBook {
    /// Paid as far as the register knows.
    pub fn paid(&self) -> bool {
        self.approved && !self.revoked
    }

    pub fn refundable(&self) -> i64 {
        self.captured - self.refunded
    }

    pub fn capturable(&self) -> bool {
        self.paid() && self.later && !self.voided && self.captured < self.amount
    }
}

/// What the register was told about one return it asked for.
#[derive(Clone, Debug)]
pub struct ReturnBook {
    pub reference: String,
    pub original: String,
    pub amount: i64,
    /// The HTTP status of the answer the register believes.
    pub status: u16,
    pub state: String,
}

/// Everything the register was promised, and what contradicted its own books.
#[derive(Default, Debug)]
pub struct Book {
    pub sales: BTreeMap<String, SaleBook>,
    pub returns: BTreeMap<String, ReturnBook>,
    /// The register's own contradictions (a resend answered differently, a refusal
    /// that should have been an acceptance and the other way round): counted as mismatches.
    pub notes: Vec<String>,
    /// Refusals by code, for the summary.
    pub refusals: BTreeMap<String, usize>,
    /// Returns over what is left, refused as they must be.
    pub over_refused: usize,
}

impl Book {
    pub fn note(&mut self, what: String) {
        eprintln!("register: {what}");
        self.notes.push(what);
    }

    pub fn refused(&mut self, what: &str, status: u16, code: &str) {
        *self.refusals.entry(format!("{what} {status} {code}")).or_default() += 1;
    }
}

pub struct Register {
    pub setup: Arc<Setup>,
    pub link: Link,
    pub rng: fastrand::Rng,
    pub book: Book,
    /// Register operations by kind (commands to the daemon, customer and card actions).
    pub tally: BTreeMap<&'static str, usize>,
    /// All operations, for the killer's schedule.
    pub ops: Arc<AtomicUsize>,
    /// Faults aimed at one command, by kind.
    pub strikes: BTreeMap<&'static str, usize>,
    next: usize,
}

impl Register {
    pub fn new(setup: Arc<Setup>, link: Link, seed: u64) -> Register {
        Register {
            setup,
            link,
            rng: fastrand::Rng::with_seed(seed),
            book: Book::default(),
            tally: BTreeMap::new(),
            ops: Arc::default(),
            strikes: BTreeMap::new(),
            next: 0,
        }
    }

    fn count(&mut self, kind: &'static str) {
        *self.tally.entry(kind).or_default() += 1;
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    fn next_ref(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{:05}", self.next)
    }

    pub fn operations(&self) -> usize {
        self.ops.load(Ordering::Relaxed)
    }

    /// A random sale of the register's books matching `keep`.
    fn pick(&mut self, keep: impl Fn(&SaleBook) -> bool) -> Option<String> {
        let refs: Vec<&String> = self.book.sales.values().filter(|s| keep(s)).map(|s| &s.reference).collect();
        (!refs.is_empty()).then(|| refs[self.rng.usize(..refs.len())].clone())
    }

    /// Now and then, right before a command that moves money, the outside world strikes
    /// at that very request: its answer lost after the acquirer committed it, the
    /// acquirer's write path cut, or its path answering 5xx (the fault switcher replaces
    /// it within seconds).
    async fn strike(&mut self, path_5xx: &str) {
        if self.rng.u32(0..100) >= 15 {
            return;
        }
        let mut f = chaos::no_faults();
        let kind = match self.rng.u32(0..10) {
            0..=6 => {
                f["drop_response_next"] = serde_json::json!(1);
                "strike_drop_response"
            }
            7 => {
                f["partition_posts"] = serde_json::json!(true);
                "strike_partition_posts"
            }
            _ => {
                f["error_5xx_rate"] = serde_json::json!(1.0);
                f["error_5xx_path"] = serde_json::json!(path_5xx);
                "strike_5xx"
            }
        };
        chaos::post_faults(&self.setup.http, &self.setup.sim.backend_url, &f).await;
        log(format!("{kind}: {f}"));
        *self.strikes.entry(kind).or_default() += 1;
    }

    /// Reads an offline-approved sale again before acting on it or on a refusal: what
    /// the event stream tells a register that follows it (declined when forwarded).
    async fn refresh(&mut self, reference: &str) {
        if self.book.sales.get(reference).is_some_and(|b| b.offline && !b.revoked) {
            let a = self.link.get(&format!("/v1/sales/{reference}")).await;
            if a.status == 200 {
                self.record_sale(reference, &a.body);
            }
        }
    }

    /// One register operation, chosen at random among those that make sense now.
    pub async fn step(&mut self) {
        let roll = self.rng.u32(0..100);
        let done = match roll {
            0..=33 => false,
            34..=41 => self.retry_unpaid().await,
            42..=57 => self.capture().await,
            58..=62 => self.void().await,
            63..=87 => self.return_one().await,
            _ => self.returns_at_once().await,
        };
        if !done {
            self.new_sale().await;
        }
    }

    /// After the run, back online: every sale the register left open is driven to its end.
    pub async fn settle_sales(&mut self) {
        let open: Vec<String> =
            self.book.sales.values().filter(|s| s.unresolved).map(|s| s.reference.clone()).collect();
        for reference in open {
            let plan = sale::Plan::random(&mut self.rng, "CARD");
            self.drive(&reference, &plan).await;
        }
    }

    /// The register reads every sale and return it knows once more: what it is told now
    /// (an offline approval declined when forwarded, a queued refund done) it believes.
    pub async fn read_back(&mut self) {
        let refs: Vec<String> = self.book.sales.keys().cloned().collect();
        for reference in refs {
            let a = self.link.get(&format!("/v1/sales/{reference}")).await;
            if a.status == 200 {
                self.record_sale(&reference, &a.body);
            }
        }
        let refs: Vec<String> = self.book.returns.keys().cloned().collect();
        for reference in refs {
            let a = self.link.get(&format!("/v1/returns/{reference}")).await;
            if let (200, Some(r)) = (a.status, self.book.returns.get_mut(&reference)) {
                r.state = a.body["state"].as_str().unwrap_or_default().to_string();
            }
        }
    }

    /// Queue sync, as store IT would ask for it.
    pub async fn sync_queue(&mut self) -> u16 {
        self.count("queue_sync");
        self.link.post("/v1/queue/sync", None, None).await.status
    }
}
