//! Card authorizations: the encrypted read is decrypted (AES DUKPT, the test BDK) and
//! must match the masked PAN, the amount and the currency, and not be a replay; test
//! cards are chosen by the last four digits of the decrypted PAN:
//! `0002` declined, `9995` insufficient funds, `0069` expired card, `3220` PIN required
//! (approved once a PIN block is sent); any other card is approved.

use super::state::{Books, Refusal, invalid};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::{AuthorizeRequest, AuthorizeResponse};

/// The PIN of the test cards (the simulated reader's customer types it).
pub const TEST_PIN: &str = "1234";

/// Test cards: last four digits → decline reason.
pub const TEST_CARDS: &[(&str, &str)] =
    &[("0002", "DO_NOT_HONOR"), ("9995", "INSUFFICIENT_FUNDS"), ("0069", "EXPIRED_CARD"), ("3220", "PIN_REQUIRED")];

impl Books {
    /// `POST /v1/payments/authorize` with `method = CARD`.
    pub(super) fn authorize_card(
        &mut self,
        req: &AuthorizeRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<AuthorizeResponse, Refusal> {
        let card = req.card.as_ref().ok_or_else(|| invalid("card", "a card payment needs the encrypted card read"))?;
        // One transaction per reference: a second card read for a sale already charged
        // (its first answer lost, say) must not charge it again.
        let reference = &req.payment_transaction_reference;
        if self.transactions.values().any(|t| &t.payment_transaction_reference == reference) {
            return Err(Refusal::Forbidden(
                "a payment transaction already exists under this reference; read it by reference".into(),
            ));
        }
        if !card.is_masked() {
            return Err(invalid("card.masked_pan", "must be a masked PAN (first 6 and last 4 digits, `*` between)"));
        }
        if card.encrypted_payload.is_empty() || card.key_serial_number.is_empty() {
            return Err(invalid("card.encrypted_payload", "the encrypted payload and key serial number are required"));
        }
        if !["CHIP", "CONTACTLESS", "SWIPE"].contains(&card.entry_mode.as_str()) {
            return Err(invalid("card.entry_mode", "must be CHIP, CONTACTLESS or SWIPE"));
        }
        // Decrypt (AES DUKPT) and check the read belongs to this authorization.
        let read = crate::card_crypto::verify_card_read(card, req.amount, req.currency.code())
            .map_err(|r| invalid(r.parameter, r.reason))?;
        let ksn = card.key_serial_number.to_ascii_uppercase();
        match self.card_reads.get(&ksn) {
            Some(k) if k != key => {
                return Err(invalid("card.key_serial_number", "this card read was already used (a replayed read)"));
            }
            _ => {
                self.card_reads.insert(ksn, key.to_string());
            }
        }
        let last4 = read.pan.get(read.pan.len().saturating_sub(4)..).unwrap_or("");
        let decline = TEST_CARDS.iter().find(|(l4, _)| *l4 == last4).map(|(_, why)| *why);
        let decline = match (decline, read.pin.as_deref()) {
            (Some("PIN_REQUIRED"), Some(TEST_PIN)) => None,
            (Some("PIN_REQUIRED"), Some(_)) => Some("INCORRECT_PIN"),
            (other, _) => other,
        };
        if let Some(reason) = decline {
            return Ok(AuthorizeResponse::declined(reason.to_string()));
        }
        let tx = self.create_transaction(req, key, now);
        Ok(AuthorizeResponse::approved(tx))
    }
}
