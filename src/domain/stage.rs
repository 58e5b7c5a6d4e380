//! Where a sale is, with what that stage owns: the payment request while its QR code is
//! up, the session token once the customer completed, the transaction once approved, the
//! outcome and its reason once it ended. Derived from the journaled row
//! ([`Sale::stage`]) and written back to it ([`Sale::enter`]): the row stays what the
//! journal stores, so journals of earlier releases read as they are.

use super::reason::EndReason;
use super::sale::{OfflineStatus, Sale, SaleState};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::{PaymentMethod, PaymentTransaction, TransactionState};

/// The payment request of a Klarna sale whose QR code is (or was) up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrRequest {
    /// The acquirer's id of the payment request.
    pub id: String,
    /// The URL in the QR code.
    pub url: Option<String>,
    /// When the payment request expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the QR code went up (the terminal's own timeout counts from here).
    pub shown_at: Option<DateTime<Utc>>,
}

/// What an approved sale keeps of the acquirer's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The acquirer's transaction.
    pub payment_transaction_id: String,
    /// The issuer's authorization code (a card payment).
    pub authorization_code: Option<String>,
    /// Captured at authorization, minor units.
    pub captured_amount: i64,
    /// The transaction's state.
    pub state: TransactionState,
    /// Klarna's short reference, for the receipt.
    pub klarna_reference: String,
}

impl From<&PaymentTransaction> for Authorization {
    fn from(tx: &PaymentTransaction) -> Self {
        Authorization {
            payment_transaction_id: tx.payment_transaction_id.clone(),
            authorization_code: tx.authorization_code.clone(),
            captured_amount: tx.captured_amount,
            state: tx.state,
            klarna_reference: tx.klarna_reference.clone(),
        }
    }
}

/// How an approved sale was approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// By the acquirer.
    Online(Authorization),
    /// By the terminal, within the offline limits; its authorization is queued.
    Offline,
}

/// How a sale ended unpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The customer, the issuer, the card or the offline policy refused.
    Declined,
    /// Canceled by the cashier, the customer or a timeout.
    Canceled,
    /// The payment request expired.
    Expired,
    /// Klarna is not available for the purchase.
    Unavailable,
    /// Something failed.
    Failed,
}

impl Outcome {
    /// The sale's state for the outcome.
    pub fn state(self) -> SaleState {
        match self {
            Outcome::Declined => SaleState::Declined,
            Outcome::Canceled => SaleState::Canceled,
            Outcome::Expired => SaleState::Expired,
            Outcome::Unavailable => SaleState::Unavailable,
            Outcome::Failed => SaleState::Failed,
        }
    }
}

/// Where a sale is, with what the stage owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Journaled; nothing asked yet.
    Created,
    /// Klarna is available (its wording is on the sale); the first authorization is due.
    AvailabilityChecked,
    /// The customer chooses among `offered`.
    AwaitingMethod {
        /// The methods on the choice screen.
        offered: Vec<PaymentMethod>,
    },
    /// The QR code of `request` is up.
    QrShown {
        /// The payment request.
        request: QrRequest,
    },
    /// The customer is in Klarna's journey.
    CustomerInProgress {
        /// The payment request.
        request: QrRequest,
    },
    /// The customer approved: the final authorization with `session_token` is due.
    CustomerCompleted {
        /// The payment request.
        request: QrRequest,
        /// Klarna's session token (secret: journal only, never logged).
        session_token: String,
    },
    /// The reader waits for the card (inserted with its PIN when `pin_required`).
    AwaitingCard {
        /// The issuer asked for the PIN.
        pin_required: bool,
    },
    /// A card read is being authorized (after a restart: its fate is to be read back).
    Authorizing,
    /// The customer paid.
    Approved(Approval),
    /// It ended unpaid.
    Ended {
        /// How.
        outcome: Outcome,
        /// Why.
        reason: EndReason,
    },
}

impl Stage {
    /// The journaled state of the stage.
    pub fn state(&self) -> SaleState {
        match self {
            Stage::Created => SaleState::Created,
            Stage::AvailabilityChecked => SaleState::AvailabilityChecked,
            Stage::AwaitingMethod { .. } => SaleState::AwaitingMethod,
            Stage::QrShown { .. } => SaleState::QrShown,
            Stage::CustomerInProgress { .. } => SaleState::CustomerInProgress,
            Stage::CustomerCompleted { .. } => SaleState::CustomerCompleted,
            Stage::AwaitingCard { .. } => SaleState::AwaitingCard,
            Stage::Authorizing => SaleState::Authorizing,
            Stage::Approved(_) => SaleState::Approved,
            Stage::Ended { outcome, .. } => outcome.state(),
        }
    }

    /// The payment request of a stage that has one.
    pub fn request(&self) -> Option<&QrRequest> {
        match self {
            Stage::QrShown { request }
            | Stage::CustomerInProgress { request }
            | Stage::CustomerCompleted { request, .. } => Some(request),
            _ => None,
        }
    }
}

/// A journaled row that lacks what its state owns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sale in {state} has no {missing}")]
pub struct StageError {
    /// The row's state.
    pub state: &'static str,
    /// What is missing.
    pub missing: &'static str,
}

impl Sale {
    /// The sale's stage, read off the journaled row.
    pub fn stage(&self) -> Result<Stage, StageError> {
        let missing = |missing| StageError { state: self.state.as_str(), missing };
        let request = || {
            let id = self.payment_request_id.clone().ok_or_else(|| missing("payment_request_id"))?;
            Ok(QrRequest {
                id,
                url: self.payment_request_url.clone(),
                expires_at: self.payment_request_expires_at,
                shown_at: self.qr_shown_at,
            })
        };
        let ended = |outcome| Stage::Ended { outcome, reason: EndReason::parse(self.reason.as_deref().unwrap_or("")) };
        Ok(match self.state {
            SaleState::AvailabilityChecked => Stage::AvailabilityChecked,
            SaleState::AwaitingMethod => {
                Stage::AwaitingMethod { offered: self.choice.as_ref().map(|c| c.offered.clone()).unwrap_or_default() }
            }
            SaleState::QrShown => Stage::QrShown { request: request()? },
            SaleState::CustomerInProgress => Stage::CustomerInProgress { request: request()? },
            SaleState::CustomerCompleted => Stage::CustomerCompleted {
                request: request()?,
                session_token: self.session_token.clone().ok_or_else(|| missing("session token"))?,
            },
            SaleState::AwaitingCard => Stage::AwaitingCard { pin_required: self.pin_required },
            SaleState::Authorizing => Stage::Authorizing,
            SaleState::Approved => Stage::Approved(self.approval().ok_or_else(|| missing("transaction"))?),
            SaleState::Declined => ended(Outcome::Declined),
            SaleState::Canceled => ended(Outcome::Canceled),
            SaleState::Expired => ended(Outcome::Expired),
            SaleState::Unavailable => ended(Outcome::Unavailable),
            SaleState::Failed => ended(Outcome::Failed),
            _ => Stage::Created,
        })
    }

    /// How an approved row was approved, as far as the row tells.
    fn approval(&self) -> Option<Approval> {
        if self.offline.is_some() {
            return Some(Approval::Offline);
        }
        let id = self.payment_transaction_id.clone()?;
        Some(Approval::Online(Authorization {
            payment_transaction_id: id,
            authorization_code: self.authorization_code.clone(),
            captured_amount: self.captured_amount,
            state: self.transaction_state.unwrap_or(TransactionState::Authorized),
            klarna_reference: self.klarna_reference.clone().unwrap_or_default(),
        }))
    }

    /// Writes what `stage` owns into the row and sets its state (the journal write that
    /// follows makes it durable). Fields the stage does not own are left as they are.
    pub fn enter(&mut self, stage: &Stage) {
        match stage {
            Stage::QrShown { request } | Stage::CustomerInProgress { request } => self.set_request(request),
            Stage::CustomerCompleted { request, session_token } => {
                self.set_request(request);
                self.session_token = Some(session_token.clone());
            }
            Stage::AwaitingCard { pin_required } => self.pin_required = *pin_required,
            Stage::Approved(Approval::Online(tx)) => {
                self.payment_transaction_id = Some(tx.payment_transaction_id.clone());
                self.authorization_code = tx.authorization_code.clone();
                self.captured_amount = tx.captured_amount;
                self.transaction_state = Some(tx.state);
                if self.method == PaymentMethod::Klarna {
                    self.klarna_reference = Some(tx.klarna_reference.clone());
                }
                self.session_token = None;
            }
            Stage::Approved(Approval::Offline) => {
                self.offline = Some(OfflineStatus::Queued);
                self.reason = None;
            }
            Stage::Ended { reason, .. } => self.reason = Some(reason.name()),
            Stage::Created | Stage::AvailabilityChecked | Stage::AwaitingMethod { .. } | Stage::Authorizing => {}
        }
        self.state = stage.state();
    }

    fn set_request(&mut self, request: &QrRequest) {
        self.payment_request_id = Some(request.id.clone());
        self.payment_request_url = request.url.clone();
        self.payment_request_expires_at = request.expires_at;
        self.qr_shown_at = request.shown_at;
    }

    /// Why the sale ended, when it has a reason.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.reason.as_deref().map(EndReason::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale(state: &str) -> Sale {
        let row = serde_json::json!({
            "id": "s", "reference": "R", "state": state, "method": "KLARNA", "amount": 1000, "currency": "EUR",
            "locale": "en-GB", "interoperability_token": null, "interoperability_data": null, "descriptors": null,
            "payment_request_id": null, "payment_request_url": null, "payment_request_expires_at": null,
            "qr_shown_at": null, "session_token": null, "payment_transaction_id": null, "klarna_reference": null,
            "reason": null, "receipt_error": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        });
        serde_json::from_value(row).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every stage written into a row reads back as itself, and with the row's state.
    #[test]
    fn a_stage_entered_reads_back_from_the_row() {
        let request = QrRequest {
            id: "pr".into(),
            url: Some("https://x/pr".into()),
            expires_at: Some(Utc::now()),
            shown_at: Some(Utc::now()),
        };
        let authorization = Authorization {
            payment_transaction_id: "tx".into(),
            authorization_code: Some("123456".into()),
            captured_amount: 1000,
            state: TransactionState::Completed,
            klarna_reference: "K".into(),
        };
        let stages = [
            Stage::Created,
            Stage::AvailabilityChecked,
            Stage::AwaitingMethod { offered: vec![] },
            Stage::QrShown { request: request.clone() },
            Stage::CustomerInProgress { request: request.clone() },
            Stage::CustomerCompleted { request, session_token: "tok".into() },
            Stage::AwaitingCard { pin_required: true },
            Stage::Authorizing,
            Stage::Approved(Approval::Online(authorization)),
            Stage::Approved(Approval::Offline),
            Stage::Ended { outcome: Outcome::Declined, reason: EndReason::Reported("DO_NOT_HONOR".into()) },
            Stage::Ended { outcome: Outcome::Canceled, reason: EndReason::CashierCanceled },
            Stage::Ended { outcome: Outcome::Expired, reason: EndReason::PaymentRequestExpired },
            Stage::Ended { outcome: Outcome::Unavailable, reason: EndReason::Offline },
            Stage::Ended { outcome: Outcome::Failed, reason: EndReason::AcquirerError },
        ];
        for stage in stages {
            let mut row = sale("CREATED");
            row.enter(&stage);
            assert_eq!(row.state, stage.state());
            assert_eq!(row.stage().as_ref(), Ok(&stage));
        }
    }

    #[test]
    fn a_row_without_what_its_state_owns_is_named() {
        let err = sale("QR_SHOWN").stage().err();
        assert_eq!(err, Some(StageError { state: "QR_SHOWN", missing: "payment_request_id" }));
        let mut completed = sale("CUSTOMER_COMPLETED");
        completed.payment_request_id = Some("pr".into());
        assert_eq!(completed.stage().err().map(|e| e.missing), Some("session token"));
    }

    /// Approved online: what the sale keeps of the transaction; the session token is gone.
    #[test]
    fn approval_clears_the_session_token_and_keeps_klarnas_reference() {
        let mut row = sale("CUSTOMER_COMPLETED");
        row.session_token = Some("tok".into());
        let authorization = Authorization {
            payment_transaction_id: "tx".into(),
            authorization_code: None,
            captured_amount: 1000,
            state: TransactionState::Completed,
            klarna_reference: "K".into(),
        };
        row.enter(&Stage::Approved(Approval::Online(authorization)));
        assert_eq!(row.session_token, None);
        assert_eq!(row.klarna_reference.as_deref(), Some("K"));
        assert_eq!(row.payment_transaction_id.as_deref(), Some("tx"));
    }
}
