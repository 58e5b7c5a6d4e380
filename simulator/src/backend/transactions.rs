//! Post-purchase operations on payment transactions with Klarna's rules: capture ≤
//! remaining authorized, refund ≤ captured (and ≤ what remains of a capture), void only
//! while authorized and not fully captured, nothing on CLOSED; at most 200 captures,
//! 200 refunds and 500 actions per transaction (then 403).

use super::state::{Books, Refusal, invalid};
use chrono::{DateTime, Utc};
use posagent_acquirer_api::lines::validate_lines;
use posagent_acquirer_api::{
    Capture, CaptureRequest, PaymentTransaction, Refund, RefundRequest, ReversalRequest, ReversalResponse,
    ReversalResult, TransactionState,
};

/// Most captures per transaction.
pub const MAX_CAPTURES: usize = 200;
/// Most refunds per transaction.
pub const MAX_REFUNDS: usize = 200;
/// Most actions (captures, refunds, voids) per transaction.
pub const MAX_ACTIONS: usize = 500;
/// Days an authorization stays capturable.
pub const AUTHORIZATION_DAYS: i64 = 28;
/// Days after expiry before an expired transaction ends (reauthorization window).
pub const GRACE_DAYS: i64 = 7;

/// Ages a transaction to `now`: AUTHORIZED past its expiry becomes EXPIRED; EXPIRED past
/// the grace period becomes COMPLETED (partly captured) or CLOSED (nothing captured).
fn age(tx: &mut PaymentTransaction, now: DateTime<Utc>) {
    if tx.state == TransactionState::Authorized && now >= tx.expires_at {
        tx.state = TransactionState::Expired;
    }
    if tx.state == TransactionState::Expired && now >= tx.expires_at + chrono::Duration::days(GRACE_DAYS) {
        tx.state = if tx.captured_amount > 0 { TransactionState::Completed } else { TransactionState::Closed };
    }
}

fn forbidden(why: impl Into<String>) -> Refusal {
    Refusal::Forbidden(why.into())
}

fn actions(tx: &PaymentTransaction) -> usize {
    tx.payment_captures.len() + tx.payment_refunds.len() + usize::from(tx.state == TransactionState::Closed)
}

impl Books {
    /// Ages every transaction to `now`; each that changed state (an authorization that
    /// expired, an expired one that ended) goes on the event stream.
    /// Returns whether any did.
    pub(super) fn age_transactions(&mut self, now: DateTime<Utc>) -> bool {
        let mut changed = vec![];
        for tx in self.transactions.values_mut() {
            let before = tx.state;
            age(tx, now);
            if tx.state != before {
                changed.push(tx.clone());
            }
        }
        let any = !changed.is_empty();
        for tx in changed {
            self.emit_state_change(&tx, now);
        }
        any
    }

    /// `payment.transaction.state-change.<state>` for `tx` as it now is.
    pub(super) fn emit_state_change(&mut self, tx: &PaymentTransaction, now: DateTime<Utc>) {
        let state = format!("{:?}", tx.state).to_ascii_lowercase();
        let payload = serde_json::to_value(tx).unwrap_or_default();
        self.emit(format!("payment.transaction.state-change.{state}"), payload, now);
    }

    /// When the next transaction changes state by itself (expires, or ends after the
    /// grace period), on the acquirer's clock.
    pub(super) fn next_transaction_deadline(&self) -> Option<DateTime<Utc>> {
        self.transactions
            .values()
            .filter_map(|tx| match tx.state {
                TransactionState::Authorized => Some(tx.expires_at),
                TransactionState::Expired => Some(tx.expires_at + chrono::Duration::days(GRACE_DAYS)),
                _ => None,
            })
            .min()
    }

    /// A transaction by id.
    pub fn transaction(&mut self, id: &str, now: DateTime<Utc>) -> Result<PaymentTransaction, Refusal> {
        self.tx_mut(id, now).map(|t| t.clone())
    }

    /// A transaction to act on, aged to `now` first — with its events: a state change
    /// never happens silently on a read.
    fn tx_mut(&mut self, id: &str, now: DateTime<Utc>) -> Result<&mut PaymentTransaction, Refusal> {
        self.age_transactions(now);
        self.transactions.get_mut(id).ok_or_else(|| Refusal::NotFound(format!("payment transaction {id}")))
    }

    /// Captures (part of) the remaining authorized amount.
    pub fn capture(
        &mut self,
        id: &str,
        req: &CaptureRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentTransaction, Refusal> {
        let tx = self.tx_mut(id, now)?;
        if tx.state != TransactionState::Authorized {
            return Err(forbidden(format!("CAPTURE_NOT_ALLOWED: the transaction is {:?}", tx.state)));
        }
        if tx.payment_captures.len() >= MAX_CAPTURES || actions(tx) >= MAX_ACTIONS {
            return Err(forbidden(format!(
                "CAPTURE_NOT_ALLOWED: at most {MAX_CAPTURES} captures and {MAX_ACTIONS} actions per transaction"
            )));
        }
        let remaining = tx.remaining_authorized();
        if req.amount < 1 || req.amount > remaining {
            return Err(invalid("amount", format!("must be 1 to the remaining authorized amount {remaining}")));
        }
        validate_lines("line_items", &req.line_items, req.amount).map_err(|e| invalid(&e.field, e.reason))?;
        if req.klarna_network_data.as_ref().is_some_and(|d| d.len() > posagent_acquirer_api::MAX_INTEROPERABILITY_LEN) {
            return Err(invalid("klarna_network_data", "must be at most 8192 characters"));
        }
        let n = tx.payment_captures.len() + 1;
        tx.payment_captures.push(Capture {
            payment_capture_id: format!("{id}:capture:{n}"),
            payment_capture_reference: req.payment_capture_reference.clone(),
            amount: req.amount,
            line_items: req.line_items.clone(),
            created_at: now,
        });
        tx.captured_amount += req.amount;
        if tx.captured_amount == tx.amount {
            tx.state = TransactionState::Completed;
        }
        let tx = tx.clone();
        self.book("CAPTURE", &tx, req.amount, key, now);
        self.receive_network_data("CAPTURE", &tx, req.klarna_network_data.as_ref());
        Ok(tx)
    }

    /// Refunds captured money, by capture or by lines.
    pub fn refund(
        &mut self,
        id: &str,
        req: &RefundRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentTransaction, Refusal> {
        let tx = self.tx_mut(id, now)?;
        if tx.state == TransactionState::Closed {
            return Err(forbidden("REFUND_NOT_ALLOWED: the transaction is CLOSED"));
        }
        if tx.payment_refunds.len() >= MAX_REFUNDS || actions(tx) >= MAX_ACTIONS {
            return Err(forbidden(format!(
                "REFUND_NOT_ALLOWED: at most {MAX_REFUNDS} refunds and {MAX_ACTIONS} actions per transaction"
            )));
        }
        if tx.captured_amount == 0 {
            return Err(forbidden("REFUND_NOT_ALLOWED: the transaction has no captures"));
        }
        let mut limit = tx.refundable();
        if let Some(cap_id) = &req.payment_capture_id {
            let capture = tx
                .payment_captures
                .iter()
                .find(|c| &c.payment_capture_id == cap_id)
                .ok_or_else(|| Refusal::NotFound(format!("capture {cap_id}")))?;
            let refunded: i64 = tx
                .payment_refunds
                .iter()
                .filter(|r| r.payment_capture_id.as_ref() == Some(cap_id))
                .map(|r| r.amount)
                .sum();
            limit = limit.min(capture.amount - refunded);
        }
        if req.amount < 1 || req.amount > limit {
            return Err(invalid("amount", format!("must be 1 to the refundable amount {limit}")));
        }
        validate_lines("line_items", &req.line_items, req.amount).map_err(|e| invalid(&e.field, e.reason))?;
        if req.klarna_network_data.as_ref().is_some_and(|d| d.len() > posagent_acquirer_api::MAX_INTEROPERABILITY_LEN) {
            return Err(invalid("klarna_network_data", "must be at most 8192 characters"));
        }
        let n = tx.payment_refunds.len() + 1;
        tx.payment_refunds.push(Refund {
            payment_refund_id: format!("{id}:refund:{n}"),
            payment_refund_reference: req.payment_refund_reference.clone(),
            payment_capture_id: req.payment_capture_id.clone(),
            amount: req.amount,
            line_items: req.line_items.clone(),
            created_at: now,
        });
        tx.refunded_amount += req.amount;
        let tx = tx.clone();
        self.book("REFUND", &tx, req.amount, key, now);
        self.receive_network_data("REFUND", &tx, req.klarna_network_data.as_ref());
        Ok(tx)
    }

    /// Voids the remaining authorization: CLOSED without captures, COMPLETED with.
    pub fn void(&mut self, id: &str, key: &str, now: DateTime<Utc>) -> Result<PaymentTransaction, Refusal> {
        let tx = self.tx_mut(id, now)?;
        if tx.state != TransactionState::Authorized || tx.remaining_authorized() == 0 {
            return Err(forbidden(format!("VOID_NOT_ALLOWED: the transaction is {:?}", tx.state)));
        }
        if actions(tx) >= MAX_ACTIONS {
            return Err(forbidden(format!("VOID_NOT_ALLOWED: at most {MAX_ACTIONS} actions per transaction")));
        }
        let released = tx.remaining_authorized();
        tx.state = if tx.captured_amount == 0 { TransactionState::Closed } else { TransactionState::Completed };
        let tx = tx.clone();
        self.book("VOID", &tx, released, key, now);
        self.emit_state_change(&tx, now);
        Ok(tx)
    }

    /// Reverses whatever the terminal's authorization `reference` did: what remains
    /// authorized is voided, what was captured and not refunded is refunded; an unknown
    /// reference is remembered, so a late authorization under it is declined.
    pub fn reverse(
        &mut self,
        req: &ReversalRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ReversalResponse, Refusal> {
        let reference = &req.payment_transaction_reference;
        if reference.is_empty() || reference.len() > 255 {
            return Err(invalid("payment_transaction_reference", "must be 1 to 255 characters"));
        }
        self.reversed.insert(reference.clone());
        let Some(id) = self.transaction_by_reference(reference).map(|t| t.payment_transaction_id) else {
            return Ok(ReversalResponse {
                payment_transaction_reference: reference.clone(),
                result: ReversalResult::NotFound,
                payment_transaction: None,
            });
        };
        let tx = self.tx_mut(&id, now)?;
        let released = if tx.state == TransactionState::Authorized { tx.remaining_authorized() } else { 0 };
        if released > 0 {
            tx.state = if tx.captured_amount == 0 { TransactionState::Closed } else { TransactionState::Completed };
        }
        let refund = tx.refundable();
        if refund > 0 {
            let n = tx.payment_refunds.len() + 1;
            tx.payment_refunds.push(Refund {
                payment_refund_id: format!("{id}:refund:{n}"),
                payment_refund_reference: Some(format!("{reference}-REVERSAL")),
                payment_capture_id: None,
                amount: refund,
                line_items: vec![],
                created_at: now,
            });
            tx.refunded_amount += refund;
        }
        let tx = tx.clone();
        if released > 0 {
            self.book("VOID", &tx, released, key, now);
        }
        if refund > 0 {
            self.book("REFUND", &tx, refund, key, now);
        }
        if released > 0 {
            self.emit_state_change(&tx, now);
        }
        Ok(ReversalResponse {
            payment_transaction_reference: reference.clone(),
            result: ReversalResult::Reversed,
            payment_transaction: Some(tx),
        })
    }
}
