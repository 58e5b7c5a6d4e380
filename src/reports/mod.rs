//! End of day: X reports (mid-day, nothing closed) and Z reports (close the day), with
//! totals per tender and currency, printed; and the reconciliation of a day against the
//! acquirer's settlement report, listing every difference by reference.

mod reconcile;
mod test_receipt;

pub use reconcile::{Difference, DifferenceKind, Reconciliation};

use crate::backend::{AcquirerClient, BackendError};
use crate::config::StoreSection;
use crate::devices::{DeviceError, PrinterService};
use crate::domain::ReturnState;
use crate::domain::{OfflineStatus, SaleState};
use crate::locale::{Label, Text, format_amount, label, text};
use crate::store::{Journal, StoreError};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::Currency;
use posagent_drivers::printer::{Align, Block, Document, TextStyle};
use serde::Serialize;
use std::collections::BTreeMap;

/// Totals of one tender in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenderTotal {
    /// `KLARNA` or `CARD`.
    pub method: String,
    /// Currency.
    pub currency: Currency,
    /// Approved sales.
    pub sales_count: u32,
    /// Their captured amount.
    pub sales_amount: i64,
    /// Refunded returns.
    pub refunds_count: u32,
    /// Their amount.
    pub refunds_amount: i64,
    /// Sales − refunds.
    pub net_amount: i64,
}

/// An X or Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayReport {
    /// `X` (mid-day) or `Z` (closes the day).
    pub kind: &'static str,
    /// Z number.
    pub number: Option<i64>,
    /// From the last Z (or the first sale).
    pub from: DateTime<Utc>,
    /// Until now.
    pub to: DateTime<Utc>,
    /// Per tender and currency.
    pub totals: Vec<TenderTotal>,
    /// Declined sales.
    pub declined: u32,
    /// Canceled or expired sales.
    pub canceled: u32,
    /// Sales still open.
    pub open: u32,
    /// Card payments approved offline and not yet forwarded to the acquirer.
    pub offline_pending: u32,
    /// Whether it was printed.
    pub printed: bool,
    /// Why not, when it should have been.
    pub print_error: Option<String>,
    /// The acquirer's settlement of the report's day (UTC date of `to`) per currency:
    /// fees, the VAT on them, chargebacks, payout.
    pub settlement: Vec<posagent_acquirer_api::settlement::SettlementTotal>,
    /// Why the settlement is not there (the acquirer unreachable or refusing).
    pub settlement_error: Option<String>,
    /// The console's cashier who asked for it; none for the register's.
    #[serde(default)]
    pub cashier: Option<String>,
}

/// A report that could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The acquirer could not give its settlement report.
    #[error("the acquirer's settlement report is not available: {0}")]
    Backend(#[from] BackendError),
}

/// The reports service.
#[derive(Clone)]
pub struct Reports {
    journal: Journal,
    backend: AcquirerClient,
    printer: PrinterService,
    store: StoreSection,
}

fn method_name(m: posagent_acquirer_api::PaymentMethod) -> String {
    serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl Reports {
    /// A reports service.
    pub fn new(journal: Journal, backend: AcquirerClient, printer: PrinterService, store: StoreSection) -> Self {
        Reports { journal, backend, printer, store }
    }

    async fn compute(&self, kind: &'static str) -> Result<DayReport, ReportError> {
        let from = self.journal.last_closure().await?.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = Utc::now();
        let sales = self.journal.sales_since(from).await?;
        let returns = self.journal.returns_since(from).await?;
        let mut totals: BTreeMap<(String, String), TenderTotal> = BTreeMap::new();
        fn entry(
            totals: &mut BTreeMap<(String, String), TenderTotal>,
            method: String,
            currency: Currency,
        ) -> &mut TenderTotal {
            totals.entry((method.clone(), currency.code().to_string())).or_insert(TenderTotal {
                method,
                currency,
                sales_count: 0,
                sales_amount: 0,
                refunds_count: 0,
                refunds_amount: 0,
                net_amount: 0,
            })
        }
        let (mut declined, mut canceled, mut open, mut offline_pending) = (0, 0, 0, 0);
        for s in &sales {
            match s.state {
                // Approved offline, then declined by the acquirer: not paid.
                SaleState::Approved if s.offline == Some(OfflineStatus::Declined) => declined += 1,
                SaleState::Approved => {
                    let t = entry(&mut totals, method_name(s.method), s.currency);
                    // What was captured is what was sold (a LATER sale may be captured in
                    // part); captures waiting in the queue count, and so does an offline
                    // payment captured NOW once it is forwarded.
                    let unforwarded = s.offline == Some(OfflineStatus::Queued);
                    offline_pending += u32::from(unforwarded);
                    let sold = if unforwarded && s.capture == posagent_acquirer_api::CaptureMode::Now {
                        s.amount
                    } else {
                        s.captured_amount + s.queued_capture_amount
                    };
                    t.sales_count += 1;
                    t.sales_amount += sold;
                }
                SaleState::Declined => declined += 1,
                SaleState::Canceled | SaleState::Expired => canceled += 1,
                state if !state.is_final() => open += 1,
                _ => {}
            }
        }
        for r in returns.iter().filter(|r| r.state == ReturnState::Refunded) {
            let t = entry(&mut totals, method_name(r.method), r.currency);
            t.refunds_count += 1;
            t.refunds_amount += r.amount;
        }
        let totals = totals
            .into_values()
            .map(|mut t| {
                t.net_amount = t.sales_amount - t.refunds_amount;
                t
            })
            .collect();
        let first = sales.first().map(|s| s.created_at).unwrap_or(to);
        Ok(DayReport {
            kind,
            number: None,
            from: if from == DateTime::<Utc>::MIN_UTC { first } else { from },
            to,
            totals,
            declined,
            canceled,
            open,
            offline_pending,
            printed: false,
            print_error: None,
            settlement: vec![],
            settlement_error: None,
            cashier: None,
        })
    }

    /// Adds the acquirer's settlement of the report's day, if the acquirer gives it now
    /// (an unreachable acquirer is not waited for: the report is the terminal's first).
    async fn add_settlement(&self, r: &mut DayReport) {
        if !self.backend.connectivity().is_online() {
            r.settlement_error = Some("the acquirer is unreachable; its settlement is not in the report".into());
            return;
        }
        match self.backend.settlement(r.to.date_naive()).await {
            Ok(report) => r.settlement = report.totals,
            Err(e) => r.settlement_error = Some(ReportError::Backend(e).to_string()),
        }
    }

    async fn print(&self, r: &DayReport) -> Result<(), DeviceError> {
        let l = self.store.locale.as_str();
        let mut d = Document::default();
        d.styled(self.store.name.clone(), TextStyle { bold: true, double: true }, Align::Center);
        let title = label(Label::Report, l).replace("{kind}", r.kind);
        let title = match r.number {
            Some(n) => format!("{title} #{n}"),
            None => title,
        };
        d.styled(title, TextStyle { bold: true, double: true }, Align::Center);
        d.styled(
            format!("{} – {}", self.store.time_zone.format(r.from), self.store.time_zone.format(r.to)),
            TextStyle::default(),
            Align::Center,
        );
        d.columns(label(Label::Terminal, l), self.store.terminal_reference.clone(), false);
        if let Some(cashier) = &r.cashier {
            d.columns(label(Label::Cashier, l), cashier.clone(), false);
        }
        d.push(Block::Rule);
        for t in &r.totals {
            let money = |v: i64| format_amount(v, t.currency, l);
            let tender = if t.method == "CARD" { label(Label::Card, l) } else { "Klarna" };
            d.styled(format!("{tender} {}", t.currency), TextStyle { bold: true, double: false }, Align::Left);
            d.columns(format!("  {} ({})", label(Label::Sales, l), t.sales_count), money(t.sales_amount), false);
            d.columns(format!("  {} ({})", label(Label::Refunds, l), t.refunds_count), money(-t.refunds_amount), false);
            d.columns(format!("  {}", text(Text::Total, l)), money(t.net_amount), true);
        }
        d.push(Block::Rule);
        d.columns(label(Label::DeclinedCount, l), r.declined.to_string(), false);
        d.columns(label(Label::CanceledCount, l), r.canceled.to_string(), false);
        d.columns(label(Label::OpenCount, l), r.open.to_string(), false);
        d.columns(label(Label::OfflinePending, l), r.offline_pending.to_string(), false);
        settlement_lines(&mut d, &r.settlement, l);
        d.push(Block::Feed(2));
        d.push(Block::Cut);
        self.printer.print(d).await
    }

    async fn print_into(&self, r: &mut DayReport) {
        match self.print(r).await {
            Ok(()) => r.printed = true,
            Err(e) => r.print_error = Some(e.to_string()),
        }
    }

    /// The X report: totals since the last Z; nothing is closed. `cashier`: the console's
    /// cashier asking, printed on it.
    pub async fn x(&self, print: bool, cashier: Option<String>) -> Result<DayReport, ReportError> {
        let mut r = self.compute("X").await?;
        r.cashier = cashier;
        self.add_settlement(&mut r).await;
        if print {
            self.print_into(&mut r).await;
        }
        Ok(r)
    }

    /// The Z report: totals since the last Z, then the day is closed and it is printed
    /// (with the console's `cashier` who closed it).
    pub async fn z(&self, cashier: Option<String>) -> Result<DayReport, ReportError> {
        let mut r = self.compute("Z").await?;
        r.cashier = cashier;
        self.add_settlement(&mut r).await;
        let body = serde_json::to_string(&r).unwrap_or_default();
        r.number = Some(self.journal.close_day(r.to, body).await?);
        self.print_into(&mut r).await;
        Ok(r)
    }
}

/// The acquirer's settlement of the day per currency on the printed report: its fees,
/// the VAT on them, chargebacks and what it pays out.
fn settlement_lines(d: &mut Document, totals: &[posagent_acquirer_api::settlement::SettlementTotal], l: &str) {
    for t in totals {
        let Ok(currency) = posagent_acquirer_api::Currency::parse(&t.currency) else { continue };
        let money = |v: i64| format_amount(v, currency, l);
        d.push(Block::Rule);
        d.styled(
            format!("{} {}", label(Label::Settlement, l), t.currency),
            TextStyle { bold: true, double: false },
            Align::Left,
        );
        d.columns(format!("  {}", text(Text::Total, l)), money(t.net), false);
        d.columns(format!("  {}", label(Label::Fees, l)), money(-t.fees), false);
        d.columns(format!("  {}", label(Label::FeeVat, l)), money(-t.fee_vat), false);
        d.columns(format!("  {}", label(Label::Chargebacks, l)), money(-t.chargebacks), false);
        d.columns(format!("  {}", label(Label::Payout, l)), money(t.payout), true);
    }
}
