//! After the sale: capturing (the rest of) an authorization taken with `capture: LATER`,
//! and voiding what is left. Outbox first: the operation is queued with its idempotency
//! key in the same transaction as the sale's change, then sent at once; a crash in
//! between leaves it to the sync worker, under the same key. The key is the register's
//! `Idempotency-Key` if it sent one (a retried request answers with what the first
//! did), else one derived from the sale's journaled state. While the acquirer is
//! unreachable (or the payment was approved offline and not yet forwarded), or another
//! operation of the payment is still queued ahead of it (a void behind a capture: it goes
//! out after it, never before), the answer says the operation is queued.

use super::engine::{Checkout, CheckoutError};
use super::receipt::{PostPurchaseKind, ReceiptHeader, post_purchase_document};
use crate::domain::{CaptureKey, Effect, NewOp, OpKind, OpState, Operation, SaleEffect, Subject};
use crate::domain::{OfflineStatus, Sale, SaleState, SaleView};
use crate::outbox::{Answer, Applied};
use crate::store::Patched;
use posagent_acquirer_api::{CaptureRequest, PaymentMethod, PaymentTransaction, TransactionState};

/// The outcome of a capture or void: the sale, and whether the operation only got queued.
pub type PostPurchase = (SaleView, bool);

/// How long the sync worker leaves an operation alone while the register's request
/// sends it itself.
const HOLD_MS: i64 = 60_000;
/// How long the register waits for the acquirer's answer to a capture or void sent at
/// once; past it the operation stays queued (202) and goes out by itself, under its key.
const SEND_NOW_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

impl Checkout {
    /// The transaction to act on: `Ok(None)` for an offline payment not forwarded yet.
    fn open_authorization(sale: &Sale) -> Result<Option<String>, CheckoutError> {
        if sale.state != SaleState::Approved {
            return Err(CheckoutError::NotApproved(sale.state.as_str()));
        }
        if sale.voided || sale.void_queued {
            return Err(CheckoutError::NothingToCapture("the authorization was voided".into()));
        }
        if sale.offline == Some(OfflineStatus::Declined) {
            return Err(CheckoutError::NothingToCapture("the offline payment was declined by the acquirer".into()));
        }
        // The acquirer said the authorization ran out (its event or an answer): nothing can
        // be captured or released any more; the register is told so, no request is sent.
        let ended = match sale.transaction_state {
            Some(TransactionState::Expired) => Some("EXPIRED"),
            Some(TransactionState::Closed) => Some("CLOSED"),
            _ => None,
        };
        if let Some(state) = ended {
            return Err(CheckoutError::NothingToCapture(format!(
                "the authorization is {state} at the acquirer: take a new payment"
            )));
        }
        if sale.captured_amount + sale.queued_capture_amount >= sale.amount {
            return Err(CheckoutError::NothingToCapture("the sale is captured in full".into()));
        }
        match (&sale.payment_transaction_id, sale.offline) {
            (Some(tx), _) => Ok(Some(tx.clone())),
            (None, Some(OfflineStatus::Queued)) => Ok(None),
            (None, _) => Err(CheckoutError::NothingToCapture("the sale has no transaction".into())),
        }
    }

    /// Whether `amount` can still be captured from `sale`.
    fn capturable(sale: &Sale, amount: i64) -> Result<(), CheckoutError> {
        Self::open_authorization(sale)?;
        let remaining = sale.amount - sale.captured_amount - sale.queued_capture_amount;
        if amount < 1 || amount > remaining {
            return Err(CheckoutError::Invalid {
                field: "amount".into(),
                message: format!("must be 1 to the remaining {remaining}"),
            });
        }
        Ok(())
    }

    /// Whether to send an operation on `tx` now: the payment is at the acquirer and the
    /// acquirer is not known to be unreachable (then it just queues, without a wait).
    fn sendable(&self, tx: &Option<String>) -> bool {
        tx.is_some() && self.inner().deps.backend.connectivity().is_online()
    }

    /// A request the register retries under its own key is answered with what the first did.
    async fn replayed(&self, sale: &Sale, operation: Option<Operation>) -> Result<Option<PostPurchase>, CheckoutError> {
        let Some(operation) = operation else { return Ok(None) };
        let d = &self.inner().deps;
        let key = crate::store::operation_key(&d.store.terminal_reference, &sale.id, &operation);
        Ok(d.journal.op_by_key(key).await?.map(|op| (sale.view(), op.state == OpState::Pending)))
    }

    /// Captures `amount` (default: all that remains) of an approved sale.
    pub async fn capture(
        &self,
        id: &str,
        amount: Option<i64>,
        idempotency_key: Option<String>,
    ) -> Result<PostPurchase, CheckoutError> {
        let d = &self.inner().deps;
        let sale = d.journal.sale(id.to_string()).await?;
        if let Some(k) = &idempotency_key {
            let operation = Operation::Capture(CaptureKey::Register(k.clone()));
            let key = crate::store::operation_key(&d.store.terminal_reference, &sale.id, &operation);
            if let Some(op) = d.journal.op_by_key(key).await? {
                if amount.is_some_and(|a| a != op.amount) {
                    return Err(CheckoutError::IdempotencyConflict(k.clone()));
                }
            }
        }
        if let Some(done) = self
            .replayed(&sale, idempotency_key.as_ref().map(|k| Operation::Capture(CaptureKey::Register(k.clone()))))
            .await?
        {
            return Ok(done);
        }
        let tx = Self::open_authorization(&sale)?;
        let amount = amount.unwrap_or(sale.amount - sale.captured_amount - sale.queued_capture_amount);
        Self::capturable(&sale, amount)?;
        let operation = Operation::Capture(match &idempotency_key {
            Some(k) => CaptureKey::Register(k.clone()),
            None => CaptureKey::Next { before: sale.captured_amount + sale.queued_capture_amount, amount },
        });
        let key = d.journal.operation_key(&d.store.terminal_reference, &sale.id, &operation).await?;
        // The request must be the same every time its key is sent: derive it from the key.
        let reference: String = format!("{}-C{}", sale.reference, &key[..8]);
        let request = CaptureRequest {
            amount,
            payment_capture_reference: Some(reference),
            // Klarna asks for the Klarna Network data again with the capture.
            klarna_network_data: sale.interoperability_data.clone().filter(|_| sale.method == PaymentMethod::Klarna),
            line_items: vec![],
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        // Checked again on the journaled record as it is queued: a capture or void that
        // raced this one may have taken what was left.
        let queued = move |s: &mut Sale| {
            Self::capturable(s, amount)?;
            s.queued_capture_amount += amount;
            Ok(())
        };
        let undo = Effect::Sale(SaleEffect::CaptureUndone { amount });
        let backend = d.backend.clone();
        let (tx2, key2) = (tx.clone(), key.clone());
        let call = self
            .sendable(&tx)
            .then_some(async move { backend.capture(&tx2.unwrap_or_default(), &request, &key2).await });
        let done = self
            .queue_and_send(
                sale,
                OpKind::Capture,
                key,
                tx,
                body,
                amount,
                format!("capture of {amount}"),
                call,
                queued,
                undo,
            )
            .await?;
        self.print_post_purchase(&done, PostPurchaseKind::Capture(amount)).await;
        Ok(done)
    }

    /// Prints the receipt of a capture or void the register was answered for (the
    /// answer does not wait for the paper; a printer fault is logged).
    async fn print_post_purchase(&self, (view, queued): &PostPurchase, kind: PostPurchaseKind) {
        let d = &self.inner().deps;
        let Ok(sale) = d.journal.sale(view.id.clone()).await else { return };
        if sale.receipt_by_register || (sale.capture_on_commit && matches!(kind, PostPurchaseKind::Capture(_))) {
            return; // the register prints its own (ZVT); the commit's capture is the sale's own
        }
        let doc = post_purchase_document(&sale, (ReceiptHeader::of(&d.store), chrono::Utc::now()), kind, *queued);
        let printer = d.printer.clone();
        d.tasks.spawn(async move {
            if let Err(e) = printer.print(doc).await {
                tracing::warn!(error = %e, "the capture or void receipt could not be printed");
            }
        });
    }

    /// Releases what remains of an approved sale's authorization.
    pub async fn void(&self, id: &str, idempotency_key: Option<String>) -> Result<PostPurchase, CheckoutError> {
        let d = &self.inner().deps;
        let sale = d.journal.sale(id.to_string()).await?;
        if let Some(done) =
            self.replayed(&sale, idempotency_key.as_ref().map(|k| Operation::Void(Some(k.clone())))).await?
        {
            return Ok(done);
        }
        let tx = Self::open_authorization(&sale)?;
        let operation = Operation::Void(idempotency_key);
        let key = d.journal.operation_key(&d.store.terminal_reference, &sale.id, &operation).await?;
        let queued = |s: &mut Sale| {
            Self::open_authorization(s)?;
            s.void_queued = true;
            Ok(())
        };
        let undo = Effect::Sale(SaleEffect::VoidUndone);
        let backend = d.backend.clone();
        let (tx2, key2) = (tx.clone(), key.clone());
        let call = self.sendable(&tx).then_some(async move { backend.void(&tx2.unwrap_or_default(), &key2).await });
        let done = self
            .queue_and_send(sale, OpKind::Void, key, tx, serde_json::json!({}), 0, "void".into(), call, queued, undo)
            .await?;
        self.print_post_purchase(&done, PostPurchaseKind::Release).await;
        Ok(done)
    }

    /// Journals `sale` with the operation queued, then sends it with `call` (`None`: the
    /// payment is not at the acquirer yet, so it waits for the sync worker).
    #[allow(clippy::too_many_arguments)]
    async fn queue_and_send<F>(
        &self,
        sale: Sale,
        kind: OpKind,
        key: String,
        tx: Option<String>,
        request: serde_json::Value,
        amount: i64,
        what: String,
        call: Option<F>,
        queued: impl FnOnce(&mut Sale) -> Result<(), CheckoutError> + Send + 'static,
        undo: Effect,
    ) -> Result<PostPurchase, CheckoutError>
    where
        F: std::future::Future<Output = Result<PaymentTransaction, crate::backend::BackendError>>,
    {
        let d = &self.inner().deps;
        let op = NewOp {
            group: sale.id.clone(),
            subject: Subject::Sale,
            subject_id: sale.id.clone(),
            kind,
            idempotency_key: key.clone(),
            payment_transaction_id: tx.clone(),
            request: request.clone(),
            amount,
            currency: sale.currency.code().to_string(),
        };
        let hold = if call.is_some() { HOLD_MS } else { 0 };
        let what =
            if call.is_some() { what } else { format!("{what} (acquirer unreachable or payment not forwarded yet)") };
        let (now, id) =
            self.inner().amend_checked(&sale.id, format!("{what} queued"), queued, Some((op.clone(), hold))).await??;
        let (sale, id) = (now, id.unwrap_or_default());
        let Some(call) = call else { return Ok((sale.view(), true)) };
        // One order for a payment's money operations: nothing overtakes what is queued
        // before it (a void sent ahead of a queued capture would release what the
        // capture was promised). Behind another, it goes out after it, by the worker.
        if d.journal.queued_behind(id).await? {
            d.outbox.wake();
            return Ok((sale.view(), true));
        }
        let due = op.due(id);
        let forwarder = d.outbox.forwarder();
        // Past the budget the register is answered now; the queued operation is sent
        // again under the same key once the hold is over (the acquirer books it once).
        let answer = super::flow::within_budget(self.inner(), SEND_NOW_BUDGET, call).await;
        let applied = match answer {
            Err(e) if !e.is_unreachable() => {
                if let Patched::Sale(s) = d.journal.discard_op(id, undo).await? {
                    self.publish(&s);
                }
                return Err(CheckoutError::Acquirer(e));
            }
            Err(e) => forwarder.later(&due, e.to_string()).await?,
            Ok(t) => forwarder.apply(&due, Answer::Transaction(t)).await?,
        };
        match applied {
            Applied::Finished(Patched::Sale(s)) => {
                self.publish(&s);
                Ok((s.view(), false))
            }
            Applied::Later => {
                d.outbox.wake();
                Ok((sale.view(), true))
            }
            _ => {
                let now = d.journal.sale(sale.id.clone()).await?;
                Ok((now.view(), false))
            }
        }
    }
}
