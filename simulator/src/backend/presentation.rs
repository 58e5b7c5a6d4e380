//! What the simulated acquirer checks and keeps of Klarna's presentation and Klarna
//! Network data: the payment option an authorization names was served for its market,
//! currency and amount; the interaction expiry and purchase reference are Klarna's; what
//! came with each authorization, capture and refund is kept for the tests to read
//! (`GET /sim/interoperability`).

use super::descriptors;
use super::state::{Books, Refusal, invalid};
use posagent_acquirer_api::{AuthorizeRequest, KlarnaData, PaymentTransaction};
use serde::Serialize;

/// Interoperability token and Klarna Network data as received with an authorization, a
/// capture or a refund (so tests can prove they arrive byte for byte).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedKlarnaData {
    /// `AUTHORIZE`, `CAPTURE` or `REFUND`.
    pub operation: &'static str,
    /// Sale reference.
    pub reference: String,
    /// Token as received.
    pub interoperability_token: Option<String>,
    /// Klarna Network data as received.
    pub interoperability_data: Option<String>,
    /// Payment option id as received (authorizations only).
    pub payment_option_id: Option<String>,
    /// Purchase reference as received (authorizations only).
    pub purchase_reference: Option<String>,
}

impl Books {
    /// Klarna's checks of what the terminal took from the presentation: the payment
    /// option is one served for this market, currency and amount (or the served test
    /// wording's), the interaction expiry is 15 minutes to 48 hours, the purchase
    /// reference 1 to 255 characters.
    pub(super) fn check_presentation(&self, req: &AuthorizeRequest, klarna: &KlarnaData) -> Result<(), Refusal> {
        if let Some(id) = &klarna.payment_option_id {
            let served = descriptors::option_id(&req.locale, req.currency.code(), req.amount);
            let test_wording = self.wording.as_ref().is_some_and(|w| &w.payment_option_id == id);
            if *id != served && !test_wording {
                return Err(invalid(
                    "klarna.payment_option_id",
                    "is not the payment option served for this locale, currency and amount: ask availability again",
                ));
            }
        }
        if req.interaction_expiry.as_ref().is_some_and(|e| !e.is_valid()) {
            return Err(invalid(
                "interaction_expiry.duration",
                "must be an ISO 8601 duration of 15 minutes to 48 hours",
            ));
        }
        if req.purchase_reference.as_ref().is_some_and(|r| r.is_empty() || r.chars().count() > 255) {
            return Err(invalid("purchase_reference", "must be 1 to 255 characters"));
        }
        Ok(())
    }

    /// Keeps the Klarna Network data a capture or refund of `tx` carried (its length was
    /// checked before any money moved).
    pub(super) fn receive_network_data(
        &mut self,
        operation: &'static str,
        tx: &PaymentTransaction,
        data: Option<&String>,
    ) {
        if let Some(data) = data {
            self.received_klarna_data.push(ReceivedKlarnaData {
                operation,
                reference: tx.payment_transaction_reference.clone(),
                interoperability_token: None,
                interoperability_data: Some(data.clone()),
                payment_option_id: None,
                purchase_reference: None,
            });
        }
    }

    /// Interoperability tokens and Klarna Network data received so far.
    pub fn received_klarna_data(&self) -> &[ReceivedKlarnaData] {
        &self.received_klarna_data
    }
}
