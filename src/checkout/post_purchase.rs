//! After the sale: capturing (the rest of) an authorization taken with `capture: LATER`,
//! and voiding what is left. Each call's idempotency key is journaled before it is made:
//! the register's `Idempotency-Key` if it sent one, else one derived from the sale's
//! journaled state, so a retried request never captures twice. While the acquirer is
//! unreachable (or the payment was approved offline and not yet forwarded) the
//! operation is queued in the outbox under that same key and answered as queued.

use super::engine::{Checkout, CheckoutError};
use super::sale::{OfflineStatus, Sale, SaleState, SaleView};
use crate::outbox::{NewOp, OpKind, Subject};
use posagent_acquirer_api::CaptureRequest;

/// The outcome of a capture or void: the sale, and whether the operation only got queued.
pub type PostPurchase = (SaleView, bool);

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
        if sale.captured_amount + sale.queued_capture_amount >= sale.amount {
            return Err(CheckoutError::NothingToCapture("the sale is captured in full".into()));
        }
        match (&sale.payment_transaction_id, sale.offline) {
            (Some(tx), _) => Ok(Some(tx.clone())),
            (None, Some(OfflineStatus::Queued)) => Ok(None),
            (None, _) => Err(CheckoutError::NothingToCapture("the sale has no transaction".into())),
        }
    }

    fn queued_op(
        sale: &Sale,
        kind: OpKind,
        key: String,
        tx: Option<String>,
        request: serde_json::Value,
        amount: i64,
    ) -> NewOp {
        NewOp {
            group: sale.id.clone(),
            subject: Subject::Sale,
            subject_id: sale.id.clone(),
            kind,
            idempotency_key: key,
            payment_transaction_id: tx,
            request,
            amount,
            currency: sale.currency.code().to_string(),
        }
    }

    /// Captures `amount` (default: all that remains) of an approved sale.
    pub async fn capture(
        &self,
        id: &str,
        amount: Option<i64>,
        idempotency_key: Option<String>,
    ) -> Result<PostPurchase, CheckoutError> {
        let d = &self.inner().deps;
        let mut sale = d.journal.sale(id.to_string()).await?;
        let tx = Self::open_authorization(&sale)?;
        let remaining = sale.amount - sale.captured_amount - sale.queued_capture_amount;
        let amount = amount.unwrap_or(remaining);
        if amount < 1 || amount > remaining {
            return Err(CheckoutError::Invalid {
                field: "amount".into(),
                message: format!("must be 1 to the remaining {remaining}"),
            });
        }
        let operation = match &idempotency_key {
            Some(k) => format!("capture:{k}"),
            None => format!("capture:{}:{amount}", sale.captured_amount + sale.queued_capture_amount),
        };
        let key = d.journal.operation_key(&d.store.terminal_reference, &sale.id, &operation).await?;
        // The request must be the same every time its key is sent: derive it from the key.
        let reference: String = format!("{}-C{}", sale.reference, &key[..8]);
        let request = CaptureRequest { amount, payment_capture_reference: Some(reference), line_items: vec![] };
        let failure = match &tx {
            Some(tx) => match d.backend.capture(tx, &request, &key).await {
                Ok(after) => {
                    sale.captured_amount = after.captured_amount;
                    self.inner().transition(&mut sale, SaleState::Approved, Some(format!("captured {amount}"))).await?;
                    return Ok((sale.view(), false));
                }
                Err(e) if e.is_unreachable() => e.to_string(),
                Err(e) => return Err(CheckoutError::Acquirer(e)),
            },
            None => "the offline payment is not forwarded yet".to_string(),
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        let op = Self::queued_op(&sale, OpKind::Capture, key, tx, body, amount);
        sale.queued_capture_amount += amount;
        self.inner()
            .transition_queuing(
                &mut sale,
                SaleState::Approved,
                Some(format!("capture of {amount} queued: {failure}")),
                Some(op),
            )
            .await?;
        Ok((sale.view(), true))
    }

    /// Releases what remains of an approved sale's authorization.
    pub async fn void(&self, id: &str, idempotency_key: Option<String>) -> Result<PostPurchase, CheckoutError> {
        let d = &self.inner().deps;
        let mut sale = d.journal.sale(id.to_string()).await?;
        let tx = Self::open_authorization(&sale)?;
        let operation = idempotency_key.map(|k| format!("void:{k}")).unwrap_or_else(|| "void".into());
        let key = d.journal.operation_key(&d.store.terminal_reference, &sale.id, &operation).await?;
        let failure = match &tx {
            Some(tx) => match d.backend.void(tx, &key).await {
                Ok(after) => {
                    sale.captured_amount = after.captured_amount;
                    sale.voided = true;
                    self.inner()
                        .transition(&mut sale, SaleState::Approved, Some("authorization voided".into()))
                        .await?;
                    return Ok((sale.view(), false));
                }
                Err(e) if e.is_unreachable() => e.to_string(),
                Err(e) => return Err(CheckoutError::Acquirer(e)),
            },
            None => "the offline payment is not forwarded yet".to_string(),
        };
        let op = Self::queued_op(&sale, OpKind::Void, key, tx, serde_json::json!({}), 0);
        sale.void_queued = true;
        self.inner()
            .transition_queuing(&mut sale, SaleState::Approved, Some(format!("void queued: {failure}")), Some(op))
            .await?;
        Ok((sale.view(), true))
    }
}
