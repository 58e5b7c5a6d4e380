//! In-store returns, of purchases made in this store and of online purchases: the
//! order is looked up at the acquirer by its reference, the chosen lines (or an amount)
//! refunded through it — never more than captured and not yet refunded — and a return
//! receipt printed. Each return is journaled, with its idempotency key, before the
//! refund is asked for.

mod compute;
mod receipt;

pub use compute::{LineError, ReturnLine, return_lines};
pub use receipt::return_document;

use crate::backend::{AcquirerClient, BackendError};
use crate::config::StoreSection;
use crate::devices::PrinterService;
use crate::domain::{OfflineStatus, SaleState};
use crate::domain::{ReturnRecord, ReturnState};
use crate::store::{Journal, StoreError};
use chrono::Utc;
use posagent_acquirer_api::{CaptureMode, LineItem, PaymentTransaction, Refund, RefundRequest, TransactionState};

/// `POST /v1/returns` body: the ECR wire type (`posagent-ecr-api`).
pub use posagent_ecr_api::NewReturn;

/// A refused or failed return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReturnError {
    /// The request is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Field.
        field: String,
        /// Why.
        message: String,
    },
    /// No purchase with that reference.
    #[error("no purchase {0} at the acquirer; check the receipt or order reference")]
    NotFound(String),
    /// The acquirer cannot be reached: returns need it (nothing was refunded).
    #[error(
        "the acquirer cannot be reached, so the purchase cannot be looked up; nothing was refunded — try again when the terminal is online"
    )]
    Offline(#[source] BackendError),
    /// The acquirer answered with an error.
    #[error(transparent)]
    Backend(BackendError),
    /// The journal failed; nothing was done.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The return reference was used for another return.
    #[error(
        "return reference {0} is already used by a return of another purchase, amount or lines; use a new reference"
    )]
    ReferenceConflict(String),
    /// The refund is over what the console's cashier may refund alone (nothing was done).
    #[error(
        "a refund of {amount} minor units is over the {limit} a cashier refunds alone: a supervisor approves it with their number and PIN"
    )]
    OverCashierLimit {
        /// The refund.
        amount: i64,
        /// The limit.
        limit: i64,
    },
}

/// Who asks for a return: the register (no cashier, no limit), or a console's cashier
/// with the largest refund they make alone.
#[derive(Debug, Clone, Default)]
pub struct Refunder {
    /// The console's cashier.
    pub cashier: Option<String>,
    /// The largest refund allowed; `None`: any.
    pub limit: Option<i64>,
}

/// How long the sync worker leaves a refund alone while it is asked for at once.
const HOLD_MS: i64 = 60_000;

/// Whether `r` is a reference of at most `max` characters of the documented set: letters,
/// digits and `- _ . : /`, not `.` or `..` (it reaches the acquirer's URL as one
/// percent-encoded path segment either way).
fn reference_is_valid(r: &str, max: usize) -> bool {
    (1..=max).contains(&r.len())
        && r.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
        && r.chars().any(|c| c != '.')
}

/// Whether `req` asks again for the journaled return `existing` (a register's retry),
/// not for another one under the same reference.
fn is_retry_of(existing: &ReturnRecord, req: &NewReturn) -> bool {
    let same_lines = req.lines.len() == existing.lines.len()
        && req.lines.iter().all(|w| {
            existing
                .lines
                .iter()
                .any(|l| l.reference.as_deref() == Some(w.reference.as_str()) && l.quantity == w.quantity)
        });
    existing.original_reference == req.original_reference
        && req.amount.is_none_or(|a| a == existing.amount)
        && (req.lines.is_empty() || same_lines)
}

/// A journaled return as the acquirer would list its refund.
fn as_refund(r: &ReturnRecord) -> Refund {
    Refund {
        payment_refund_id: r.payment_refund_id.clone().unwrap_or_else(|| r.id.clone()),
        payment_refund_reference: Some(r.reference.clone()),
        payment_capture_id: None,
        amount: r.amount,
        line_items: r.lines.clone(),
        created_at: r.created_at,
    }
}

/// Records how printing a return's receipt went.
fn mark_printed(r: &mut ReturnRecord, printed: Result<(), String>) {
    match printed {
        Ok(()) => {
            r.receipt_printed = true;
            r.receipt_error = None;
        }
        Err(e) => r.receipt_error = Some(e),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ReturnError {
    ReturnError::Invalid { field: field.to_string(), message: message.into() }
}

fn backend(e: BackendError) -> ReturnError {
    if e.is_unreachable() { ReturnError::Offline(e) } else { ReturnError::Backend(e) }
}

/// The returns service.
#[derive(Clone)]
pub struct Returns {
    journal: Journal,
    backend: AcquirerClient,
    printer: PrinterService,
    store: StoreSection,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    outbox: crate::outbox::SyncHandle,
    /// One return at a time: what is refundable is read and the refund queued as one step,
    /// so two returns of one purchase cannot both take the same money.
    one_at_a_time: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Returns {
    /// Prints the receipt of a return the sync worker completed after the register was
    /// answered 202 (refunded once the acquirer answered again), and journals that it did.
    pub async fn print_completed(&self, record: ReturnRecord) -> Result<ReturnRecord, StoreError> {
        if record.state != ReturnState::Refunded || record.receipt_printed {
            return Ok(record);
        }
        let doc = receipt::return_document(&record, crate::checkout::ReceiptHeader::of(&self.store));
        let printed = self.printer.print(doc).await.map_err(|e| e.to_string());
        self.journal.amend_return(record.id.clone(), move |r| mark_printed(r, printed)).await
    }

    /// A returns service.
    pub fn new(
        journal: Journal,
        backend: AcquirerClient,
        printer: PrinterService,
        store: StoreSection,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
        outbox: crate::outbox::SyncHandle,
    ) -> Self {
        Returns { journal, backend, printer, store, metrics, outbox, one_at_a_time: Default::default() }
    }

    /// A return by id or reference.
    pub async fn get(&self, id: &str) -> Result<Option<ReturnRecord>, ReturnError> {
        Ok(self.journal.find_return(id.to_string()).await?)
    }

    /// Makes a register's return; answers the journaled return and whether it is new.
    pub async fn create(&self, req: NewReturn) -> Result<(ReturnRecord, bool), ReturnError> {
        self.create_by(req, Refunder::default()).await
    }

    /// Makes a return for `by`: one over its limit is refused before anything is
    /// journaled or refunded.
    pub async fn create_by(&self, req: NewReturn, by: Refunder) -> Result<(ReturnRecord, bool), ReturnError> {
        let _one = self.one_at_a_time.lock().await;
        check_references(&req)?;
        if let Some(r) = &req.reference {
            if let Some(existing) = self.journal.find_return(r.clone()).await? {
                if !is_retry_of(&existing, &req) {
                    return Err(ReturnError::ReferenceConflict(r.clone()));
                }
                // A return whose refund outcome was unknown is completed now, same key.
                return match existing.state {
                    ReturnState::Pending => Ok((self.complete(existing).await?, false)),
                    _ => Ok((existing, false)),
                };
            }
        }
        if !req.lines.is_empty() && req.amount.is_some() {
            return Err(invalid("amount", "give lines or an amount, not both"));
        }
        let tx = self.purchase(&req.original_reference).await?;
        let (lines, amount) = refund_of(&tx, &req)?;
        if let Some(limit) = by.limit.filter(|limit| amount > *limit) {
            return Err(ReturnError::OverCashierLimit { amount, limit });
        }
        let mut record = self.new_record(req, &tx, lines, amount).await;
        record.cashier = by.cashier;
        // `complete` journals the return and its queued refund in one transaction.
        Ok((self.complete(record).await?, true))
    }

    /// The purchase to return from: the acquirer's, with this terminal's refunds not yet
    /// forwarded counted; offline, a purchase made at this terminal as its journal knows
    /// it (the refund is queued for the acquirer).
    async fn purchase(&self, reference: &str) -> Result<PaymentTransaction, ReturnError> {
        let lookup = if self.backend.connectivity().is_online() {
            self.backend.order(reference).await
        } else {
            Err(BackendError::Offline)
        };
        match lookup {
            Ok(tx) => {
                let tx = tx.ok_or_else(|| ReturnError::NotFound(reference.to_string()))?;
                self.with_local_refunds(tx, reference).await
            }
            Err(e) if e.is_unreachable() => match self.journaled_purchase(reference).await? {
                Some(tx) => Ok(tx),
                None => Err(ReturnError::Offline(e)),
            },
            Err(e) => Err(backend(e)),
        }
    }

    /// The journaled return, PENDING, under a new id and its idempotency key.
    async fn new_record(
        &self,
        req: NewReturn,
        tx: &PaymentTransaction,
        lines: Vec<LineItem>,
        amount: i64,
    ) -> ReturnRecord {
        let id = uuid::Uuid::new_v4();
        let now = Utc::now();
        // The card of a card purchase made here, for the receipt ("refunded to VISA **** 1111").
        let masked_pan = match tx.method {
            posagent_acquirer_api::PaymentMethod::Card => {
                self.journal.sale(req.original_reference.clone()).await.ok().and_then(|s| s.masked_pan)
            }
            _ => None,
        };
        ReturnRecord {
            idempotency_key: crate::store::operation_key(
                &self.store.terminal_reference,
                &id.to_string(),
                &crate::domain::Operation::Refund,
            ),
            id: id.to_string(),
            reference: req.reference.unwrap_or_else(|| {
                format!("{}-R{}", self.store.terminal_reference, &id.simple().to_string()[..11]).to_ascii_uppercase()
            }),
            original_reference: req.original_reference,
            payment_transaction_id: tx.payment_transaction_id.clone(),
            klarna_reference: tx.klarna_reference.clone(),
            method: tx.method,
            masked_pan,
            amount,
            currency: tx.currency,
            lines,
            state: ReturnState::Pending,
            reason: None,
            payment_refund_id: None,
            receipt_printed: false,
            receipt_error: None,
            locale: self.store.locale.clone(),
            cashier: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A purchase of this terminal as its journal knows it, shaped like the acquirer's
    /// transaction: what was captured (or is queued to be) and what was returned since.
    async fn journaled_purchase(&self, reference: &str) -> Result<Option<PaymentTransaction>, ReturnError> {
        let sale = match self.journal.sale(reference.to_string()).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if sale.state != SaleState::Approved || sale.offline == Some(OfflineStatus::Declined) {
            return Ok(None);
        }
        let unforwarded_capture = if sale.offline == Some(OfflineStatus::Queued) && sale.capture == CaptureMode::Now {
            sale.amount
        } else {
            0
        };
        let captured = sale.captured_amount + sale.queued_capture_amount + unforwarded_capture;
        let returns = self.journal.returns_of(sale.reference.clone()).await?;
        let refunds: Vec<Refund> = returns.iter().filter(|r| r.state != ReturnState::Refused).map(as_refund).collect();
        Ok(Some(PaymentTransaction {
            payment_transaction_id: sale.payment_transaction_id.clone().unwrap_or_default(),
            payment_transaction_reference: sale.reference.clone(),
            klarna_reference: sale.klarna_reference.clone().unwrap_or_default(),
            method: sale.method,
            authorization_code: None,
            state: TransactionState::Authorized,
            amount: sale.amount,
            captured_amount: captured,
            refunded_amount: refunds.iter().map(|r| r.amount).sum(),
            currency: sale.currency,
            payment_captures: vec![],
            payment_refunds: refunds,
            line_items: sale.order_lines.clone(),
            created_at: sale.created_at,
            expires_at: sale.created_at,
        }))
    }

    /// The acquirer's view of a purchase, with this terminal's refunds it does not show
    /// (yet): queued, or sent without an answer. They count against what is refundable,
    /// by amount and by line, as the acquirer's own do.
    async fn with_local_refunds(
        &self,
        mut tx: PaymentTransaction,
        original_reference: &str,
    ) -> Result<PaymentTransaction, ReturnError> {
        // A purchase of this terminal with captures still queued (answered 202 to the
        // register): they go out before any refund of the payment, so they count as
        // captured — each once, not when the acquirer already holds it.
        if let Ok(sale) = self.journal.sale(original_reference.to_string()).await {
            let taken: std::collections::HashSet<String> =
                tx.payment_captures.iter().filter_map(|c| c.payment_capture_reference.clone()).collect();
            for c in self.journal.queued_captures(sale.id).await? {
                if !c.reference.is_some_and(|r| taken.contains(&r)) {
                    tx.captured_amount += c.amount;
                }
            }
        }
        let known: std::collections::HashSet<String> =
            tx.payment_refunds.iter().filter_map(|r| r.payment_refund_reference.clone()).collect();
        for r in self.journal.returns_of(original_reference.to_string()).await? {
            if r.state == ReturnState::Refused || known.contains(&r.reference) {
                continue;
            }
            tx.refunded_amount += r.amount;
            tx.payment_refunds.push(as_refund(&r));
        }
        Ok(tx)
    }

    /// Queues the refund with the return's key, in one transaction with the return (the
    /// sync worker leaves it alone for `hold_ms` while it is sent at once).
    async fn enqueue(
        &self,
        record: &ReturnRecord,
        request: &RefundRequest,
        hold_ms: i64,
    ) -> Result<crate::domain::DueOp, ReturnError> {
        let group = match self.journal.sale(record.original_reference.clone()).await {
            Ok(s) => s.id,
            Err(_) => record.payment_transaction_id.clone(),
        };
        let op = crate::domain::NewOp {
            group: group.clone(),
            subject: crate::domain::Subject::Return,
            subject_id: record.id.clone(),
            kind: crate::domain::OpKind::Refund,
            idempotency_key: record.idempotency_key.clone(),
            payment_transaction_id: Some(record.payment_transaction_id.clone()).filter(|t| !t.is_empty()),
            request: serde_json::to_value(request).unwrap_or_default(),
            amount: record.amount,
            currency: record.currency.code().to_string(),
        };
        let id = self.journal.save_return_and_enqueue(record.clone(), op.clone(), hold_ms).await?;
        Ok(op.due(id))
    }

    /// The refund waits in the outbox: the return stays PENDING with the reason.
    async fn left_queued(&self, record: ReturnRecord, why: String) -> Result<ReturnRecord, ReturnError> {
        // On the stored record: the sync worker may have refunded it meanwhile.
        let amended = self
            .journal
            .amend_return(record.id, move |r| {
                if r.state == ReturnState::Pending {
                    r.reason = Some(format!("refund queued for the acquirer: {why}"));
                }
            })
            .await?;
        self.outbox.wake();
        Ok(amended)
    }

    /// Asks for the refund of a journaled return and prints its receipt. When the
    /// acquirer cannot be reached the return stays PENDING (answered as such); asking
    /// again with the same reference completes it with the same idempotency key.
    /// Outbox first: the refund is queued with the return, then asked for at once.
    async fn complete(&self, mut record: ReturnRecord) -> Result<ReturnRecord, ReturnError> {
        use crate::domain::{Effect, ReturnEffect};
        use crate::outbox::{Answer, Applied};
        use crate::store::Patched;
        // A Klarna purchase of this terminal sends its Klarna Network data again.
        let klarna_network_data = match record.method {
            posagent_acquirer_api::PaymentMethod::Klarna => {
                self.journal.sale(record.original_reference.clone()).await.ok().and_then(|s| s.interoperability_data)
            }
            _ => None,
        };
        let refund = RefundRequest {
            amount: record.amount,
            payment_capture_id: None,
            payment_refund_reference: Some(record.reference.clone()),
            klarna_network_data,
            line_items: record.lines.clone(),
        };
        if record.payment_transaction_id.is_empty() {
            self.enqueue(&record, &refund, 0).await?;
            return self.left_queued(record, "the offline payment is not forwarded yet".into()).await;
        }
        let due = self.enqueue(&record, &refund, HOLD_MS).await?;
        // Nothing overtakes what is queued before it for the purchase (a capture still
        // queued, an earlier refund): behind another operation it goes out after it.
        if self.journal.queued_behind(due.id).await? {
            return self
                .left_queued(record, "it waits behind an operation of the purchase queued before it".into())
                .await;
        }
        let answer = if self.backend.connectivity().is_online() {
            self.backend.refund(&record.payment_transaction_id, &refund, &record.idempotency_key).await
        } else {
            Err(BackendError::Offline)
        };
        match answer {
            Ok(after) => match self.outbox.forwarder().apply(&due, Answer::Transaction(after)).await? {
                Applied::Finished(Patched::Return(r)) => record = *r,
                Applied::Later => {
                    return self.left_queued(record, "the acquirer's answer was incomplete".into()).await;
                }
                _ => return Ok(self.journal.find_return(record.id.clone()).await?.unwrap_or(record)),
            },
            Err(e) if e.is_unreachable() => {
                // The outcome is unknown: it stays queued under the same key, refunded once.
                self.outbox.forwarder().later(&due, e.to_string()).await?;
                return self.left_queued(record, e.to_string()).await;
            }
            Err(e) => {
                let refused = Effect::Return(ReturnEffect::Refused { why: e.to_string() });
                match self.journal.discard_op(due.id, refused).await? {
                    Patched::Return(r) => record = *r,
                    _ => return Ok(self.journal.find_return(record.id.clone()).await?.unwrap_or(record)),
                }
            }
        }
        self.metrics.return_done(record.state.as_str());
        if record.state == ReturnState::Refunded && !record.receipt_printed {
            let doc = receipt::return_document(&record, crate::checkout::ReceiptHeader::of(&self.store));
            let printed = self.printer.print(doc).await.map_err(|e| e.to_string());
            record = self.journal.amend_return(record.id.clone(), move |r| mark_printed(r, printed)).await?;
        }
        Ok(record)
    }
}

/// The purchase reference and the register's own reference of a return, in their forms.
fn check_references(req: &NewReturn) -> Result<(), ReturnError> {
    if !reference_is_valid(&req.original_reference, 255) {
        return Err(invalid(
            "original_reference",
            "must be 1 to 255 characters of A-Z, a-z, 0-9, - _ . : / (not only dots)",
        ));
    }
    if let Some(r) = &req.reference {
        if r.is_empty() || r.len() > 64 || !r.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
            return Err(invalid("reference", "must be 1 to 64 characters of A-Z, a-z, 0-9, - _ . /"));
        }
    }
    Ok(())
}

/// The lines and amount to refund of `tx`: the lines brought back, or the amount asked
/// (everything refundable if neither), never more than captured and not yet refunded.
fn refund_of(tx: &PaymentTransaction, req: &NewReturn) -> Result<(Vec<LineItem>, i64), ReturnError> {
    let refundable = tx.refundable();
    let lines = return_lines(tx, &req.lines).map_err(|e| invalid(&e.field, e.message))?;
    let amount =
        if lines.is_empty() { req.amount.unwrap_or(refundable) } else { lines.iter().map(|l| l.total_amount).sum() };
    if amount < 1 || amount > refundable {
        return Err(invalid(
            if req.lines.is_empty() { "amount" } else { "lines" },
            format!(
                "must be 1 to the refundable {refundable} (captured {}, refunded {})",
                tx.captured_amount, tx.refunded_amount
            ),
        ));
    }
    Ok((lines, amount))
}
