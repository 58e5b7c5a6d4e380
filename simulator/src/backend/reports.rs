//! Read-side of the books: the settlement report of a day, the event stream, and the
//! online orders seeded for returns of online purchases.

use super::state::{Books, Refusal};
use chrono::{DateTime, NaiveDate, Utc};
use posagent_acquirer_api::events::TerminalEvent;
use posagent_acquirer_api::settlement::{SettlementEntry, SettlementReport, SettlementTotal, SettlementType};
use posagent_acquirer_api::{Capture, Currency, LineItem, PaymentMethod, PaymentTransaction, TransactionState};

/// Most events per page.
pub const EVENT_PAGE: usize = 100;

fn line(name: &str, reference: &str, quantity: i64, unit_price: i64, tax_rate: i64) -> LineItem {
    let total = quantity * unit_price;
    LineItem {
        name: name.into(),
        reference: Some(reference.into()),
        quantity,
        unit_price,
        total_amount: total,
        tax_rate: Some(tax_rate),
        total_discount_amount: 0,
        total_tax_amount: Some(total * tax_rate / (10_000 + tax_rate)),
        ..LineItem::default()
    }
}

impl Books {
    /// Seeds online orders (captured in full on the web shop) that customers may return
    /// in store: `WEB-1001` (SEK), `WEB-1002` (SEK), `WEB-1003` (EUR).
    pub(super) fn seed_online_orders(&mut self, now: DateTime<Utc>) {
        let orders = [
            (
                "WEB-1001",
                Currency::SEK,
                vec![line("Regnjacka", "SKU-2", 1, 119_900, 2500), line("Mössa", "SKU-7", 2, 19_900, 2500)],
            ),
            ("WEB-1002", Currency::SEK, vec![line("Kaffe 500 g", "SKU-1", 3, 8_900, 1200)]),
            ("WEB-1003", Currency::EUR, vec![line("Regenjacke", "SKU-2", 1, 12_990, 1900)]),
        ];
        for (reference, currency, lines) in orders {
            let n = self.next_id();
            let amount: i64 = lines.iter().map(|l| l.total_amount).sum();
            let id = format!("krn:payment:eu1:transaction:{n:08x}-0000-4000-8000-00000000web0");
            let tx = PaymentTransaction {
                payment_transaction_id: id.clone(),
                payment_transaction_reference: reference.into(),
                klarna_reference: format!("K{:07}", 4_100_000 + n),
                method: PaymentMethod::Klarna,
                authorization_code: None,
                state: TransactionState::Completed,
                amount,
                captured_amount: amount,
                refunded_amount: 0,
                currency,
                payment_captures: vec![Capture {
                    payment_capture_id: format!("{id}:capture:1"),
                    payment_capture_reference: Some(reference.into()),
                    amount,
                    line_items: lines.clone(),
                    created_at: now,
                }],
                payment_refunds: vec![],
                line_items: lines,
                created_at: now,
                expires_at: now + chrono::Duration::days(super::transactions::AUTHORIZATION_DAYS),
            };
            self.transactions.insert(id, tx);
        }
    }

    /// An order (in store or online) by its reference, for returns.
    pub fn order(&self, reference: &str) -> Result<PaymentTransaction, Refusal> {
        self.transaction_by_reference(reference).ok_or_else(|| Refusal::NotFound(format!("order {reference}")))
    }

    /// Events after `after`, oldest first, at most a page.
    pub fn events_after(&self, after: u64) -> Vec<TerminalEvent> {
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(self.events.len());
        self.events[start..].iter().take(EVENT_PAGE).cloned().collect()
    }

    /// What settles for `date` (UTC): captures are sales, refunds are returns, each
    /// sale with its store's fee and the VAT on it (see
    /// `posagent_acquirer_api::settlement` for the rounding); no chargebacks.
    pub fn settlement(&self, date: NaiveDate) -> SettlementReport {
        let entries: Vec<SettlementEntry> = self
            .ledger()
            .iter()
            .filter(|e| e.at.date_naive() == date)
            .filter_map(|e| {
                let kind = match e.kind.as_str() {
                    "CAPTURE" => SettlementType::Sale,
                    "REFUND" => SettlementType::Return,
                    _ => return None,
                };
                let (fee, fee_vat) = self.fees.schedule_of(&e.payment_transaction_id).fee(kind, e.amount);
                Some(SettlementEntry {
                    kind,
                    payment_transaction_id: e.payment_transaction_id.clone(),
                    reference: e.reference.clone(),
                    amount: e.amount,
                    currency: e.currency.clone(),
                    booked_at: e.at,
                    fee,
                    fee_vat,
                })
            })
            .collect();
        let mut totals: Vec<SettlementTotal> = vec![];
        for e in &entries {
            match totals.iter_mut().find(|t| t.currency == e.currency) {
                Some(t) => t.add(e),
                None => {
                    let mut t = SettlementTotal::empty(&e.currency);
                    t.add(e);
                    totals.push(t);
                }
            }
        }
        totals.sort_by(|a, b| a.currency.cmp(&b.currency));
        SettlementReport { date, totals, entries }
    }
}
