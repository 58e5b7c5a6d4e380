//! Applying the acquirer's answer to a queued operation: done (the sale or return is
//! updated in the same transaction), a dead letter (a definitive refusal), or back to
//! wait with a backoff. Shared by the sync worker and by the interactive calls
//! (capture, void, refund) that send their queued operation at once.

use super::sync::SyncSettings;
use crate::backend::AcquirerClient;
use crate::domain::{DueOp, OpKind, OpState, Subject, now_ms};
use crate::domain::{OfflineStatus, ReversalStatus, Sale};
use crate::domain::{ReturnRecord, ReturnState};
use crate::store::{Journal, Patched, StoreError, SubjectPatch};
use posagent_acquirer_api::batch::BatchResult;
use posagent_acquirer_api::{AuthorizeResponse, AuthorizeResult, PaymentTransaction, ReversalResponse, ReversalResult};
use std::sync::Arc;

/// A change of a sale by an operation's outcome; returns the journal event's detail.
type SalePatch = Box<dyn FnOnce(&mut Sale) -> String + Send>;

/// What became of an operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Applied {
    /// Done or dead; the record as now journaled.
    Finished(Patched),
    /// Waiting again (the acquirer could not take it now).
    Later,
}

/// What to do with an operation after the acquirer's answer.
#[non_exhaustive]
pub enum Decision {
    /// Done or dead, with the change of its record.
    Finish {
        /// `DONE` or `DEAD`.
        state: OpState,
        /// The answer or the refusal.
        result: String,
        /// The change of the sale or return.
        patch: SubjectPatch,
    },
    /// Wait and send again.
    Later(String),
    /// Read the transaction by reference to know.
    Resolve(String),
}

/// A sale's change as the change of the operation's record (none for a return).
fn on_subject(op: &DueOp, patch: Option<SalePatch>) -> SubjectPatch {
    match (op.subject, patch) {
        (Subject::Sale, Some(p)) => SubjectPatch::Sale(p),
        _ => SubjectPatch::Nothing,
    }
}

fn fin(op: &DueOp, state: OpState, result: String, patch: Option<SalePatch>) -> Decision {
    Decision::Finish { state, result, patch: on_subject(op, patch) }
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
    pub async fn apply(&self, op: &DueOp, result: &BatchResult) -> Result<Applied, StoreError> {
        let decision = self.decide(op, result);
        self.execute(op, decision).await
    }

    /// Carries out a decision on one operation.
    pub async fn execute(&self, op: &DueOp, decision: Decision) -> Result<Applied, StoreError> {
        match decision {
            Decision::Finish { state, result, patch } => self.finish_with(op, state, result, patch).await,
            Decision::Later(error) => self.later(op, error).await,
            Decision::Resolve(why) => self.resolve_by_reference(op, why).await,
        }
    }

    /// Carries out the decisions on a batch's operations; those that finish are written
    /// in one transaction (one synced commit for the batch, not one per operation).
    pub async fn execute_all(&self, decided: Vec<(DueOp, Decision)>) -> Result<Vec<Applied>, StoreError> {
        let mut out = Vec::with_capacity(decided.len());
        let mut finishing = vec![];
        let mut kinds = vec![];
        for (op, decision) in decided {
            match decision {
                Decision::Finish { state, result, patch } => {
                    if state == OpState::Dead {
                        tracing::error!(operation = op.kind.as_str(), queue_id = op.id, reason = %result, "queued operation refused; it is a dead letter — see `posagent queue list`");
                    }
                    kinds.push((op.kind, state));
                    finishing.push((op.id, state, result, patch));
                }
                other => out.push(self.execute(&op, other).await?),
            }
        }
        for (patched, (kind, state)) in self.journal.finish_ops(finishing).await?.into_iter().zip(kinds) {
            if !matches!(patched, Patched::Unchanged) {
                self.metrics.queue_finished(kind.as_str(), state.as_str());
            }
            out.push(Applied::Finished(patched));
        }
        Ok(out)
    }

    /// What the acquirer's answer means for the operation (nothing written yet).
    pub fn decide(&self, op: &DueOp, result: &BatchResult) -> Decision {
        let status = result.status;
        if status == 429 || status >= 500 {
            return Decision::Later(format!("acquirer answered {status}"));
        }
        let refusal = || {
            let code = result.body["error_code"].as_str().unwrap_or("REFUSED");
            let message = result.body["error_message"].as_str().unwrap_or("");
            format!("acquirer refused ({status}): {code} {message}")
        };
        match op.kind {
            OpKind::Authorize => {
                let answer = if (200..300).contains(&status) {
                    serde_json::from_value::<AuthorizeResponse>(result.body.clone()).ok()
                } else {
                    None
                };
                match answer {
                    Some(AuthorizeResponse {
                        result: AuthorizeResult::Approved,
                        payment_transaction: Some(tx),
                        ..
                    }) => fin(op, OpState::Done, tx.payment_transaction_id.clone(), Some(authorized(tx))),
                    Some(a) => {
                        let reason = a.result_reason.unwrap_or_else(|| "DECLINED".into());
                        fin(op, OpState::Dead, format!("declined when forwarded: {reason}"), Some(declined(reason)))
                    }
                    None if status == 409 || status == 422 => Decision::Resolve(refusal()),
                    None => {
                        let why = refusal();
                        fin(op, OpState::Dead, why.clone(), Some(declined(why)))
                    }
                }
            }
            OpKind::Capture | OpKind::Void => {
                let amount = op.request["amount"].as_i64().unwrap_or(0);
                let kind = op.kind;
                match serde_json::from_value::<PaymentTransaction>(result.body.clone()) {
                    Ok(tx) if (200..300).contains(&status) => {
                        let patch = SubjectPatch::Sale(Box::new(move |s: &mut Sale| {
                            s.follow_transaction(&tx);
                            if kind == OpKind::Capture {
                                s.queued_capture_amount = (s.queued_capture_amount - amount).max(0);
                                format!("queued capture of {amount} taken by the acquirer")
                            } else {
                                s.voided = true;
                                s.void_queued = false;
                                "queued void taken by the acquirer".into()
                            }
                        }));
                        Decision::Finish { state: OpState::Done, result: "ok".into(), patch }
                    }
                    _ => {
                        let why = refusal();
                        let w = why.clone();
                        let patch = SubjectPatch::Sale(Box::new(move |s: &mut Sale| {
                            if kind == OpKind::Capture {
                                s.queued_capture_amount = (s.queued_capture_amount - amount).max(0);
                            } else {
                                s.void_queued = false;
                            }
                            s.sync_error = Some(w.clone());
                            format!("queued {} refused: {w}", kind.as_str().to_lowercase())
                        }));
                        Decision::Finish { state: OpState::Dead, result: why, patch }
                    }
                }
            }
            OpKind::Reverse => {
                let answer = if (200..300).contains(&status) {
                    serde_json::from_value::<ReversalResponse>(result.body.clone()).ok()
                } else {
                    None
                };
                match answer {
                    Some(r) => {
                        let (status, detail) = match r.result {
                            ReversalResult::NotFound => (
                                ReversalStatus::NothingFound,
                                "reversal: the acquirer had no authorization; none is accepted under the reference now",
                            ),
                            _ => (
                                ReversalStatus::Reversed,
                                "reversal: the authorization had gone through; voided, and refunded if captured",
                            ),
                        };
                        let patch = move |s: &mut Sale| {
                            s.reversal = Some(status);
                            detail.to_string()
                        };
                        fin(op, OpState::Done, detail.into(), Some(Box::new(patch)))
                    }
                    None => {
                        let why = refusal();
                        let w = why.clone();
                        let patch = move |s: &mut Sale| {
                            s.reversal = Some(ReversalStatus::Refused);
                            s.sync_error = Some(w.clone());
                            format!("reversal refused: {w}; settle the payment by hand with the acquirer")
                        };
                        fin(op, OpState::Dead, why, Some(Box::new(patch)))
                    }
                }
            }
            OpKind::Refund => match serde_json::from_value::<PaymentTransaction>(result.body.clone()) {
                Ok(tx) if (200..300).contains(&status) && op.subject == Subject::Return => {
                    let patch = SubjectPatch::Return(Box::new(move |r: &mut ReturnRecord| {
                        r.state = ReturnState::Refunded;
                        r.reason = None;
                        if r.payment_transaction_id.is_empty() {
                            r.payment_transaction_id = tx.payment_transaction_id.clone();
                        }
                        r.payment_refund_id = tx
                            .payment_refunds
                            .iter()
                            .find(|x| x.payment_refund_reference.as_deref() == Some(r.reference.as_str()))
                            .map(|x| x.payment_refund_id.clone());
                    }));
                    Decision::Finish { state: OpState::Done, result: "ok".into(), patch }
                }
                _ => {
                    let why = refusal();
                    let w = why.clone();
                    let patch = SubjectPatch::Return(Box::new(move |r: &mut ReturnRecord| {
                        r.state = ReturnState::Refused;
                        r.reason = Some(w);
                    }));
                    Decision::Finish { state: OpState::Dead, result: why, patch }
                }
            },
        }
    }

    /// The forward was refused as a repeat under another body (the online attempt that
    /// timed out did reach the acquirer): the transaction is read by the sale reference.
    async fn resolve_by_reference(&self, op: &DueOp, why: String) -> Result<Applied, StoreError> {
        let reference = op.request["payment_transaction_reference"].as_str().unwrap_or_default().to_string();
        match self.backend.transaction_by_reference(&reference).await {
            Ok(Some(tx)) => {
                tracing::info!("forwarded payment already known by the acquirer; taken by reference");
                self.finish(op, OpState::Done, tx.payment_transaction_id.clone(), Some(authorized(tx))).await
            }
            Ok(None) => self.finish(op, OpState::Dead, why.clone(), Some(declined(why))).await,
            Err(e) => self.later(op, e.to_string()).await,
        }
    }

    pub(super) async fn finish(
        &self,
        op: &DueOp,
        state: OpState,
        result: String,
        patch: Option<SalePatch>,
    ) -> Result<Applied, StoreError> {
        self.finish_with(op, state, result, on_subject(op, patch)).await
    }

    async fn finish_with(
        &self,
        op: &DueOp,
        state: OpState,
        result: String,
        patch: SubjectPatch,
    ) -> Result<Applied, StoreError> {
        if state == OpState::Dead {
            tracing::error!(operation = op.kind.as_str(), queue_id = op.id, reason = %result, "queued operation refused; it is a dead letter — see `posagent queue list`");
        }
        let patched = self.journal.finish_op(op.id, state, result, patch).await?;
        if !matches!(patched, Patched::Unchanged) {
            self.metrics.queue_finished(op.kind.as_str(), state.as_str());
        }
        Ok(Applied::Finished(patched))
    }
}

fn authorized(tx: PaymentTransaction) -> SalePatch {
    Box::new(move |s: &mut Sale| {
        s.payment_transaction_id = Some(tx.payment_transaction_id.clone());
        s.authorization_code = tx.authorization_code.clone();
        s.captured_amount = tx.captured_amount;
        s.transaction_state = Some(tx.state);
        s.offline = Some(OfflineStatus::Forwarded);
        "offline payment forwarded and authorized".into()
    })
}

fn declined(reason: String) -> SalePatch {
    Box::new(move |s: &mut Sale| {
        s.offline = Some(OfflineStatus::Declined);
        s.sync_error = Some(reason.clone());
        format!("offline payment declined when forwarded: {reason}")
    })
}
