//! After the sale: captures (partial, full, over what remains) and voids of `LATER`
//! sales under the register's own `Idempotency-Key`; returns by amount, by line or of
//! everything left, over what is left too (those must be refused), several at once for
//! one purchase, and the same return sent twice.

use super::link::Answer;
use super::{Register, ReturnBook};
use serde_json::{Value, json};

/// What a return asks for.
#[derive(Clone, Debug)]
enum Ask {
    Amount(i64),
    Lines(Vec<(String, i64)>),
    All,
}

impl Register {
    /// A capture of a `LATER` sale: part of what remains, all of it, or more than that.
    pub(super) async fn capture(&mut self) -> bool {
        let Some(r) = self.pick(super::SaleBook::capturable) else { return false };
        self.refresh(&r).await;
        if !self.book.sales[&r].paid() {
            return false;
        }
        let remaining = self.book.sales[&r].amount - self.book.sales[&r].captured;
        let key = self.next_ref("CAP");
        let (body, amount, over) = match self.rng.u32(0..10) {
            0 => (None, remaining, false),
            1 | 2 => (Some(json!({})), remaining, false),
            3 => {
                let more = remaining + self.rng.i64(1..=500);
                (Some(json!({"amount": more})), more, true)
            }
            _ => {
                let part = self.rng.i64(1..=remaining);
                (Some(json!({"amount": part})), part, false)
            }
        };
        let path = format!("/v1/sales/{r}/capture");
        self.strike("/v1/payment-transactions").await;
        self.count("capture");
        let a = self.link.post(&path, body.as_ref(), Some(&key)).await;
        if a.status != 200 && a.status != 202 {
            self.refresh(&r).await;
        }
        self.after_capture(&r, amount, over, &a);
        if self.rng.u32(0..10) == 0 {
            self.count("resend");
            let again = self.link.post(&path, body.as_ref(), Some(&key)).await;
            let promised = |s: u16| s == 200 || s == 202;
            if promised(a.status) != promised(again.status) {
                let what = format!("capture {key} of {r} resent: {} {} (first {})", again.status, again.body, a.status);
                self.book.note(what);
            }
        }
        true
    }

    fn after_capture(&mut self, r: &str, amount: i64, over: bool, a: &Answer) {
        if a.status != 200 && a.status != 202 {
            self.book.refused("capture", a.status, a.code());
            if !over && a.code() == "NOTHING_LEFT" && self.book.sales[r].paid() {
                self.book
                    .note(format!("capture of {amount} on {r}: NOTHING_LEFT though the register was promised less"));
            }
            return;
        }
        let b = self.book.sales.get_mut(r).unwrap();
        b.captured += amount;
        let told =
            a.body["captured_amount"].as_i64().unwrap_or(0) + a.body["queued_capture_amount"].as_i64().unwrap_or(0);
        let promised = b.captured;
        if over {
            self.book.note(format!("capture of {amount} on {r} accepted ({}) over what remained", a.status));
        } else if told != promised && a.body["offline"] != "DECLINED" {
            self.book.note(format!("capture on {r}: captured + queued {told}, promised {promised}"));
        }
    }

    /// A void of a `LATER` sale (refused with `NOTHING_LEFT` once fully captured).
    pub(super) async fn void(&mut self) -> bool {
        let Some(r) = self.pick(|s| s.paid() && s.later && !s.voided) else { return false };
        self.refresh(&r).await;
        if !self.book.sales[&r].paid() {
            return false;
        }
        let key = self.next_ref("VOID");
        let path = format!("/v1/sales/{r}/void");
        self.strike("/v1/payment-transactions").await;
        self.count("void");
        let a = self.link.post(&path, None, Some(&key)).await;
        if a.status != 200 && a.status != 202 {
            self.refresh(&r).await;
        }
        let b = self.book.sales.get_mut(&r).unwrap();
        let (nothing_left, paid) = (b.captured >= b.amount, b.paid());
        match a.status {
            200 | 202 => {
                b.voided = true;
                if nothing_left {
                    self.book.note(format!("void {key} of the fully captured {r} accepted ({})", a.status));
                } else if a.body["voided"] != true && a.body["void_queued"] != true {
                    self.book.note(format!("void {key} of {r} answered {} {}", a.status, a.body));
                }
            }
            _ => {
                self.book.refused("void", a.status, a.code());
                if !nothing_left && a.code() == "NOTHING_LEFT" && paid {
                    self.book.note(format!("void {key} of {r}: NOTHING_LEFT though not all was captured"));
                }
            }
        }
        if self.rng.u32(0..10) == 0 {
            self.count("resend");
            let again = self.link.post(&path, None, Some(&key)).await;
            let promised = |s: u16| s == 200 || s == 202;
            if promised(a.status) != promised(again.status) {
                self.book
                    .note(format!("void {key} of {r} resent: {} {} (first {})", again.status, again.body, a.status));
            }
        }
        true
    }

    /// What to return of `r`, and whether it is over what is left (must be refused).
    fn random_ask(&mut self, r: &str) -> (Ask, bool) {
        let b = &self.book.sales[r];
        let left = b.refundable();
        let roll = self.rng.u32(0..100);
        if roll < 35 && !b.lines.is_empty() {
            let line = &b.lines[self.rng.usize(..b.lines.len())];
            let remaining = line.quantity - b.returned.get(&line.sku).copied().unwrap_or(0);
            let q = if remaining <= 0 || self.rng.u32(0..10) == 0 {
                remaining.max(0) + self.rng.i64(1..=2)
            } else {
                self.rng.i64(1..=remaining)
            };
            let over = q > remaining || q * line.unit_price > left;
            return (Ask::Lines(vec![(line.sku.clone(), q)]), over);
        }
        if roll < 55 {
            return (Ask::All, left <= 0);
        }
        if left <= 0 || self.rng.u32(0..100) < 15 {
            return (Ask::Amount(left.max(0) + self.rng.i64(1..=1000)), true);
        }
        (Ask::Amount(self.rng.i64(1..=left)), false)
    }

    fn return_body(original: &str, reference: &str, ask: &Ask) -> Value {
        let mut body = json!({"original_reference": original, "reference": reference});
        match ask {
            Ask::Amount(a) => body["amount"] = json!(a),
            Ask::Lines(l) => body["lines"] = l.iter().map(|(r, q)| json!({"reference": r, "quantity": q})).collect(),
            Ask::All => {}
        }
        body
    }

    /// One return of a paid purchase (or of one with nothing to return: refused).
    pub(super) async fn return_one(&mut self) -> bool {
        let unpaid = self.rng.u32(0..100) < 6;
        let pick = if unpaid {
            self.pick(|s| !s.paid() && !s.unresolved || s.paid() && s.captured == 0)
        } else {
            self.pick(|s| s.paid() && s.captured > 0)
        };
        let Some(r) = pick else { return false };
        self.refresh(&r).await;
        let unpaid = unpaid || !self.book.sales[&r].paid();
        let (ask, mut over) = if unpaid { (Ask::Amount(self.rng.i64(1..=500)), true) } else { self.random_ask(&r) };
        let reference = self.next_ref("RET");
        let body = Self::return_body(&r, &reference, &ask);
        let left = self.book.sales[&r].refundable();
        self.strike("/v1/payment-transactions").await;
        self.count("return");
        let a = self.link.post("/v1/returns", Some(&body), None).await;
        if !matches!(a.status, 200..=202) {
            self.refresh(&r).await;
            over |= !self.book.sales[&r].paid();
        }
        self.after_return(&r, &reference, &ask, Some(over), left, &a);
        if self.rng.u32(0..10) == 0 {
            self.count("resend");
            let again = self.link.post("/v1/returns", Some(&body), None).await;
            self.same_return(&reference, &a, &again, true);
        }
        true
    }

    /// A return sent again must answer the same return (or the same refusal).
    /// `in_turn`: the second was sent after the first was answered, so it answers 200 (or
    /// 202 while the refund still waits: the docs do not say which).
    fn same_return(&mut self, reference: &str, a: &Answer, again: &Answer, in_turn: bool) {
        let accepted = |x: &Answer| matches!(x.status, 200..=202);
        let differs = if accepted(a) {
            (in_turn && again.status != 200 && !(again.status == 202 && again.body["state"] == "PENDING"))
                || !accepted(again)
                || again.body["id"] != a.body["id"]
                || again.body["amount"] != a.body["amount"]
        } else {
            accepted(again)
        };
        if differs {
            self.book.note(format!(
                "return {reference} sent twice: {} {} then {} {}",
                a.status, a.body, again.status, again.body
            ));
        }
    }

    /// Books the answer to a return; `over`: whether it must be refused (None: not known,
    /// several at once).
    fn after_return(&mut self, original: &str, reference: &str, ask: &Ask, over: Option<bool>, left: i64, a: &Answer) {
        if !matches!(a.status, 200..=202) {
            self.book.refused("return", a.status, a.code());
            match over {
                Some(true) => self.book.over_refused += 1,
                Some(false) => self
                    .book
                    .note(format!("return {reference} of {original} ({ask:?}, {left} left) refused: {}", a.body)),
                None => {}
            }
            return;
        }
        let amount = a.body["amount"].as_i64().unwrap_or(-1);
        let state = a.body["state"].as_str().unwrap_or_default().to_string();
        self.book.returns.insert(
            reference.to_string(),
            ReturnBook { reference: reference.into(), original: original.into(), amount, status: a.status, state },
        );
        let b = self.book.sales.get_mut(original).unwrap();
        b.refunded += amount;
        let expected = match ask {
            Ask::Amount(x) => Some(*x),
            Ask::All => Some(left),
            Ask::Lines(lines) => {
                let mut sum = 0;
                for (sku, q) in lines {
                    *b.returned.entry(sku.clone()).or_default() += q;
                    sum += q * b.lines.iter().find(|l| &l.sku == sku).map_or(0, |l| l.unit_price);
                }
                Some(sum)
            }
        };
        if over == Some(true) {
            self.book.note(format!(
                "return {reference} of {original} over what is left ({ask:?}, {left} left) accepted: {}",
                a.body
            ));
        } else if (over == Some(false) || !matches!(ask, Ask::All)) && expected != Some(amount) {
            self.book
                .note(format!("return {reference} of {original} ({ask:?}) refunds {amount}, expected {expected:?}"));
        }
    }

    /// Several returns of one purchase at once (and one of them sent twice at once):
    /// together they may ask for more than is left, never get more.
    pub(super) async fn returns_at_once(&mut self) -> bool {
        let Some(r) = self.pick(|s| s.paid() && s.captured > s.refunded) else { return false };
        self.refresh(&r).await;
        if !self.book.sales[&r].paid() {
            return false;
        }
        let left = self.book.sales[&r].refundable();
        let mut asks = vec![];
        for _ in 0..self.rng.usize(2..=3) {
            let reference = self.next_ref("RET");
            let ask = Ask::Amount(self.rng.i64(1..=left));
            asks.push((reference, ask));
        }
        let twice = self.rng.bool();
        if twice {
            asks.push(asks[0].clone());
        }
        let bodies: Vec<Value> = asks.iter().map(|(reference, ask)| Self::return_body(&r, reference, ask)).collect();
        for _ in &bodies {
            self.count("return");
        }
        let link = self.link.clone();
        let answers =
            futures_util::future::join_all(bodies.iter().map(|b| link.post("/v1/returns", Some(b), None))).await;
        let refunded_before = self.book.sales[&r].refunded;
        let n = if twice { asks.len() - 1 } else { asks.len() };
        for ((reference, ask), a) in asks.iter().zip(&answers).take(n) {
            self.after_return(&r, reference, ask, None, left, a);
        }
        if twice {
            self.same_return(&asks[0].0, &answers[0], &answers[n], false);
        }
        let taken = self.book.sales[&r].refunded - refunded_before;
        if taken > left {
            self.book.note(format!("returns of {r} at once refunded {taken}, only {left} was left"));
        }
        true
    }
}
