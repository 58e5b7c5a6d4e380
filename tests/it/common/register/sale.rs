//! Sales as the register and its customers make them: Klarna (the customer approves,
//! declines or walks away at the payment request's URL), card (every test card, tapped,
//! inserted or swiped; inserted with the PIN when the issuer asks for it), the customer's
//! choice; the cashier's cancel (also racing the customer); *Try again* of unpaid sales.

use super::{Line, Register, SaleBook};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

pub const FINALS: [&str; 6] = ["APPROVED", "DECLINED", "CANCELED", "EXPIRED", "UNAVAILABLE", "FAILED"];

/// The test cards of `docs/acquirer-api.md`, by the simulator's names.
const CARDS: [&str; 5] = ["approve", "decline", "insufficient_funds", "expired", "pin_required"];

/// Drives a sale this long before the cashier cancels it.
const CANCEL_AFTER: Duration = Duration::from_secs(15);
/// Drives a sale this long before the register leaves it for the end of the run.
const LEAVE_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cancel {
    Never,
    /// Before the customer does anything.
    Early,
    /// Right after the customer acted: the cancel races the payment.
    Race,
}

/// How a sale will go, decided before it starts.
#[derive(Clone, Debug)]
pub struct Plan {
    pub method: &'static str,
    pub choose: &'static str,
    pub card: &'static str,
    pub presentation: &'static str,
    pub customer: &'static str,
    pub cancel: Cancel,
}

impl Plan {
    pub fn random(rng: &mut fastrand::Rng, method: &'static str) -> Plan {
        let card = if rng.u32(0..100) < 50 { "approve" } else { CARDS[rng.usize(1..CARDS.len())] };
        let presentation = match rng.u32(0..10) {
            0..=5 => "tap",
            6..=8 => "insert",
            _ => "swipe",
        };
        let customer = match rng.u32(0..100) {
            0..=69 => "approve",
            70..=84 => "decline",
            _ => "abandon",
        };
        let cancel = match rng.u32(0..100) {
            0..=5 => Cancel::Early,
            6..=13 => Cancel::Race,
            _ => Cancel::Never,
        };
        let choose = if rng.bool() { "KLARNA" } else { "CARD" };
        Plan { method, choose, card, presentation, customer, cancel }
    }
}

fn random_method(rng: &mut fastrand::Rng) -> &'static str {
    match rng.u32(0..100) {
        0..=44 => "KLARNA",
        45..=89 => "CARD",
        _ => "CHOICE",
    }
}

/// One to three order lines with Klarna's arithmetic, or none.
fn random_lines(rng: &mut fastrand::Rng) -> Vec<Line> {
    if rng.u32(0..10) < 3 {
        return vec![];
    }
    (0..rng.usize(1..=3))
        .map(|i| Line {
            sku: format!("SKU-{}", (b'A' + u8::try_from(i).unwrap()) as char),
            quantity: rng.i64(1..=3),
            unit_price: rng.i64(300..=15_000),
        })
        .collect()
}

fn lines_json(lines: &[Line]) -> Value {
    let rate = 2500;
    Value::Array(
        lines
            .iter()
            .map(|l| {
                let total = l.quantity * l.unit_price;
                let tax = (total * rate + (10_000 + rate) / 2) / (10_000 + rate);
                json!({"name": format!("Article {}", l.sku), "reference": l.sku, "quantity": l.quantity,
                       "unit_price": l.unit_price, "total_amount": total, "tax_rate": rate, "total_tax_amount": tax})
            })
            .collect(),
    )
}

impl Register {
    /// A new sale with its own reference, driven to its end.
    pub(super) async fn new_sale(&mut self) {
        let reference = self.next_ref("REG");
        let method = random_method(&mut self.rng);
        let plan = Plan::random(&mut self.rng, method);
        let later = self.rng.bool();
        let lines = random_lines(&mut self.rng);
        let amount: i64 = if lines.is_empty() {
            self.rng.i64(500..=60_000)
        } else {
            lines.iter().map(|l| l.quantity * l.unit_price).sum()
        };
        let mut body = json!({"amount": amount, "currency": "SEK", "reference": reference, "method": method,
                              "capture": if later { "LATER" } else { "NOW" }});
        if !lines.is_empty() {
            body["order_lines"] = lines_json(&lines);
        }
        let book = SaleBook {
            reference: reference.clone(),
            amount,
            later,
            method: method.into(),
            lines,
            state: "UNKNOWN".into(),
            unresolved: true,
            ..SaleBook::default()
        };
        self.book.sales.insert(reference.clone(), book);
        self.count("sale");
        let a = self.create(&body).await;
        match a.status {
            200 | 201 => {
                self.record_sale(&reference, &a.body);
                if self.rng.u32(0..10) == 0 {
                    self.resend_same_sale("/v1/sales", Some(&body), &a.body).await;
                }
                self.drive(&reference, &plan).await;
            }
            0 => self.book.note(format!("sale {reference}: no answer to its creation")),
            s => {
                self.book.refused("sale", s, a.code());
                self.book.sales.remove(&reference);
            }
        }
    }

    /// `POST /v1/sales`; while another sale is open (one the register left), it is
    /// driven to its end first.
    async fn create(&mut self, body: &Value) -> super::link::Answer {
        for _ in 0..5 {
            let a = self.link.post("/v1/sales", Some(body), None).await;
            if a.code() != "TERMINAL_BUSY" {
                return a;
            }
            self.book.refused("sale", a.status, "TERMINAL_BUSY");
            let open: Vec<String> = self
                .book
                .sales
                .values()
                .filter(|s| s.unresolved && Some(s.reference.as_str()) != body["reference"].as_str())
                .map(|s| s.reference.clone())
                .collect();
            for r in open {
                let plan = Plan::random(&mut self.rng, "CARD");
                self.drive(&r, &plan).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.link.post("/v1/sales", Some(body), None).await
    }

    /// The same request again, as a register that missed the answer: the same sale, 200.
    async fn resend_same_sale(&mut self, path: &str, body: Option<&Value>, first: &Value) {
        self.count("resend");
        let again = self.link.post(path, body, None).await;
        if again.status != 200 || again.body["id"] != first["id"] {
            let what = format!("{path} resent: {} {} (first: {})", again.status, again.body, first["id"]);
            self.book.note(what);
        }
    }

    /// Takes in what the register reads or is answered about a sale.
    pub(super) fn record_sale(&mut self, reference: &str, sale: &Value) {
        let Some(b) = self.book.sales.get_mut(reference) else { return };
        let state = sale["state"].as_str().unwrap_or_default().to_string();
        if let Some(id) = sale["id"].as_str() {
            b.id = id.to_string();
        }
        if let Some(m) = sale["method"].as_str() {
            b.method = m.to_string();
        }
        let mut note = None;
        if b.approved && state != "APPROVED" {
            note = Some(format!("{reference} was APPROVED, now {state}: {sale}"));
        }
        if state == "APPROVED" && !b.approved {
            b.approved = true;
            b.offline = sale["offline"].is_string();
            if !b.later {
                b.captured = b.amount;
            }
            if sale["amount"].as_i64() != Some(b.amount) {
                note = Some(format!("{reference} approved for {} instead of {}", sale["amount"], b.amount));
            }
        }
        if b.approved && sale["offline"] == "DECLINED" {
            b.revoked = true;
        }
        if FINALS.contains(&state.as_str()) {
            b.unresolved = false;
            b.retryable = state != "APPROVED" && sale["retryable"] == true;
        }
        if b.state != state {
            let extra = format!("{} {} {}", sale["reason"], sale["offline"], sale["reversal"]);
            super::log(format!("{reference} {} -> {state} ({extra})", b.state));
        }
        b.state = state;
        if let Some(n) = note {
            self.book.note(n);
        }
    }

    /// Reads the sale until it ends, playing the customer and the cashier.
    pub(super) async fn drive(&mut self, reference: &str, plan: &Plan) -> Option<Value> {
        let started = Instant::now();
        let mut acted: HashSet<String> = HashSet::new();
        let mut abandoned: Option<Instant> = None;
        let mut last_cancel: Option<Instant> = None;
        let mut chosen = false;
        while started.elapsed() < LEAVE_AFTER {
            let a = self.link.get(&format!("/v1/sales/{reference}")).await;
            if a.status != 200 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let sale = a.body;
            self.record_sale(reference, &sale);
            let state = sale["state"].as_str().unwrap_or_default();
            if FINALS.contains(&state) {
                return Some(sale);
            }
            let mut cancel_now = match state {
                "AWAITING_METHOD" if !chosen => {
                    chosen = self.choose(reference, &sale, plan).await;
                    false
                }
                "QR_SHOWN" | "CUSTOMER_IN_PROGRESS" => {
                    let id = sale["payment_request_id"].as_str().unwrap_or_default().to_string();
                    if plan.cancel == Cancel::Early || id.is_empty() || acted.contains(&id) {
                        plan.cancel == Cancel::Early
                    } else {
                        self.customer(&sale, plan.customer).await;
                        acted.insert(id);
                        if plan.customer == "abandon" {
                            abandoned = Some(Instant::now());
                        }
                        plan.cancel == Cancel::Race
                    }
                }
                "AWAITING_CARD" => {
                    plan.cancel == Cancel::Early || (self.present(&sale, plan).await && plan.cancel == Cancel::Race)
                }
                _ => false,
            };
            cancel_now |= abandoned.is_some_and(|t| t.elapsed() > Duration::from_millis(300));
            cancel_now |= started.elapsed() > CANCEL_AFTER;
            if cancel_now && last_cancel.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                last_cancel = Some(Instant::now());
                if let Some(done) = self.cancel(reference).await {
                    return Some(done);
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        if let Some(b) = self.book.sales.get_mut(reference) {
            b.unresolved = true;
        }
        None
    }

    /// The cashier cancels; the answer (final, maybe `APPROVED`) is what the register believes.
    async fn cancel(&mut self, reference: &str) -> Option<Value> {
        self.count("cancel");
        let a = self.link.post(&format!("/v1/sales/{reference}/cancel"), None, None).await;
        if a.status != 200 {
            self.book.refused("cancel", a.status, a.code());
            return None;
        }
        self.record_sale(reference, &a.body);
        FINALS.contains(&a.body["state"].as_str().unwrap_or_default()).then_some(a.body)
    }

    /// The customer of a `CHOICE` sale picks a method among those offered.
    async fn choose(&mut self, reference: &str, sale: &Value, plan: &Plan) -> bool {
        let offered: Vec<&str> =
            sale["offered_methods"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let method =
            if offered.contains(&plan.choose) { plan.choose } else { offered.first().copied().unwrap_or("CARD") };
        self.count("method");
        let a = self.link.post(&format!("/v1/sales/{reference}/method"), Some(&json!({"method": method})), None).await;
        if a.status != 200 {
            self.book.refused("method", a.status, a.code());
        }
        a.status == 200 || a.code() == "NOT_AWAITING_METHOD"
    }

    /// The Klarna customer scans the QR code's URL and acts on the payment request.
    async fn customer(&mut self, sale: &Value, action: &str) {
        let Some(url) = sale["payment_request_url"].as_str() else { return };
        if action == "approve" {
            self.strike("/v1/payments/authorize").await;
        }
        self.count("customer");
        let started = Instant::now();
        let http = &self.setup.http;
        let status = |r: Result<reqwest::Response, reqwest::Error>| r.map_or(0, |r| r.status().as_u16());
        let scan = status(http.get(url).send().await);
        let act = status(http.post(format!("{url}/{action}")).send().await);
        let took = started.elapsed().as_secs_f64();
        super::log(format!("customer scans ({scan}) and does {action} ({act}) at {url} in {took:.3} s"));
    }

    /// The card customer presents the planned card if the reader waits for one (inserted
    /// with the PIN when the issuer asked for it); whether the reader took it.
    async fn present(&mut self, sale: &Value, plan: &Plan) -> bool {
        let presentation = if sale["pin_required"] == true { "insert" } else { plan.presentation };
        if self.setup.sim.card_reader.as_ref().is_some_and(|c| c.state().waiting_for.is_some()) {
            self.strike("/v1/payments/authorize").await;
        }
        let r = self
            .setup
            .http
            .post(format!("{}/sim/card", self.setup.sim.backend_url))
            .json(&json!({"card": plan.card, "presentation": presentation}))
            .send()
            .await;
        let took = r.is_ok_and(|r| r.status().as_u16() == 204);
        if took {
            super::log(format!("card {} {presentation} for {}", plan.card, sale["reference"]));
            self.count("card");
        }
        took
    }

    /// *Try again* of a sale that ended unpaid, with its own method or another.
    pub(super) async fn retry_unpaid(&mut self) -> bool {
        let Some(first) = self.pick(|s| s.retryable && !s.retried && !s.approved) else { return false };
        let method = match self.rng.u32(0..10) {
            0..=4 => None,
            5..=6 => Some("KLARNA"),
            7..=8 => Some("CARD"),
            _ => Some("CHOICE"),
        };
        let body = method.map(|m| json!({"method": m}));
        let path = format!("/v1/sales/{first}/retry");
        self.count("retry");
        let a = self.link.post(&path, body.as_ref(), None).await;
        let parent = self.book.sales[&first].clone();
        if let Some(p) = self.book.sales.get_mut(&first) {
            p.retried = a.status == 200 || a.status == 201 || a.code() == "NOT_RETRYABLE";
        }
        if a.status != 200 && a.status != 201 {
            self.book.refused("retry", a.status, a.code());
            return true;
        }
        let reference = a.body["reference"].as_str().unwrap_or_default().to_string();
        let root = first.split("-R").next().unwrap_or(&first);
        if a.body["retry_of"] != root {
            self.book.note(format!("retry of {first} answered {}", a.body));
        }
        let book = SaleBook {
            reference: reference.clone(),
            amount: parent.amount,
            later: parent.later,
            method: method.unwrap_or(&parent.method).into(),
            lines: parent.lines,
            state: "UNKNOWN".into(),
            unresolved: true,
            ..SaleBook::default()
        };
        self.book.sales.insert(reference.clone(), book);
        self.record_sale(&reference, &a.body);
        if self.rng.u32(0..10) == 0 {
            self.resend_same_sale(&path, body.as_ref(), &a.body).await;
        }
        let plan = Plan::random(&mut self.rng, "CARD");
        self.drive(&reference, &plan).await;
        true
    }
}
