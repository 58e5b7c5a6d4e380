//! Applying the acquirer's answer to a queued operation: done (the sale or return is
//! updated in the same transaction), a dead letter (a definitive refusal), or back to
//! wait with a backoff. Shared by the sync worker and by the interactive calls
//! (capture, void, refund) that send their queued operation at once.

use super::sync::SyncSettings;
use crate::backend::AcquirerClient;
use crate::domain::{
    Behind, DueOp, Effect, Finish, OpKind, OpState, ReturnEffect, ReversalStatus, SaleEffect, Subject,
};
use crate::domain::{now_ms, reversal_detail};
use crate::store::{Journal, Patched, StoreError};
use posagent_acquirer_api::batch::BatchResult;
use posagent_acquirer_api::{AuthorizeResponse, AuthorizeResult, PaymentTransaction, ReversalResponse, ReversalResult};
use std::sync::Arc;

/// What became of an operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Applied {
    /// Done or dead; the record as now journaled.
    Finished(Patched),
    /// Waiting again (the acquirer could not take it now).
    Later,
}

/// The acquirer's answer to one operation, typed: from a batch (`Answer::from_batch`) or
/// from the single endpoint the checkout or a return called at once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Answer {
    /// It could not take it now (429, a 5xx): send it again later.
    Busy(String),
    /// An authorization's answer.
    Authorization(Box<AuthorizeResponse>),
    /// The payment transaction after a capture, void or refund.
    Transaction(PaymentTransaction),
    /// A reversal's answer.
    Reversal(ReversalResponse),
    /// A refusal (an error status, or a success whose body is not the operation's answer).
    Refused {
        /// HTTP status.
        status: u16,
        /// The error envelope's `error_code` (`REFUSED` when it has none).
        code: String,
        /// Its `error_message`.
        message: String,
    },
}

impl Answer {
    /// The answer of a batch's `result` to an operation of kind `kind`.
    pub fn from_batch(kind: OpKind, result: &BatchResult) -> Answer {
        let status = result.status;
        if status == 429 || status >= 500 {
            return Answer::Busy(format!("acquirer answered {status}"));
        }
        let body = &result.body;
        let parsed = (200..300).contains(&status).then(|| match kind {
            OpKind::Authorize => serde_json::from_value(body.clone()).ok().map(|a| Answer::Authorization(Box::new(a))),
            OpKind::Reverse => serde_json::from_value(body.clone()).ok().map(Answer::Reversal),
            OpKind::Capture | OpKind::Void | OpKind::Refund => {
                serde_json::from_value(body.clone()).ok().map(Answer::Transaction)
            }
        });
        parsed.flatten().unwrap_or_else(|| Answer::Refused {
            status,
            code: body["error_code"].as_str().unwrap_or("REFUSED").to_string(),
            message: body["error_message"].as_str().unwrap_or("").to_string(),
        })
    }

    /// The refusal as the operation's `last_error` and the record's reason.
    fn refusal(&self) -> String {
        match self {
            Answer::Refused { status, code, message } => format!("acquirer refused ({status}): {code} {message}"),
            Answer::Busy(why) => why.clone(),
            Answer::Authorization(_) => {
                "the acquirer answered an authorization, which does not fit the operation".into()
            }
            Answer::Transaction(_) => "the acquirer answered a transaction, which does not fit the operation".into(),
            Answer::Reversal(_) => "the acquirer answered a reversal, which does not fit the operation".into(),
        }
    }
}

/// What to do with an operation after the acquirer's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// Done or dead, with the change of its record and of the operations behind it.
    Finish(Finish),
    /// Wait and send again.
    Later(String),
    /// Read the transaction by reference to know.
    Resolve(String),
}

/// Finishes `op` as `state` with `effect` on its record. The one cascade rule: a dead
/// authorization (an offline payment the acquirer refused) takes every operation queued
/// behind it for the payment with it.
pub fn finish(op: &DueOp, state: OpState, result: String, effect: Effect) -> Finish {
    let behind = if state == OpState::Dead && op.kind == OpKind::Authorize {
        Behind::Die { why: format!("the offline payment it acts on was refused: {result}") }
    } else {
        Behind::Stay
    };
    let effect = match (op.subject, effect) {
        (Subject::Sale, e @ Effect::Sale(_)) | (Subject::Return, e @ Effect::Return(_)) => e,
        _ => Effect::Nothing,
    };
    Finish { id: op.id, state, result, effect, behind }
}

fn fin(op: &DueOp, state: OpState, result: String, effect: SaleEffect) -> Decision {
    Decision::Finish(finish(op, state, result, Effect::Sale(effect)))
}

/// What the acquirer's answer means for the operation (nothing written): pure.
pub fn decide(op: &DueOp, answer: Answer) -> Decision {
    if let Answer::Busy(why) = answer {
        return Decision::Later(why);
    }
    match (op.kind, answer) {
        (OpKind::Authorize, Answer::Authorization(a)) => match *a {
            AuthorizeResponse { result: AuthorizeResult::Approved, payment_transaction: Some(tx), .. } => {
                let id = tx.payment_transaction_id.clone();
                fin(op, OpState::Done, id, SaleEffect::OfflineAuthorized(Box::new(tx)))
            }
            a => {
                let reason = a.result_reason.unwrap_or_else(|| "DECLINED".into());
                let why = format!("declined when forwarded: {reason}");
                fin(op, OpState::Dead, why, SaleEffect::OfflineDeclined { reason })
            }
        },
        (OpKind::Authorize, refused @ Answer::Refused { status: 409 | 422, .. }) => {
            Decision::Resolve(refused.refusal())
        }
        (OpKind::Authorize, refused) => {
            let why = refused.refusal();
            fin(op, OpState::Dead, why.clone(), SaleEffect::OfflineDeclined { reason: why })
        }
        (OpKind::Capture, Answer::Transaction(tx)) => {
            let amount = op.request["amount"].as_i64().unwrap_or(0);
            fin(op, OpState::Done, "ok".into(), SaleEffect::CaptureTaken { amount, transaction: Box::new(tx) })
        }
        (OpKind::Void, Answer::Transaction(tx)) => {
            fin(op, OpState::Done, "ok".into(), SaleEffect::VoidTaken(Box::new(tx)))
        }
        (OpKind::Capture, refused) => {
            let (amount, why) = (op.request["amount"].as_i64().unwrap_or(0), refused.refusal());
            fin(op, OpState::Dead, why.clone(), SaleEffect::CaptureRefused { amount, why })
        }
        (OpKind::Void, refused) => {
            let why = refused.refusal();
            fin(op, OpState::Dead, why.clone(), SaleEffect::VoidRefused { why })
        }
        (OpKind::Reverse, Answer::Reversal(r)) => {
            let status = match r.result {
                ReversalResult::NotFound => ReversalStatus::NothingFound,
                _ => ReversalStatus::Reversed,
            };
            fin(op, OpState::Done, reversal_detail(status).into(), SaleEffect::Reversal(status))
        }
        (OpKind::Reverse, refused) => {
            let why = refused.refusal();
            fin(op, OpState::Dead, why.clone(), SaleEffect::ReversalRefused { why })
        }
        (OpKind::Refund, Answer::Transaction(tx)) if op.subject == Subject::Return => Decision::Finish(finish(
            op,
            OpState::Done,
            "ok".into(),
            Effect::Return(ReturnEffect::Refunded(Box::new(tx))),
        )),
        (OpKind::Refund, refused) => {
            let why = refused.refusal();
            Decision::Finish(finish(op, OpState::Dead, why.clone(), Effect::Return(ReturnEffect::Refused { why })))
        }
    }
}

/// Sends answers into the journal.
#[derive(Clone)]
pub struct Forwarder {
    pub(super) journal: Journal,
    pub(super) backend: AcquirerClient,
    pub(super) settings: SyncSettings,
    pub(super) metrics: Arc<crate::metrics::Metrics>,
}

impl Forwarder {
    /// Puts the operation back to wait, with a backoff grown by its attempts.
    pub async fn later(&self, op: &DueOp, error: String) -> Result<Applied, StoreError> {
        let failures = u32::try_from(op.attempts + 1).unwrap_or(u32::MAX);
        let wait = self.settings.backoff(failures, fastrand::f64());
        let next = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        self.journal.retry_op_later(op.id, error, next).await?;
        Ok(Applied::Later)
    }

    /// Records the acquirer's answer to one operation.
    pub async fn apply(&self, op: &DueOp, answer: Answer) -> Result<Applied, StoreError> {
        self.execute(op, decide(op, answer)).await
    }

    /// Carries out a decision on one operation.
    pub async fn execute(&self, op: &DueOp, decision: Decision) -> Result<Applied, StoreError> {
        match decision {
            Decision::Finish(finish) => self.finish_with(op, finish).await,
            Decision::Later(error) => self.later(op, error).await,
            Decision::Resolve(why) => self.resolve_by_reference(op, why).await,
        }
    }

    /// Carries out the decisions on a batch's operations; those that finish are written
    /// in one transaction (one synced commit for the batch, not one per operation).
    /// Returns what became of each, and how many forwarded card reads still have copies
    /// in the WAL: the caller checkpoints ([`Journal::checkpoint`]) — the sync worker
    /// once for several batches.
    pub async fn execute_all(&self, decided: Vec<(DueOp, Decision)>) -> Result<(Vec<Applied>, usize), StoreError> {
        let mut out = Vec::with_capacity(decided.len());
        let mut finishing = vec![];
        let mut kinds = vec![];
        for (op, decision) in decided {
            match decision {
                Decision::Finish(finish) => {
                    if finish.state == OpState::Dead {
                        tracing::error!(operation = op.kind.as_str(), queue_id = op.id, reason = %finish.result, "queued operation refused; it is a dead letter — see `posagent queue list`");
                    }
                    kinds.push((op.kind, finish.state));
                    finishing.push(finish);
                }
                other => out.push(self.execute(&op, other).await?),
            }
        }
        let (patched, card_reads) = self.journal.finish_batch(finishing).await?;
        for (patched, (kind, state)) in patched.into_iter().zip(kinds) {
            if !matches!(patched, Patched::Unchanged) {
                self.metrics.queue_finished(kind.as_str(), state.as_str());
            }
            out.push(Applied::Finished(patched));
        }
        Ok((out, card_reads))
    }

    /// The forward was refused as a repeat under another body (the online attempt that
    /// timed out did reach the acquirer): the transaction is read by the sale reference.
    async fn resolve_by_reference(&self, op: &DueOp, why: String) -> Result<Applied, StoreError> {
        let reference = op.request["payment_transaction_reference"].as_str().unwrap_or_default().to_string();
        match self.backend.transaction_by_reference(&reference).await {
            Ok(Some(tx)) => {
                tracing::info!("forwarded payment already known by the acquirer; taken by reference");
                let id = tx.payment_transaction_id.clone();
                let effect = Effect::Sale(SaleEffect::OfflineAuthorized(Box::new(tx)));
                self.finish(op, OpState::Done, id, effect).await
            }
            Ok(None) => {
                let effect = Effect::Sale(SaleEffect::OfflineDeclined { reason: why.clone() });
                self.finish(op, OpState::Dead, why, effect).await
            }
            Err(e) => self.later(op, e.to_string()).await,
        }
    }

    /// Finishes `op` as `state` with `effect` on its record (see [`finish`]).
    pub(super) async fn finish(
        &self,
        op: &DueOp,
        state: OpState,
        result: String,
        effect: Effect,
    ) -> Result<Applied, StoreError> {
        self.finish_with(op, finish(op, state, result, effect)).await
    }

    async fn finish_with(&self, op: &DueOp, finish: Finish) -> Result<Applied, StoreError> {
        let state = finish.state;
        if state == OpState::Dead {
            tracing::error!(operation = op.kind.as_str(), queue_id = op.id, reason = %finish.result, "queued operation refused; it is a dead letter — see `posagent queue list`");
        }
        let patched = self.journal.finish_op(finish).await?;
        if !matches!(patched, Patched::Unchanged) {
            self.metrics.queue_finished(op.kind.as_str(), state.as_str());
        }
        Ok(Applied::Finished(patched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_acquirer_api::ReversalResult;
    use serde_json::json;

    fn op(kind: OpKind, subject: Subject) -> DueOp {
        DueOp {
            id: 7,
            group: "sale-1".into(),
            subject,
            subject_id: "sale-1".into(),
            kind,
            idempotency_key: "key".into(),
            payment_transaction_id: Some("krn:1".into()),
            request: json!({"amount": 400, "payment_transaction_reference": "R-1"}),
            attempts: 0,
        }
    }

    fn tx() -> PaymentTransaction {
        serde_json::from_value(json!({
            "payment_transaction_id": "krn:1", "payment_transaction_reference": "R-1",
            "klarna_reference": "K1", "method": "CARD", "state": "COMPLETED", "amount": 1000, "currency": "SEK",
            "captured_amount": 1000, "created_at": "2026-11-26T00:00:00Z", "expires_at": "2026-12-24T00:00:00Z"
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn refused(status: u16, code: &str) -> Answer {
        Answer::Refused { status, code: code.into(), message: "no".into() }
    }

    fn finished(decision: Decision) -> Finish {
        match decision {
            Decision::Finish(f) => f,
            other => panic!("not finished: {other:?}"),
        }
    }

    #[test]
    fn a_batch_result_becomes_the_operations_typed_answer() {
        let result = |status, body| BatchResult { idempotency_key: "key".into(), status, body };
        assert_eq!(
            Answer::from_batch(OpKind::Capture, &result(503, json!({}))),
            Answer::Busy("acquirer answered 503".into())
        );
        assert_eq!(
            Answer::from_batch(OpKind::Void, &result(429, json!({}))),
            Answer::Busy("acquirer answered 429".into())
        );
        let body = serde_json::to_value(tx()).unwrap_or_default();
        assert_eq!(Answer::from_batch(OpKind::Capture, &result(200, body.clone())), Answer::Transaction(tx()));
        let envelope = json!({"error_code": "AMOUNT_TOO_HIGH", "error_message": "over"});
        assert_eq!(
            Answer::from_batch(OpKind::Capture, &result(422, envelope)),
            Answer::Refused { status: 422, code: "AMOUNT_TOO_HIGH".into(), message: "over".into() }
        );
        // A success that is not the operation's answer is a refusal, never a success.
        assert_eq!(
            Answer::from_batch(OpKind::Reverse, &result(200, body)),
            Answer::Refused { status: 200, code: "REFUSED".into(), message: String::new() }
        );
    }

    #[test]
    fn busy_waits_and_a_conflicting_forward_is_resolved_by_reference() {
        let authorize = op(OpKind::Authorize, Subject::Sale);
        assert_eq!(decide(&authorize, Answer::Busy("503".into())), Decision::Later("503".into()));
        for status in [409, 422] {
            assert!(matches!(decide(&authorize, refused(status, "CONFLICT")), Decision::Resolve(_)));
        }
    }

    #[test]
    fn a_forwarded_payment_approved_or_declined_and_what_dies_with_it() {
        let authorize = op(OpKind::Authorize, Subject::Sale);
        let done = finished(decide(&authorize, Answer::Authorization(Box::new(AuthorizeResponse::approved(tx())))));
        assert_eq!((done.state, done.result.as_str(), &done.behind), (OpState::Done, "krn:1", &Behind::Stay));
        assert_eq!(done.effect, Effect::Sale(SaleEffect::OfflineAuthorized(Box::new(tx()))));

        let declined = AuthorizeResponse {
            result: AuthorizeResult::Declined,
            result_reason: Some("DO_NOT_HONOR".into()),
            payment_transaction: None,
            payment_request: None,
        };
        let dead = finished(decide(&authorize, Answer::Authorization(Box::new(declined))));
        assert_eq!(dead.state, OpState::Dead);
        assert_eq!(dead.effect, Effect::Sale(SaleEffect::OfflineDeclined { reason: "DO_NOT_HONOR".into() }));
        let why = "the offline payment it acts on was refused: declined when forwarded: DO_NOT_HONOR".to_string();
        assert_eq!(dead.behind, Behind::Die { why }, "captures, voids and refunds behind it die with it");

        let dead = finished(decide(&authorize, refused(400, "INVALID")));
        assert!(matches!(dead.behind, Behind::Die { .. }) && dead.state == OpState::Dead);
    }

    #[test]
    fn captures_and_voids_taken_or_refused() {
        let capture = op(OpKind::Capture, Subject::Sale);
        let done = finished(decide(&capture, Answer::Transaction(tx())));
        assert_eq!(done.effect, Effect::Sale(SaleEffect::CaptureTaken { amount: 400, transaction: Box::new(tx()) }));
        let dead = finished(decide(&capture, refused(422, "AMOUNT_TOO_HIGH")));
        let why = "acquirer refused (422): AMOUNT_TOO_HIGH no".to_string();
        assert_eq!(dead.effect, Effect::Sale(SaleEffect::CaptureRefused { amount: 400, why: why.clone() }));
        assert_eq!((dead.state, dead.result, dead.behind), (OpState::Dead, why, Behind::Stay));

        let void = op(OpKind::Void, Subject::Sale);
        assert_eq!(
            finished(decide(&void, Answer::Transaction(tx()))).effect,
            Effect::Sale(SaleEffect::VoidTaken(Box::new(tx())))
        );
        let dead = finished(decide(&void, refused(409, "ALREADY_CAPTURED")));
        assert!(matches!(dead.effect, Effect::Sale(SaleEffect::VoidRefused { .. })) && dead.behind == Behind::Stay);
    }

    #[test]
    fn reversals_and_refunds() {
        let reverse = op(OpKind::Reverse, Subject::Sale);
        for (result, status) in [
            (ReversalResult::NotFound, ReversalStatus::NothingFound),
            (ReversalResult::Reversed, ReversalStatus::Reversed),
        ] {
            let answer =
                ReversalResponse { payment_transaction_reference: "R-1".into(), result, payment_transaction: None };
            let done = finished(decide(&reverse, Answer::Reversal(answer)));
            assert_eq!((done.state, done.effect), (OpState::Done, Effect::Sale(SaleEffect::Reversal(status))));
        }
        let dead = finished(decide(&reverse, refused(400, "BAD")));
        assert!(matches!(dead.effect, Effect::Sale(SaleEffect::ReversalRefused { .. })));

        let refund = op(OpKind::Refund, Subject::Return);
        let done = finished(decide(&refund, Answer::Transaction(tx())));
        assert_eq!(done.effect, Effect::Return(ReturnEffect::Refunded(Box::new(tx()))));
        let dead = finished(decide(&refund, refused(422, "REFUND_TOO_HIGH")));
        assert!(matches!(dead.effect, Effect::Return(ReturnEffect::Refused { .. })) && dead.state == OpState::Dead);
        // A refund answer for a record that is not a return changes nothing it does not own.
        let odd = finished(decide(&op(OpKind::Refund, Subject::Sale), Answer::Transaction(tx())));
        assert_eq!((odd.state, odd.effect), (OpState::Dead, Effect::Nothing));
    }
}
