//! Three sides compared: the register's promises ([`Book`]), the terminal's journal
//! (`posagent.db`: `sales`, `returns`, `outbox`, `operations`) and the acquirer's ledger
//! (`GET /v1/ledger`).

use super::Book;
use super::sale::FINALS;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

pub struct JSale {
    pub id: String,
    pub state: String,
    pub data: Value,
}

impl JSale {
    fn int(&self, field: &str) -> i64 {
        self.data[field].as_i64().unwrap_or(0)
    }

    fn declined_offline(&self) -> bool {
        self.data["offline"] == "DECLINED"
    }

    fn paid(&self) -> bool {
        self.state == "APPROVED" && !self.declined_offline()
    }
}

pub struct JReturn {
    pub original: String,
    pub state: String,
    pub amount: i64,
    pub key: String,
}

pub struct JOp {
    pub group: String,
    pub kind: String,
    pub state: String,
    pub last_error: String,
}

/// The terminal's journal, read-only.
pub struct Journal {
    pub sales: BTreeMap<String, JSale>,
    pub returns: BTreeMap<String, JReturn>,
    pub outbox: Vec<JOp>,
    pub keys: HashSet<String>,
}

fn open(data: &Path) -> rusqlite::Connection {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    rusqlite::Connection::open_with_flags(data.join("posagent.db"), flags).unwrap()
}

fn rows<T>(db: &rusqlite::Connection, sql: &str, f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> Vec<T> {
    db.prepare(sql).unwrap().query_map([], f).unwrap().map(Result::unwrap).collect()
}

impl Journal {
    pub fn read(data: &Path) -> Journal {
        let db = open(data);
        let sales = rows(&db, "SELECT reference, id, state, data FROM sales", |r| {
            let data: String = r.get(3)?;
            Ok((r.get(0)?, JSale { id: r.get(1)?, state: r.get(2)?, data: serde_json::from_str(&data).unwrap() }))
        });
        let returns = rows(&db, "SELECT reference, original_reference, state, data FROM returns", |r| {
            let data: Value = serde_json::from_str(&r.get::<_, String>(3)?).unwrap();
            let ret = JReturn {
                original: r.get(1)?,
                state: r.get(2)?,
                amount: data["amount"].as_i64().unwrap_or(0),
                key: data["idempotency_key"].as_str().unwrap_or_default().to_string(),
            };
            Ok((r.get(0)?, ret))
        });
        let outbox = rows(&db, "SELECT group_key, kind, state, COALESCE(last_error, '') FROM outbox", |r| {
            Ok(JOp { group: r.get(0)?, kind: r.get(1)?, state: r.get(2)?, last_error: r.get(3)? })
        });
        let mut keys: HashSet<String> =
            rows(&db, "SELECT idempotency_key FROM operations UNION SELECT idempotency_key FROM outbox", |r| r.get(0))
                .into_iter()
                .collect();
        let returns: BTreeMap<String, JReturn> = returns.into_iter().collect();
        keys.extend(returns.values().map(|r| r.key.clone()));
        Journal { sales: sales.into_iter().collect(), returns, outbox, keys }
    }

    /// What is still open: sales not ended, returns pending, operations queued.
    pub fn open_items(&self) -> Vec<String> {
        let sales = self
            .sales
            .iter()
            .filter(|(_, s)| {
                !FINALS.contains(&s.state.as_str())
                    || s.int("queued_capture_amount") > 0
                    || s.data["void_queued"] == true
            })
            .map(|(r, s)| format!("sale {r} {} {}", s.state, s.data));
        let returns = self
            .returns
            .iter()
            .filter(|(_, r)| r.state == "PENDING")
            .map(|(r, x)| format!("return {r} of {}", x.original));
        let ops = self
            .outbox
            .iter()
            .filter(|o| o.state == "PENDING")
            .map(|o| format!("queued {} of {}: {}", o.kind, o.group, o.last_error));
        sales.chain(returns).chain(ops).collect()
    }
}

/// What the acquirer booked for one sale reference.
#[derive(Default, Debug)]
struct Booked {
    auths: Vec<i64>,
    caps: Vec<i64>,
    refunds: Vec<(String, i64)>,
    voids: usize,
}

impl Booked {
    fn captured(&self) -> i64 {
        self.caps.iter().sum()
    }

    fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.1).sum()
    }

    /// Nothing of it holds money: no authorization, or one voided or fully captured and
    /// all refunded (a reversal).
    fn neutral(&self) -> bool {
        let authorized: i64 = self.auths.iter().sum();
        self.captured() == self.refunded() && (self.auths.is_empty() || self.voids > 0 || self.captured() >= authorized)
    }
}

/// The findings; each counter must be zero.
#[derive(Default, Debug)]
pub struct Findings {
    pub lost: Vec<String>,
    pub doubled: Vec<String>,
    pub phantom: Vec<String>,
    pub stuck: Vec<String>,
    pub mismatches: Vec<String>,
    pub dead_unexplained: Vec<String>,
    pub dead_explained: usize,
    pub other_kinds: BTreeSet<String>,
}

impl Findings {
    pub fn zero(&self) -> bool {
        [&self.lost, &self.doubled, &self.phantom, &self.stuck, &self.mismatches, &self.dead_unexplained]
            .iter()
            .all(|v| v.is_empty())
    }

    pub fn counters(&self) -> String {
        format!(
            "lost {} doubled {} phantom {} stuck {} mismatches {} | dead letters {} explained, {} unexplained",
            self.lost.len(),
            self.doubled.len(),
            self.phantom.len(),
            self.stuck.len(),
            self.mismatches.len(),
            self.dead_explained,
            self.dead_unexplained.len()
        )
    }

    pub fn details(&self) -> String {
        let mut out = String::new();
        let all = [
            ("LOST", &self.lost),
            ("DOUBLED", &self.doubled),
            ("PHANTOM", &self.phantom),
            ("STUCK", &self.stuck),
            ("MISMATCH", &self.mismatches),
            ("DEAD LETTER", &self.dead_unexplained),
        ];
        for (name, list) in all {
            for item in list {
                out.push_str(&format!("{name}: {item}\n"));
            }
        }
        out
    }
}

/// The ledger by sale reference, and the keys booked more than once.
fn book_ledger(ledger: &[Value], f: &mut Findings) -> HashMap<String, Booked> {
    let mut by_ref: HashMap<String, Booked> = HashMap::new();
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for e in ledger {
        let reference = e["reference"].as_str().unwrap_or_default().to_string();
        let kind = e["kind"].as_str().unwrap_or_default().to_string();
        let key = e["idempotency_key"].as_str().unwrap_or_default().to_string();
        let amount = e["amount"].as_i64().unwrap_or(0);
        let b = by_ref.entry(reference).or_default();
        match kind.as_str() {
            "AUTHORIZATION" => b.auths.push(amount),
            "CAPTURE" => b.caps.push(amount),
            "REFUND" => b.refunds.push((key.clone(), amount)),
            "VOID" => b.voids += 1,
            other => {
                f.other_kinds.insert(other.to_string());
            }
        }
        by_key.entry(key).or_default().push(kind);
    }
    for (key, mut kinds) in by_key {
        kinds.sort();
        if kinds.len() > 1 && kinds != ["AUTHORIZATION", "CAPTURE"] {
            f.doubled.push(format!("key {key} booked {kinds:?}"));
        }
    }
    by_ref
}

/// Compares the three sides.
pub fn audit(book: &Book, j: &Journal, ledger: &[Value]) -> Findings {
    let mut f = Findings::default();
    let booked = book_ledger(ledger, &mut f);
    for e in ledger {
        let key = e["idempotency_key"].as_str().unwrap_or_default();
        if !j.keys.contains(key) {
            f.phantom.push(format!("booked under a key the terminal never stored: {e}"));
        }
    }
    let refs: BTreeSet<&String> = book.sales.keys().chain(j.sales.keys()).chain(booked.keys()).collect();
    let none = Booked::default();
    for r in refs {
        check_sale(book, j, r, booked.get(r).unwrap_or(&none), &mut f);
    }
    check_returns(book, j, &booked, &mut f);
    for op in j.outbox.iter().filter(|o| o.state == "DEAD") {
        let sale = j.sales.values().find(|s| s.id == op.group);
        if sale.is_some_and(JSale::declined_offline) {
            f.dead_explained += 1;
        } else {
            f.dead_unexplained.push(format!("{} of {}: {}", op.kind, op.group, op.last_error));
        }
    }
    f.stuck.extend(j.open_items());
    for s in book.sales.values().filter(|s| s.unresolved) {
        f.stuck.push(format!("the register never saw {} end (last {})", s.reference, s.state));
    }
    f.mismatches.extend(book.notes.iter().map(|n| format!("register: {n}")));
    f
}

/// One sale reference: what the register was promised, journaled and booked.
fn check_sale(book: &Book, j: &Journal, r: &str, led: &Booked, f: &mut Findings) {
    let told = book.sales.get(r);
    let told_paid = told.is_some_and(super::SaleBook::paid);
    let js = j.sales.get(r);
    let caps = led.captured();
    if let Some(b) = told.filter(|_| told_paid) {
        if led.auths.is_empty() {
            f.lost.push(format!("{r}: APPROVED for {} to the register, never authorized at the acquirer", b.amount));
        }
        if caps < b.captured {
            f.lost.push(format!("{r}: captures of {} promised, {caps} booked", b.captured));
        }
        if caps > b.captured {
            f.phantom.push(format!("{r}: {caps} captured at the acquirer, {} promised", b.captured));
        }
        if b.voided && led.voids == 0 {
            f.lost.push(format!("{r}: void promised, none booked"));
        }
        if !b.voided && led.voids > 0 {
            f.phantom.push(format!("{r}: voided at the acquirer, never asked for"));
        }
    } else if !led.neutral() {
        let state = told.map_or("unknown to the register", |b| b.state.as_str());
        f.phantom.push(format!("{r} ({state}): money booked though the register was never told it was paid: {led:?}"));
    }
    if led.auths.len() > 1 {
        f.doubled.push(format!("{r}: authorized {} times: {:?}", led.auths.len(), led.auths));
    }
    if led.voids > 1 {
        f.doubled.push(format!("{r}: voided {} times", led.voids));
    }
    if js.is_some() && told.is_none() {
        f.mismatches.push(format!("{r}: in the journal, never heard of by the register"));
    }
    let Some(js) = js else {
        if told.is_some_and(|b| b.approved) {
            f.lost.push(format!("{r}: approved to the register, not in the journal"));
        }
        return;
    };
    if told.is_some_and(|b| b.approved && !b.revoked) && js.declined_offline() {
        f.mismatches.push(format!("{r}: declined when forwarded, the register never told"));
    }
    if let Some(b) = told {
        compare_register(r, b, js, j, f);
    }
    if js.paid() {
        compare_ledger(r, js, j, led, f);
    }
}

/// The register's books against the journal.
fn compare_register(r: &str, b: &super::SaleBook, js: &JSale, j: &Journal, f: &mut Findings) {
    if b.paid() != js.paid() {
        f.mismatches.push(format!(
            "{r}: the register was told {} (paid {}), journal {} {}",
            b.state,
            b.paid(),
            js.state,
            js.data
        ));
        return;
    }
    if !b.paid() {
        return;
    }
    let refunded: i64 = j.returns.values().filter(|x| x.original == r && x.state == "REFUNDED").map(|x| x.amount).sum();
    if (b.captured, b.voided, b.refunded) != (js.int("captured_amount"), js.data["voided"] == true, refunded) {
        f.mismatches.push(format!(
            "{r}: register captured {} voided {} refunded {}; journal captured {} voided {} refunded {refunded}",
            b.captured,
            b.voided,
            b.refunded,
            js.int("captured_amount"),
            js.data["voided"]
        ));
    }
}

/// The journal against the ledger, for a paid sale.
fn compare_ledger(r: &str, js: &JSale, j: &Journal, led: &Booked, f: &mut Findings) {
    let refunded: i64 = j.returns.values().filter(|x| x.original == r && x.state == "REFUNDED").map(|x| x.amount).sum();
    let journal = (js.int("amount"), js.int("captured_amount"), refunded, js.data["voided"] == true);
    let ledger = (led.auths.iter().sum::<i64>(), led.captured(), led.refunded(), led.voids > 0);
    if journal != ledger {
        f.mismatches
            .push(format!("{r}: journal (authorized, captured, refunded, voided) {journal:?}, ledger {ledger:?}"));
    }
}

/// Every return promised to the register: journaled, refunded once at the acquirer with its
/// amount — or refused because the offline payment it returned was declined (told).
fn check_returns(book: &Book, j: &Journal, booked: &HashMap<String, Booked>, f: &mut Findings) {
    let mut promised_keys = HashSet::new();
    for (reference, r) in &book.returns {
        let Some(jr) = j.returns.get(reference) else {
            f.lost.push(format!("return {reference} of {} ({}) promised, not in the journal", r.original, r.amount));
            continue;
        };
        promised_keys.insert(jr.key.clone());
        let refunds: Vec<i64> = booked
            .get(&r.original)
            .into_iter()
            .flat_map(|b| &b.refunds)
            .filter(|x| x.0 == jr.key)
            .map(|x| x.1)
            .collect();
        let revoked = j.sales.get(&r.original).is_some_and(JSale::declined_offline);
        if revoked {
            if !refunds.is_empty() || jr.state != "REFUSED" || r.state != "REFUSED" {
                f.mismatches
                    .push(format!("return {reference} of the declined {}: {} {refunds:?}", r.original, jr.state));
            }
            continue;
        }
        match refunds.as_slice() {
            [] => f.lost.push(format!(
                "return {reference} of {} ({}, {} {}): never refunded",
                r.original, r.amount, r.status, jr.state
            )),
            [a] if *a == r.amount && jr.amount == r.amount && jr.state == "REFUNDED" => {}
            other => f.mismatches.push(format!(
                "return {reference} of {}: promised {}, journal {} {}, ledger {other:?}",
                r.original, r.amount, jr.state, jr.amount
            )),
        }
    }
    for (reference, jr) in j.returns.iter().filter(|(r, _)| !book.returns.contains_key(*r)) {
        f.phantom.push(format!(
            "return {reference} of {} journaled ({} {}), refused to the register",
            jr.original, jr.state, jr.amount
        ));
    }
    for (r, b) in booked {
        let paid = book.sales.get(r).is_some_and(super::SaleBook::paid);
        for (key, amount) in b.refunds.iter().filter(|x| paid && !promised_keys.contains(&x.0)) {
            f.phantom.push(format!("{r}: refund of {amount} under {key}, no return promised to the register"));
        }
    }
}
