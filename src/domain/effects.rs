//! What the outcome of a queued operation changes in the record it belongs to, as data,
//! and the one pure function per record that applies it. The outbox decides which
//! effect an acquirer's answer has; the store applies it in the transaction that
//! finishes the operation, without knowing why.

use super::{OfflineStatus, OpKind, OpState, ReturnRecord, ReturnState, ReversalStatus, Sale, Subject};
use posagent_acquirer_api::PaymentTransaction;

/// The change of an operation's record.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// Nothing changes.
    Nothing,
    /// The sale changes.
    Sale(SaleEffect),
    /// The return changes.
    Return(ReturnEffect),
}

/// A change of a sale by one of its operations.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SaleEffect {
    /// A card payment approved offline was forwarded and authorized.
    OfflineAuthorized(Box<PaymentTransaction>),
    /// A card payment approved offline was declined when forwarded: the store was not paid.
    OfflineDeclined {
        /// The acquirer's reason.
        reason: String,
    },
    /// The acquirer took a queued capture.
    CaptureTaken {
        /// Amount captured, minor units.
        amount: i64,
        /// The transaction as the acquirer answered.
        transaction: Box<PaymentTransaction>,
    },
    /// The acquirer took a queued void.
    VoidTaken(Box<PaymentTransaction>),
    /// The acquirer refused a queued capture when the sync worker sent it.
    CaptureRefused {
        /// Amount that was queued.
        amount: i64,
        /// The refusal.
        why: String,
    },
    /// The acquirer refused a queued void when the sync worker sent it.
    VoidRefused {
        /// The refusal.
        why: String,
    },
    /// The acquirer refused a capture sent at once for the register (the register is told).
    CaptureUndone {
        /// Amount that was queued.
        amount: i64,
    },
    /// The acquirer refused a void sent at once for the register (the register is told).
    VoidUndone,
    /// A queued capture died with the offline payment it acts on.
    CaptureDropped {
        /// Amount that was queued.
        amount: i64,
        /// Why the payment was refused.
        why: String,
    },
    /// A queued void died with the offline payment it acts on.
    VoidDropped {
        /// Why the payment was refused.
        why: String,
    },
    /// A reversal went through: `Reversed` or `NothingFound`.
    Reversal(ReversalStatus),
    /// The acquirer refused a reversal: settle it by hand.
    ReversalRefused {
        /// The refusal.
        why: String,
    },
}

/// The journal event's detail of a reversal with `status`.
pub fn reversal_detail(status: ReversalStatus) -> &'static str {
    match status {
        ReversalStatus::NothingFound => {
            "reversal: the acquirer had no authorization; none is accepted under the reference now"
        }
        _ => "reversal: the authorization had gone through; voided, and refunded if captured",
    }
}

impl SaleEffect {
    /// Applies the change to `sale`; returns the journal event's detail.
    pub fn apply(self, sale: &mut Sale) -> String {
        let unqueue_capture =
            |s: &mut Sale, amount: i64| s.queued_capture_amount = (s.queued_capture_amount - amount).max(0);
        match self {
            SaleEffect::OfflineAuthorized(tx) => {
                sale.payment_transaction_id = Some(tx.payment_transaction_id.clone());
                sale.authorization_code = tx.authorization_code.clone();
                sale.captured_amount = tx.captured_amount;
                sale.transaction_state = Some(tx.state);
                sale.offline = Some(OfflineStatus::Forwarded);
                "offline payment forwarded and authorized".into()
            }
            SaleEffect::OfflineDeclined { reason } => {
                sale.offline = Some(OfflineStatus::Declined);
                sale.sync_error = Some(reason.clone());
                format!("offline payment declined when forwarded: {reason}")
            }
            SaleEffect::CaptureTaken { amount, transaction } => {
                sale.follow_transaction(&transaction);
                unqueue_capture(sale, amount);
                format!("queued capture of {amount} taken by the acquirer")
            }
            SaleEffect::VoidTaken(transaction) => {
                sale.follow_transaction(&transaction);
                sale.voided = true;
                sale.void_queued = false;
                "queued void taken by the acquirer".into()
            }
            SaleEffect::CaptureRefused { amount, why } => {
                unqueue_capture(sale, amount);
                sale.sync_error = Some(why.clone());
                format!("queued capture refused: {why}")
            }
            SaleEffect::VoidRefused { why } => {
                sale.void_queued = false;
                sale.sync_error = Some(why.clone());
                format!("queued void refused: {why}")
            }
            SaleEffect::CaptureUndone { amount } => {
                unqueue_capture(sale, amount);
                format!("capture of {amount} refused by the acquirer")
            }
            SaleEffect::VoidUndone => {
                sale.void_queued = false;
                "void refused by the acquirer".into()
            }
            SaleEffect::CaptureDropped { amount, why } => {
                unqueue_capture(sale, amount);
                sale.sync_error = Some(why.clone());
                format!("queued capture dropped: {why}")
            }
            SaleEffect::VoidDropped { why } => {
                sale.void_queued = false;
                sale.sync_error = Some(why.clone());
                format!("queued void dropped: {why}")
            }
            SaleEffect::Reversal(status) => {
                sale.reversal = Some(status);
                reversal_detail(status).to_string()
            }
            SaleEffect::ReversalRefused { why } => {
                sale.reversal = Some(ReversalStatus::Refused);
                sale.sync_error = Some(why.clone());
                format!("reversal refused: {why}; settle the payment by hand with the acquirer")
            }
        }
    }
}

/// A change of a return by its refund.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReturnEffect {
    /// The acquirer refunded it; the transaction as it answered.
    Refunded(Box<PaymentTransaction>),
    /// The acquirer refused it, or the payment it refunds was refused.
    Refused {
        /// Why.
        why: String,
    },
}

impl ReturnEffect {
    /// Applies the change to `record`.
    pub fn apply(self, record: &mut ReturnRecord) {
        match self {
            ReturnEffect::Refunded(tx) => {
                record.state = ReturnState::Refunded;
                record.reason = None;
                if record.payment_transaction_id.is_empty() {
                    record.payment_transaction_id = tx.payment_transaction_id.clone();
                }
                record.payment_refund_id = tx
                    .payment_refunds
                    .iter()
                    .find(|x| x.payment_refund_reference.as_deref() == Some(record.reference.as_str()))
                    .map(|x| x.payment_refund_id.clone());
            }
            ReturnEffect::Refused { why } => {
                record.state = ReturnState::Refused;
                record.reason = Some(why);
            }
        }
    }
}

/// What finishing an operation does to the operations queued behind it for the same
/// payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behind {
    /// They stay queued.
    Stay,
    /// They die with it (the payment they act on was refused), each record brought back
    /// in line by [`Effect::dropped`].
    Die {
        /// Why, as their refusal.
        why: String,
    },
}

/// An operation to finish, with its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    /// Queue id.
    pub id: i64,
    /// `Done` or `Dead`.
    pub state: OpState,
    /// The answer or the refusal.
    pub result: String,
    /// The change of its record.
    pub effect: Effect,
    /// What becomes of the operations behind it.
    pub behind: Behind,
}

impl Effect {
    /// The change of the record of an operation that died with the payment it acts on.
    pub fn dropped(subject: Subject, kind: OpKind, amount: i64, why: &str) -> Effect {
        let why = why.to_string();
        match (subject, kind) {
            (Subject::Return, _) => Effect::Return(ReturnEffect::Refused { why }),
            (Subject::Sale, OpKind::Capture) => Effect::Sale(SaleEffect::CaptureDropped { amount, why }),
            (Subject::Sale, OpKind::Void) => Effect::Sale(SaleEffect::VoidDropped { why }),
            _ => Effect::Nothing,
        }
    }
}
