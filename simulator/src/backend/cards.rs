//! Card authorizations with test cards chosen by the last four digits of the masked PAN:
//! `0002` declined, `9995` insufficient funds, `0069` expired card, `3220` PIN required
//! (approved once a PIN block is sent); any other card is approved.

use super::state::{Books, Refusal, invalid};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::{AuthorizeRequest, AuthorizeResponse};

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
        if !card.is_masked() {
            return Err(invalid("card.masked_pan", "must be a masked PAN (first 6 and last 4 digits, `*` between)"));
        }
        if card.encrypted_payload.is_empty() || card.key_serial_number.is_empty() {
            return Err(invalid("card.encrypted_payload", "the encrypted payload and key serial number are required"));
        }
        if !["CHIP", "CONTACTLESS", "SWIPE"].contains(&card.entry_mode.as_str()) {
            return Err(invalid("card.entry_mode", "must be CHIP, CONTACTLESS or SWIPE"));
        }
        let decline = TEST_CARDS.iter().find(|(last4, _)| *last4 == card.last4()).map(|(_, why)| *why);
        let decline = match decline {
            Some("PIN_REQUIRED") if card.pin_block.is_some() => None,
            other => other,
        };
        if let Some(reason) = decline {
            return Ok(AuthorizeResponse::declined(reason.to_string()));
        }
        let tx = self.create_transaction(req, key, now);
        Ok(AuthorizeResponse::approved(tx))
    }
}
