//! The card path: the read of the sale's own transaction, its authorization online or
//! offline, the chip's last word, and a sale resumed in AUTHORIZING.

use super::{Act, Facts, Input, Queue, ReadEnd, Step, Transition, View, approved, declined, ended, ended_view};
use crate::domain::{Approval, EndReason, Operation, Outcome, Stage};

/// A card sale waiting for its card or authorizing it.
pub(super) fn step(stage: &Stage, facts: Facts, input: Input) -> Step {
    match (stage, input) {
        (Stage::AwaitingCard { .. }, Input::Resume) if !facts.card_reader => {
            let reason = EndReason::NoCardReader;
            let detail = Some(reason.name());
            Step::enter(Transition::to(Stage::Ended { outcome: Outcome::Failed, reason }, detail), vec![])
        }
        (Stage::AwaitingCard { .. }, Input::Resume) => Step::act(Act::ReadCard),
        (Stage::AwaitingCard { .. }, Input::CardRead(digest)) => Step::enter(
            Transition::to(Stage::Authorizing, None),
            vec![Act::Authorize(Operation::AuthorizeRead(digest))],
        ),
        (Stage::AwaitingCard { .. }, Input::ReadEnded(end)) => read_ended(facts, end),
        (Stage::Authorizing, Input::Resume) => Step::act(Act::ResolveAuthorization),
        (Stage::Authorizing, Input::PinRequired) => Step::enter(
            Transition::to(
                Stage::AwaitingCard { pin_required: true },
                Some("PIN required: the card is asked for again, inserted with its PIN".into()),
            ),
            vec![],
        ),
        (Stage::Authorizing, Input::Approved(authorization)) => approved(authorization),
        (Stage::Authorizing, Input::Declined(reason)) => declined(facts, reason),
        (Stage::Authorizing, Input::ChipDeclined { reverse }) => {
            let detail = format!(
                "the card's chip declined after the approval{}",
                if reverse { "; a reversal is queued" } else { "" }
            );
            let mut step = declined_queuing(facts, EndReason::CardDeclinedAfterApproval, detail, reverse);
            step.acts.insert(0, Act::Show(View::Declined));
            step
        }
        (Stage::Authorizing, Input::OfflineApproved { why }) => {
            let detail = format!("approved offline, queued for the acquirer ({why})");
            let mut t = Transition::to(Stage::Approved(Approval::Offline), Some(detail));
            t.queue = Some(Queue::OfflineAuthorization);
            Step::enter(t, vec![Act::CountOfflineApproval, Act::Show(View::Approved)])
        }
        (Stage::Authorizing, Input::OfflineRefused { code, detail, unanswered }) => {
            let mut step = declined_queuing(facts, EndReason::parse(&code), detail, unanswered);
            step.acts.insert(0, Act::Show(View::Declined));
            step
        }
        (Stage::Authorizing, Input::Refused { code, error }) => {
            let reason = EndReason::reported_or(code, EndReason::AcquirerRefused);
            ended(Outcome::Failed, reason, Some(error), View::Error)
        }
        (Stage::Authorizing, Input::NoAuthorization) => Step::enter(
            Transition::to(
                Stage::AwaitingCard { pin_required: facts.pin_required },
                Some("no authorization found; the card is asked for again".into()),
            ),
            vec![],
        ),
        // Canceled while the authorization's fate is unknown (resumed after a restart):
        // the reversal goes with the final state, and undoes it if it went through.
        (Stage::Authorizing, Input::CashierCancel) => {
            let reason = EndReason::CashierCanceled;
            let detail = "canceled while the authorization's answer was unknown; a reversal is queued";
            let mut t = Transition::to(Stage::Ended { outcome: Outcome::Canceled, reason }, Some(detail.into()));
            t.queue = Some(Queue::Reversal);
            t.cancel_requested = true;
            Step::enter(t, vec![Act::Show(View::Canceled)])
        }
        _ => Step::none(),
    }
}

/// DECLINED for `reason`, a reversal queued with it when `reverse`; the decline receipt.
fn declined_queuing(facts: Facts, reason: EndReason, detail: String, reverse: bool) -> Step {
    let mut t = Transition::to(Stage::Ended { outcome: Outcome::Declined, reason }, Some(detail));
    t.queue = reverse.then_some(Queue::Reversal);
    let mut acts = vec![];
    if facts.method == posagent_acquirer_api::PaymentMethod::Card {
        acts.push(Act::PrintDeclineReceipt);
    }
    Step::enter(t, acts)
}

/// Waiting for the card ended without a read.
fn read_ended(facts: Facts, end: ReadEnd) -> Step {
    let (outcome, reason, detail) = match end {
        ReadEnd::CashierCanceled => (Outcome::Canceled, EndReason::CashierCanceled, None),
        ReadEnd::TimedOut => (Outcome::Canceled, EndReason::CardTimeout, None),
        ReadEnd::CustomerCanceled => (Outcome::Canceled, EndReason::CustomerCanceled, None),
        ReadEnd::AtReader(code) => return declined(facts, Some(code)),
        ReadEnd::Disconnected(e) => (Outcome::Failed, EndReason::CardReaderDisconnected, Some(e)),
        ReadEnd::Failed(e) => (Outcome::Failed, EndReason::CardReaderFailed, Some(e)),
    };
    let view = if outcome == Outcome::Failed { View::Error } else { ended_view(&reason) };
    ended(outcome, reason, detail, view)
}
