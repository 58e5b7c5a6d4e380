//! After the sale: capturing (the rest of) an authorization taken with `capture: LATER`,
//! and voiding what is left. Each call's idempotency key is journaled before it is made:
//! the register's `Idempotency-Key` if it sent one, else one derived from the sale's
//! journaled state, so a retried request never captures twice.

use super::engine::{Checkout, CheckoutError};
use super::sale::{SaleState, SaleView};
use posagent_acquirer_api::CaptureRequest;

impl Checkout {
    fn open_authorization(sale: &super::sale::Sale) -> Result<String, CheckoutError> {
        if sale.state != SaleState::Approved {
            return Err(CheckoutError::NotApproved(sale.state.as_str()));
        }
        if sale.voided {
            return Err(CheckoutError::NothingToCapture("the authorization was voided".into()));
        }
        if sale.captured_amount >= sale.amount {
            return Err(CheckoutError::NothingToCapture("the sale is captured in full".into()));
        }
        sale.payment_transaction_id
            .clone()
            .ok_or_else(|| CheckoutError::NothingToCapture("the sale has no transaction".into()))
    }

    /// Captures `amount` (default: all that remains) of an approved sale.
    pub async fn capture(
        &self,
        id: &str,
        amount: Option<i64>,
        idempotency_key: Option<String>,
    ) -> Result<SaleView, CheckoutError> {
        let d = &self.inner().deps;
        let mut sale = d.journal.sale(id.to_string()).await?;
        let tx = Self::open_authorization(&sale)?;
        let remaining = sale.amount - sale.captured_amount;
        let amount = amount.unwrap_or(remaining);
        if amount < 1 || amount > remaining {
            return Err(CheckoutError::Invalid {
                field: "amount".into(),
                message: format!("must be 1 to the remaining {remaining}"),
            });
        }
        let operation = match &idempotency_key {
            Some(k) => format!("capture:{k}"),
            None => format!("capture:{}:{amount}", sale.captured_amount),
        };
        let key = d.journal.operation_key(&d.store.terminal_reference, &sale.id, &operation).await?;
        // The request must be the same every time its key is sent: derive it from the key.
        let reference: String = format!("{}-C{}", sale.reference, &key[..8]);
        let request = CaptureRequest { amount, payment_capture_reference: Some(reference), line_items: vec![] };
        let after = d.backend.capture(&tx, &request, &key).await.map_err(CheckoutError::Acquirer)?;
        sale.captured_amount = after.captured_amount;
        self.inner().transition(&mut sale, SaleState::Approved, Some(format!("captured {amount}"))).await?;
        Ok(sale.view())
    }

    /// Releases what remains of an approved sale's authorization.
    pub async fn void(&self, id: &str, idempotency_key: Option<String>) -> Result<SaleView, CheckoutError> {
        let d = &self.inner().deps;
        let mut sale = d.journal.sale(id.to_string()).await?;
        let tx = Self::open_authorization(&sale)?;
        let operation = idempotency_key.map(|k| format!("void:{k}")).unwrap_or_else(|| "void".into());
        let key = d.journal.operation_key(&d.store.terminal_reference, &sale.id, &operation).await?;
        let after = d.backend.void(&tx, &key).await.map_err(CheckoutError::Acquirer)?;
        sale.captured_amount = after.captured_amount;
        sale.voided = true;
        self.inner().transition(&mut sale, SaleState::Approved, Some("authorization voided".into())).await?;
        Ok(sale.view())
    }
}
