//! A sale as the register asks for it, and its validation.

use super::engine::CheckoutError;
use crate::config::{LimitsConfig, StoreSection};
use crate::domain::{MethodChoice, Sale, SaleState};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::lines::validate_lines;
use posagent_acquirer_api::validate::{check_interoperability_text, check_interoperability_token};
use posagent_acquirer_api::{CaptureMode, Currency, LineItem, PaymentMethod};
use serde::Deserialize;

/// `POST /v1/sales` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSale {
    /// Amount in minor units (`100` or `100.0`; never a fraction).
    #[serde(deserialize_with = "posagent_acquirer_api::integer::de")]
    pub amount: i64,
    /// ISO 4217 currency; must be the store's.
    pub currency: String,
    /// `KLARNA` (default), `CARD`, or `CHOICE`: the display offers every method available
    /// for the purchase and the customer's choice is sent with `POST /v1/sales/{id}/method`.
    #[serde(default)]
    pub method: Option<String>,
    /// The register's own unique reference; a retry with the same reference returns the same sale.
    #[serde(default)]
    pub reference: Option<String>,
    /// Order lines (Klarna Network naming); when given they must sum to `amount`.
    #[serde(default)]
    pub order_lines: Vec<LineItem>,
    /// Klarna interoperability token, forwarded byte for byte.
    #[serde(default)]
    pub interoperability_token: Option<String>,
    /// Klarna Network data (a serialized JSON string), forwarded byte for byte; also read
    /// under Klarna's current name `klarna_network_data`.
    #[serde(default, alias = "klarna_network_data")]
    pub interoperability_data: Option<String>,
    /// Locale of the customer's texts; the store's by default.
    #[serde(default)]
    pub locale: Option<String>,
    /// `NOW` (default: captured at authorization) or `LATER` (the register captures or voids).
    #[serde(default)]
    pub capture: Option<CaptureMode>,
    /// The cashier signed in at the console that asks for it (never read from a body).
    #[serde(skip)]
    pub cashier: Option<String>,
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct ValidSale {
    pub amount: i64,
    pub currency: Currency,
    pub method: PaymentMethod,
    /// The customer chooses on the terminal.
    pub choice: bool,
    pub reference: Option<String>,
    pub order_lines: Vec<LineItem>,
    pub interoperability_token: Option<String>,
    pub interoperability_data: Option<String>,
    pub locale: String,
    pub capture: CaptureMode,
    /// The reference of the unpaid sale this one tries again.
    pub retry_of: Option<String>,
    /// Who prints the sale's receipts.
    pub receipts: ReceiptPrinting,
    /// Captured when the register takes the result (ZVT), not by the register's call.
    pub capture_on_commit: bool,
    /// The console's cashier.
    pub cashier: Option<String>,
}

/// Who prints a sale's receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiptPrinting {
    /// The terminal's printer (every ECR-API sale).
    #[default]
    Terminal,
    /// The register, from what the terminal hands it (a ZVT register that prints).
    Register,
}

impl ValidSale {
    /// Whether `existing`, journaled under this request's reference, is this same request
    /// (a register's retry): amount, currency, capture mode, lines, locale, customer
    /// token, method (or the customer's choice) and what it tries again all agree.
    pub fn same_request(&self, existing: &Sale) -> bool {
        existing.amount == self.amount
            && existing.currency == self.currency
            && existing.capture == self.capture
            && existing.order_lines == self.order_lines
            && existing.locale == self.locale
            && existing.interoperability_token == self.interoperability_token
            && existing.choice.is_some() == self.choice
            && existing.retry_of == self.retry_of
            && existing.receipt_by_register == (self.receipts == ReceiptPrinting::Register)
            && (self.choice || existing.method == self.method)
    }

    /// The sale as first journaled: `CREATED`, nothing heard from anyone yet.
    pub fn into_sale(self, id: String, reference: String, now: DateTime<Utc>) -> Sale {
        Sale {
            id,
            reference,
            state: SaleState::Created,
            method: self.method,
            choice: self.choice.then(|| MethodChoice {
                offered: vec![],
                chosen: false,
                klarna_unavailable_reason: None,
            }),
            amount: self.amount,
            currency: self.currency,
            order_lines: self.order_lines,
            locale: self.locale,
            interoperability_token: self.interoperability_token,
            interoperability_data: self.interoperability_data,
            payment_option: None,
            interoperability_status: None,
            payment_request_id: None,
            payment_request_url: None,
            payment_request_expires_at: None,
            qr_shown_at: None,
            session_token: None,
            payment_transaction_id: None,
            klarna_reference: None,
            masked_pan: None,
            entry_mode: None,
            cvm: None,
            aid: None,
            application_label: None,
            authorization_code: None,
            pin_required: false,
            reason: None,
            retry_of: self.retry_of,
            capture: self.capture,
            captured_amount: 0,
            voided: false,
            cancel_requested: false,
            offline: None,
            queued_capture_amount: 0,
            void_queued: false,
            sync_error: None,
            reversal: None,
            transaction_state: None,
            refunded_amount: 0,
            receipt_printed: false,
            receipt_print_started: false,
            receipt_error: None,
            cashier: self.cashier,
            receipt_by_register: self.receipts == ReceiptPrinting::Register,
            capture_on_commit: self.capture_on_commit,
            created_at: now,
            approved_at: None,
            updated_at: now,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> CheckoutError {
    CheckoutError::Invalid { field: field.to_string(), message: message.into() }
}

impl NewSale {
    /// Checks the request against the store and its limits.
    pub(crate) fn validate(
        self,
        store: &StoreSection,
        limits: &LimitsConfig,
        has_card_reader: bool,
    ) -> Result<ValidSale, CheckoutError> {
        let currency = Currency::parse(&self.currency).map_err(|e| invalid("currency", e.to_string()))?;
        if currency != store.currency {
            return Err(invalid("currency", format!("this store sells in {}; got {}", store.currency, currency)));
        }
        if self.amount < 1 || self.amount > limits.max_amount {
            return Err(invalid("amount", format!("must be 1 to {} minor units", limits.max_amount)));
        }
        let mut choice = false;
        let method = match self.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("KLARNA") => PaymentMethod::Klarna,
            // Without a card reader Klarna is the only method: nothing to choose.
            Some("CHOICE") => {
                choice = has_card_reader;
                PaymentMethod::Klarna
            }
            Some("CARD") if has_card_reader => PaymentMethod::Card,
            Some("CARD") => {
                return Err(CheckoutError::MethodNotSupported(
                    "card payments need a secure card reader, which this terminal's profile does not have; use KLARNA"
                        .into(),
                ));
            }
            Some(other) => {
                return Err(invalid(
                    "method",
                    format!("`{other}` is not a payment method; use KLARNA, CARD or CHOICE"),
                ));
            }
        };
        if let Some(r) = &self.reference {
            if r.is_empty() || r.len() > 64 || !r.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                return Err(invalid("reference", "must be 1 to 64 characters of A-Z, a-z, 0-9, - _ . /"));
            }
        }
        validate_lines("order_lines", &self.order_lines, self.amount).map_err(|e| invalid(&e.field, e.reason))?;
        if let Some(token) = &self.interoperability_token {
            check_interoperability_token(token).map_err(|m| invalid("interoperability_token", m))?;
        }
        if let Some(data) = &self.interoperability_data {
            check_interoperability_text(data).map_err(|m| invalid("interoperability_data", m))?;
        }
        if let Some(data) = &self.interoperability_data {
            if serde_json::from_str::<serde_json::Value>(data).is_err() {
                return Err(invalid("interoperability_data", "must be a serialized JSON string, as Klarna issues it"));
            }
        }
        let locale = self.locale.unwrap_or_else(|| store.locale.clone());
        if !crate::config::valid_locale(&locale) {
            return Err(invalid("locale", format!("`{locale}` is not a locale like \"sv-SE\"")));
        }
        Ok(ValidSale {
            amount: self.amount,
            currency,
            method,
            choice,
            reference: self.reference,
            order_lines: self.order_lines,
            interoperability_token: self.interoperability_token,
            interoperability_data: self.interoperability_data,
            locale,
            capture: self.capture.unwrap_or(CaptureMode::Now),
            retry_of: None,
            receipts: ReceiptPrinting::Terminal,
            capture_on_commit: false,
            cashier: self.cashier,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_acquirer_api::Currency;

    fn store() -> StoreSection {
        StoreSection {
            store_reference: "s".into(),
            terminal_reference: "t".into(),
            name: "n".into(),
            country: "SE".into(),
            currency: Currency::SEK,
            locale: "sv-SE".into(),
            logo: None,
            merchant_copy: false,
            address: vec![],
            vat_number: None,
            time_zone: Default::default(),
        }
    }

    fn card_sale() -> NewSale {
        serde_json::from_value(serde_json::json!({"amount": 100, "currency": "SEK", "method": "card"}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn card_needs_a_card_reader() {
        let limits = LimitsConfig::default();
        assert!(matches!(card_sale().validate(&store(), &limits, false), Err(CheckoutError::MethodNotSupported(_))));
        assert!(matches!(card_sale().validate(&store(), &limits, true), Ok(v) if v.method == PaymentMethod::Card));
    }
}
