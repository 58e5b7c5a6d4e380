//! The Klarna path and the customer's choice of method: availability, the first
//! authorization and its payment request, the customer's journey, the cancel, the final
//! authorization.

use super::{Act, Choice, Facts, Input, Offer, Report, Step, Transition, View, approved, declined, ended, ended_view};
use crate::domain::{EndReason, Operation, Outcome, Stage};
use posagent_acquirer_api::{PaymentMethod, PresentationInstruction};

/// A sale that is created, or waits for the customer's choice.
pub(super) fn choose(stage: &Stage, facts: Facts, input: Input) -> Step {
    match (stage, input) {
        (Stage::Created, Input::Resume) if facts.choice_pending => Step::act(Act::AskAvailability),
        (Stage::Created, Input::Resume) if facts.method == PaymentMethod::Card => {
            Step::enter(Transition::to(Stage::AwaitingCard { pin_required: facts.pin_required }, None), vec![])
        }
        (Stage::Created, Input::Resume) => Step::act(Act::AskAvailability),
        (Stage::Created, Input::Availability(offer)) if facts.choice_pending => offer_methods(offer),
        (Stage::Created, Input::Availability(Offer::Offered { status, .. })) => {
            Step::enter(Transition::to(Stage::AvailabilityChecked, status), vec![])
        }
        (Stage::Created, Input::Availability(Offer::NotOffered { reason, detail })) => {
            ended(Outcome::Unavailable, EndReason::parse(&reason), Some(detail), View::Unavailable)
        }
        (Stage::AwaitingMethod { .. }, Input::Resume) => Step::act(Act::WaitForChoice),
        (Stage::AwaitingMethod { .. }, Input::MethodChosen(method)) => {
            let (next, name) = match method {
                PaymentMethod::Klarna => (Stage::AvailabilityChecked, "KLARNA"),
                _ => (Stage::AwaitingCard { pin_required: facts.pin_required }, "CARD"),
            };
            let mut t = Transition::to(next, Some(format!("method chosen: {name}")));
            t.choice = Some(Choice { offered: None, chosen: Some(method), klarna_unavailable_reason: None });
            Step::enter(t, vec![])
        }
        (Stage::AwaitingMethod { .. }, Input::TimedOut) => {
            let reason = EndReason::ChoiceTimeout;
            let view = ended_view(&reason);
            ended(Outcome::Canceled, reason, Some("no method chosen in time".into()), view)
        }
        _ => Step::none(),
    }
}

/// Klarna's instruction decides: preselected or shown alone, Klarna is the customer's
/// choice; among the methods, the customer chooses; hidden or not available, the card
/// is the only method.
fn offer_methods(offer: Offer) -> Step {
    let (stage, detail, choice) = match offer {
        Offer::Offered {
            instruction: PresentationInstruction::PreselectKlarna | PresentationInstruction::ShowOnlyKlarna,
            ..
        } => (
            Stage::AvailabilityChecked,
            "method chosen: KLARNA (Klarna's instruction: preselected or shown alone)".to_string(),
            Choice {
                offered: Some(vec![PaymentMethod::Klarna]),
                chosen: Some(PaymentMethod::Klarna),
                klarna_unavailable_reason: None,
            },
        ),
        Offer::Offered { .. } => {
            let offered = vec![PaymentMethod::Klarna, PaymentMethod::Card];
            let choice = Choice { offered: Some(offered.clone()), chosen: None, klarna_unavailable_reason: None };
            (Stage::AwaitingMethod { offered }, "methods offered: KLARNA, CARD".to_string(), choice)
        }
        Offer::NotOffered { reason, detail } => (
            Stage::AwaitingCard { pin_required: false },
            format!("Klarna not offered ({detail}); method: CARD"),
            Choice {
                offered: Some(vec![PaymentMethod::Card]),
                chosen: Some(PaymentMethod::Card),
                klarna_unavailable_reason: Some(reason),
            },
        ),
    };
    let mut t = Transition::to(stage, Some(detail));
    t.choice = Some(choice);
    Step::enter(t, vec![])
}

/// A Klarna sale from its first authorization to its end.
pub(super) fn step(stage: &Stage, facts: Facts, input: Input) -> Step {
    let request = stage.request().cloned();
    match (stage, input) {
        (Stage::AvailabilityChecked, Input::Resume) => Step::act(Act::Authorize(Operation::Authorize)),
        (Stage::AvailabilityChecked, Input::StepUp(request)) => {
            let detail = Some(request.id.clone());
            Step::enter(Transition::to(Stage::QrShown { request }, detail), vec![Act::PresentQr])
        }
        (Stage::QrShown { .. } | Stage::CustomerInProgress { .. }, Input::Resume) => Step::act(Act::Watch),
        (Stage::QrShown { .. }, Input::QrUnavailable(reason)) => Step::act(Act::CancelRequest(reason)),
        (Stage::QrShown { .. } | Stage::CustomerInProgress { .. }, Input::TimedOut) => {
            Step::act(Act::CancelRequest(EndReason::TerminalTimeout))
        }
        (Stage::CustomerCompleted { .. }, Input::Resume) if facts.cancel_requested => {
            Step::act(Act::CancelRequest(EndReason::CashierCanceled))
        }
        (Stage::CustomerCompleted { .. }, Input::Resume) => Step::act(Act::Authorize(Operation::AuthorizeFinal)),
        (_, Input::CashierCancel) => Step::act(Act::CancelRequest(EndReason::CashierCanceled)),
        (_, Input::Approved(authorization)) => approved(authorization),
        (_, Input::Declined(reason)) => declined(facts, reason),
        (_, Input::Request(report)) => match request {
            Some(request) => follow(stage, request, report),
            None => Step::none(),
        },
        (_, Input::CancelAnswered { reason, report }) => {
            // The terminal's own reason for a request it canceled.
            let report = if let Report::Canceled(_) = report { Report::Canceled(Some(reason.name())) } else { report };
            match request {
                Some(request) => follow(stage, request, report),
                None => Step::none(),
            }
        }
        (_, Input::CancelUndelivered { reason, error }) => {
            // Without the final authorization no money moves: the sale ends here.
            let reason = EndReason::LeftToExpire(Box::new(reason));
            ended(Outcome::Canceled, reason, Some(error), View::Canceled)
        }
        _ => Step::none(),
    }
}

/// Moves the sale along with the payment request's state.
fn follow(stage: &Stage, request: crate::domain::QrRequest, report: Report) -> Step {
    match report {
        Report::Submitted if matches!(stage, Stage::CustomerInProgress { .. }) => Step::enter(
            Transition::to(Stage::QrShown { request }, Some("customer left the journey".into())),
            vec![Act::Show(View::Qr)],
        ),
        Report::InProgress if matches!(stage, Stage::QrShown { .. }) => {
            Step::enter(Transition::to(Stage::CustomerInProgress { request }, None), vec![Act::Show(View::InProgress)])
        }
        // An older-generation request whose transaction already exists: read it, never
        // authorize again.
        Report::Authorized => Step::act(Act::ReadTransaction),
        Report::Completed(Some(session_token)) => {
            Step::enter(Transition::to(Stage::CustomerCompleted { request, session_token }, None), vec![])
        }
        Report::Completed(None) => ended(
            Outcome::Failed,
            EndReason::AcquirerBadAnswer,
            Some("acquirer answer is missing session token".into()),
            View::Error,
        ),
        Report::Declined(reason) => {
            let reason = EndReason::reported_or(reason, EndReason::Declined);
            ended(Outcome::Declined, reason, None, View::Declined)
        }
        Report::Canceled(reason) => {
            let reason = EndReason::reported_or(reason, EndReason::Canceled);
            let view = ended_view(&reason);
            ended(Outcome::Canceled, reason, None, view)
        }
        Report::Expired => {
            let reason = EndReason::PaymentRequestExpired;
            let view = ended_view(&reason);
            Step::enter(Transition::to(Stage::Ended { outcome: Outcome::Expired, reason }, None), vec![Act::Show(view)])
        }
        Report::Submitted | Report::InProgress | Report::Unknown => Step::none(),
    }
}
