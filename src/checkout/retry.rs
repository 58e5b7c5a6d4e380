//! Trying an unpaid sale again: after an acquirer fault (`FAILED`, `ACQUIRER_ERROR`),
//! Klarna not offered, a decline or a cancel, the cashier starts the same purchase again
//! — the same method or another — without the register re-keying it.
//!
//! The new sale's reference is derived from the first sale's (`{first}-R1`, `-R2`, …), so
//! a register resending the retry gets the same new sale back, never a second one.

use super::engine::{Checkout, CheckoutError};
use super::new_sale::NewSale;
use crate::domain::{Sale, SaleState, SaleView};
use posagent_acquirer_api::PaymentMethod;

/// References are at most this long (docs/ecr-api.md).
const MAX_REFERENCE: usize = 64;

/// `POST /v1/sales/{id}/retry` body: the ECR wire type (`posagent-ecr-api`).
pub use posagent_ecr_api::RetrySale;

impl Checkout {
    /// Starts sale `id`'s purchase again as a new sale. Returns it and whether it is new
    /// (false: this retry was asked for before, and that sale is handed back). `cashier`:
    /// the console's cashier asking.
    pub async fn retry_sale(
        &self,
        id: &str,
        request: RetrySale,
        cashier: Option<String>,
    ) -> Result<(SaleView, bool), CheckoutError> {
        let unpaid = self.journal().sale(id.to_string()).await.map_err(|e| match e {
            crate::store::StoreError::NotFound(_) => CheckoutError::NotFound(id.to_string()),
            e => CheckoutError::Store(e),
        })?;
        if !unpaid.state.is_final() || unpaid.state == SaleState::Approved {
            return Err(CheckoutError::NotRetryable(unpaid.state.as_str()));
        }
        let method = request.method.unwrap_or_else(|| own_method(&unpaid).to_string());
        let again = NewSale {
            amount: unpaid.amount,
            currency: unpaid.currency.code().to_string(),
            method: Some(method),
            reference: Some(retry_reference(&unpaid)),
            order_lines: unpaid.order_lines.clone(),
            interoperability_token: unpaid.interoperability_token.clone(),
            interoperability_data: unpaid.interoperability_data.clone(),
            locale: Some(unpaid.locale.clone()),
            // Tried again from the ECR API: a ZVT register's sale (captured by its commit)
            // is an ordinary sale now, captured at authorization, printed here.
            capture: Some(if unpaid.capture_on_commit {
                posagent_acquirer_api::CaptureMode::Now
            } else {
                unpaid.capture
            }),
            cashier,
        };
        let mut valid = self.validate(again)?;
        valid.retry_of = Some(unpaid.retry_of.clone().unwrap_or(unpaid.reference));
        self.start_sale(valid).await
    }
}

/// The method the sale was started with, as the register names it.
fn own_method(sale: &Sale) -> &'static str {
    match (sale.choice.is_some(), sale.method) {
        (true, _) => "CHOICE",
        (false, PaymentMethod::Card) => "CARD",
        (false, _) => "KLARNA",
    }
}

/// `{first}-R{n}`: the n-th retry of the chain's first sale, that reference shortened to
/// keep the whole within [`MAX_REFERENCE`] characters (references are ASCII).
fn retry_reference(unpaid: &Sale) -> String {
    let (first, attempt) = match &unpaid.retry_of {
        Some(first) => {
            let n = unpaid.reference.rsplit_once("-R").and_then(|(_, n)| n.parse::<u32>().ok()).unwrap_or(0);
            (first.as_str(), n.saturating_add(1))
        }
        None => (unpaid.reference.as_str(), 1),
    };
    let suffix = format!("-R{attempt}");
    let keep = MAX_REFERENCE.saturating_sub(suffix.len()).min(first.len());
    format!("{}{suffix}", &first[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale(reference: &str, retry_of: Option<&str>) -> Sale {
        let json = serde_json::json!({
            "id": "s", "reference": reference, "state": "FAILED", "method": "KLARNA", "amount": 100,
            "currency": "SEK", "locale": "sv-SE", "retry_of": retry_of,
            "created_at": "2026-12-02T10:00:00Z", "updated_at": "2026-12-02T10:00:00Z"
        });
        serde_json::from_value(json).unwrap_or_else(|e| panic!("test sale: {e}"))
    }

    #[test]
    fn retries_count_up_from_the_first_sale() {
        assert_eq!(retry_reference(&sale("POS-1", None)), "POS-1-R1");
        assert_eq!(retry_reference(&sale("POS-1-R1", Some("POS-1"))), "POS-1-R2");
        assert_eq!(retry_reference(&sale("POS-1-R9", Some("POS-1"))), "POS-1-R10");
        // A register's own reference that happens to end in -R7 starts its own chain.
        assert_eq!(retry_reference(&sale("A-R7", None)), "A-R7-R1");
    }

    #[test]
    fn a_long_reference_is_shortened_to_fit() {
        let long = "X".repeat(64);
        let first = retry_reference(&sale(&long, None));
        assert_eq!(first.len(), 64);
        assert!(first.ends_with("-R1"));
        let second = retry_reference(&sale(&first, Some(&long)));
        assert_eq!((second.len(), second.ends_with("XX-R2")), (64, true));
    }
}
