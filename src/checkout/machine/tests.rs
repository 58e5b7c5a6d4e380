//! Every transition of the machine: the Klarna path, the card path, the customer's
//! choice, and the races (cancel against completion, timeout against approval, a
//! restart in AUTHORIZING).

use super::*;
use crate::domain::{Approval, ReadDigest};
use posagent_acquirer_api::TransactionState;

const KLARNA: Facts = Facts {
    method: PaymentMethod::Klarna,
    choice_pending: false,
    cancel_requested: false,
    card_reader: true,
    pin_required: false,
    receipt_due: false,
};
const CARD: Facts = Facts { method: PaymentMethod::Card, ..KLARNA };
const CHOICE: Facts = Facts { choice_pending: true, ..KLARNA };

fn request() -> QrRequest {
    QrRequest { id: "pr-1".into(), url: Some("https://pay.example/pr-1".into()), expires_at: None, shown_at: None }
}

fn qr() -> Stage {
    Stage::QrShown { request: request() }
}

fn in_progress() -> Stage {
    Stage::CustomerInProgress { request: request() }
}

fn completed() -> Stage {
    Stage::CustomerCompleted { request: request(), session_token: "tok".into() }
}

fn authorization() -> Authorization {
    Authorization {
        payment_transaction_id: "krn:tx:1".into(),
        authorization_code: None,
        captured_amount: 1000,
        state: TransactionState::Completed,
        klarna_reference: "ABC".into(),
    }
}

fn ended(outcome: Outcome, reason: EndReason) -> Stage {
    Stage::Ended { outcome, reason }
}

/// The stage the step enters, its detail and its acts.
fn entered(step: &Step) -> (Stage, Option<String>, Vec<Act>) {
    let t = step.transition.clone().unwrap_or_else(|| panic!("no transition in {step:?}"));
    (t.stage, t.detail, step.acts.clone())
}

fn acts_only(step: &Step) -> Vec<Act> {
    assert_eq!(step.transition, None, "{step:?}");
    step.acts.clone()
}

#[test]
fn a_cancel_before_the_qr_code_ends_the_sale_canceled() {
    for stage in [
        Stage::Created,
        Stage::AvailabilityChecked,
        Stage::AwaitingMethod { offered: vec![] },
        Stage::AwaitingCard { pin_required: false },
    ] {
        let step = step(&stage, KLARNA, Input::CashierCancel);
        let t = step.transition.clone().unwrap_or_else(|| panic!("no transition"));
        assert_eq!(t.stage, ended(Outcome::Canceled, EndReason::CashierCanceled), "{stage:?}");
        assert_eq!(t.detail.as_deref(), Some("canceled before the QR code was shown"));
        assert!(t.cancel_requested);
        assert_eq!(step.acts, [Act::Show(View::Canceled)]);
    }
}

#[test]
fn a_created_sale_asks_for_klarna_or_goes_to_the_card() {
    assert_eq!(acts_only(&step(&Stage::Created, KLARNA, Input::Resume)), [Act::AskAvailability]);
    assert_eq!(acts_only(&step(&Stage::Created, CHOICE, Input::Resume)), [Act::AskAvailability]);
    let (stage, detail, acts) = entered(&step(&Stage::Created, CARD, Input::Resume));
    assert_eq!((stage, detail, acts), (Stage::AwaitingCard { pin_required: false }, None, vec![]));
}

#[test]
fn klarna_offered_or_not() {
    let offered =
        Offer::Offered { instruction: PresentationInstruction::ShowKlarna, status: Some("PaymentSupported".into()) };
    let (stage, detail, acts) = entered(&step(&Stage::Created, KLARNA, Input::Availability(offered)));
    assert_eq!((stage, detail.as_deref(), acts), (Stage::AvailabilityChecked, Some("PaymentSupported"), vec![]));
    let not = Offer::NotOffered { reason: "OFFLINE".into(), detail: "acquirer unreachable".into() };
    let (stage, detail, acts) = entered(&step(&Stage::Created, KLARNA, Input::Availability(not)));
    assert_eq!(stage, ended(Outcome::Unavailable, EndReason::Offline));
    assert_eq!(detail.as_deref(), Some("acquirer unreachable"));
    assert_eq!(acts, [Act::Show(View::Unavailable)]);
}

#[test]
fn the_choice_follows_klarnas_instruction() {
    let offer = |instruction| Input::Availability(Offer::Offered { instruction, status: None });
    for instruction in [PresentationInstruction::PreselectKlarna, PresentationInstruction::ShowOnlyKlarna] {
        let s = step(&Stage::Created, CHOICE, offer(instruction));
        let t = s.transition.unwrap_or_else(|| panic!("no transition"));
        assert_eq!(t.stage, Stage::AvailabilityChecked);
        let choice = t.choice.unwrap_or_else(|| panic!("no choice"));
        assert_eq!(choice.offered, Some(vec![PaymentMethod::Klarna]));
        assert_eq!(choice.chosen, Some(PaymentMethod::Klarna));
        assert_eq!(
            t.detail.as_deref(),
            Some("method chosen: KLARNA (Klarna's instruction: preselected or shown alone)")
        );
    }
    let t = step(&Stage::Created, CHOICE, offer(PresentationInstruction::ShowKlarna))
        .transition
        .unwrap_or_else(|| panic!("no transition"));
    assert_eq!(t.stage, Stage::AwaitingMethod { offered: vec![PaymentMethod::Klarna, PaymentMethod::Card] });
    assert_eq!(t.choice.as_ref().and_then(|c| c.chosen), None);
    assert_eq!(t.detail.as_deref(), Some("methods offered: KLARNA, CARD"));
    let not = Offer::NotOffered { reason: "AMOUNT_OUT_OF_RANGE".into(), detail: "too much".into() };
    let t =
        step(&Stage::Created, CHOICE, Input::Availability(not)).transition.unwrap_or_else(|| panic!("no transition"));
    assert_eq!(t.stage, Stage::AwaitingCard { pin_required: false });
    let choice = t.choice.unwrap_or_else(|| panic!("no choice"));
    assert_eq!(choice.chosen, Some(PaymentMethod::Card));
    assert_eq!(choice.klarna_unavailable_reason.as_deref(), Some("AMOUNT_OUT_OF_RANGE"));
    assert_eq!(t.detail.as_deref(), Some("Klarna not offered (too much); method: CARD"));
}

#[test]
fn the_customer_chooses_or_walks_away() {
    let waiting = Stage::AwaitingMethod { offered: vec![PaymentMethod::Klarna, PaymentMethod::Card] };
    assert_eq!(acts_only(&step(&waiting, CHOICE, Input::Resume)), [Act::WaitForChoice]);
    let t = step(&waiting, CHOICE, Input::MethodChosen(PaymentMethod::Klarna))
        .transition
        .unwrap_or_else(|| panic!("no transition"));
    assert_eq!((t.stage, t.detail.as_deref()), (Stage::AvailabilityChecked, Some("method chosen: KLARNA")));
    let t = step(&waiting, CHOICE, Input::MethodChosen(PaymentMethod::Card))
        .transition
        .unwrap_or_else(|| panic!("no transition"));
    assert_eq!(
        (t.stage, t.detail.as_deref()),
        (Stage::AwaitingCard { pin_required: false }, Some("method chosen: CARD"))
    );
    assert_eq!(t.choice.and_then(|c| c.chosen), Some(PaymentMethod::Card));
    let (stage, detail, acts) = entered(&step(&waiting, CHOICE, Input::TimedOut));
    assert_eq!(stage, ended(Outcome::Canceled, EndReason::ChoiceTimeout));
    assert_eq!(detail.as_deref(), Some("no method chosen in time"));
    assert_eq!(acts, [Act::Show(View::TimedOut)]);
}

#[test]
fn the_first_authorization_shows_the_qr_code_or_settles() {
    assert_eq!(
        acts_only(&step(&Stage::AvailabilityChecked, KLARNA, Input::Resume)),
        [Act::Authorize(Operation::Authorize)]
    );
    let (stage, detail, acts) = entered(&step(&Stage::AvailabilityChecked, KLARNA, Input::StepUp(request())));
    assert_eq!((stage, detail.as_deref(), acts), (qr(), Some("pr-1"), vec![Act::PresentQr]));
    let (stage, detail, acts) = entered(&step(&Stage::AvailabilityChecked, KLARNA, Input::Approved(authorization())));
    assert_eq!(stage, Stage::Approved(Approval::Online(authorization())));
    assert_eq!((detail.as_deref(), acts), (Some("krn:tx:1"), vec![Act::Show(View::Approved)]));
    let (stage, _, acts) = entered(&step(&Stage::AvailabilityChecked, KLARNA, Input::Declined(None)));
    assert_eq!((stage, acts), (ended(Outcome::Declined, EndReason::Declined), vec![Act::Show(View::Declined)]));
}

#[test]
fn a_qr_code_that_cannot_reach_the_customer_is_withdrawn() {
    for reason in [EndReason::DisplayFailed, EndReason::QrSlipNotPrinted] {
        assert_eq!(acts_only(&step(&qr(), KLARNA, Input::QrUnavailable(reason.clone()))), [Act::CancelRequest(reason)]);
    }
}

#[test]
fn the_payment_request_moves_the_sale_along() {
    for stage in [qr(), in_progress()] {
        assert_eq!(acts_only(&step(&stage, KLARNA, Input::Resume)), [Act::Watch]);
    }
    let report = |r| Input::Request(r);
    let (stage, detail, acts) = entered(&step(&qr(), KLARNA, report(Report::InProgress)));
    assert_eq!((stage, detail, acts), (in_progress(), None, vec![Act::Show(View::InProgress)]));
    let (stage, detail, acts) = entered(&step(&in_progress(), KLARNA, report(Report::Submitted)));
    assert_eq!((stage, detail.as_deref(), acts), (qr(), Some("customer left the journey"), vec![Act::Show(View::Qr)]));
    // Nothing new: the long poll ended without a change.
    assert_eq!(step(&qr(), KLARNA, report(Report::Submitted)), Step::default());
    assert_eq!(step(&in_progress(), KLARNA, report(Report::InProgress)), Step::default());
    assert_eq!(step(&qr(), KLARNA, report(Report::Unknown)), Step::default());
    let (stage, _, acts) = entered(&step(&in_progress(), KLARNA, report(Report::Completed(Some("tok".into())))));
    assert_eq!((stage, acts), (completed(), vec![]));
    let (stage, detail, acts) = entered(&step(&in_progress(), KLARNA, report(Report::Completed(None))));
    assert_eq!(stage, ended(Outcome::Failed, EndReason::AcquirerBadAnswer));
    assert_eq!(
        (detail.as_deref(), acts),
        (Some("acquirer answer is missing session token"), vec![Act::Show(View::Error)])
    );
    assert_eq!(acts_only(&step(&qr(), KLARNA, report(Report::Authorized))), [Act::ReadTransaction]);
    let (stage, detail, acts) = entered(&step(&qr(), KLARNA, report(Report::Declined(Some("REJECTED".into())))));
    assert_eq!(stage, ended(Outcome::Declined, EndReason::Reported("REJECTED".into())));
    assert_eq!((detail.as_deref(), acts), (Some("REJECTED"), vec![Act::Show(View::Declined)]));
    let (stage, _, acts) = entered(&step(&qr(), KLARNA, report(Report::Canceled(None))));
    assert_eq!((stage, acts), (ended(Outcome::Canceled, EndReason::Canceled), vec![Act::Show(View::Canceled)]));
    let (stage, detail, acts) = entered(&step(&qr(), KLARNA, report(Report::Expired)));
    assert_eq!(stage, ended(Outcome::Expired, EndReason::PaymentRequestExpired));
    assert_eq!((detail, acts), (None, vec![Act::Show(View::TimedOut)]));
}

#[test]
fn cancel_and_timeout_cancel_the_payment_request_first() {
    for stage in [qr(), in_progress(), completed()] {
        assert_eq!(
            acts_only(&step(&stage, KLARNA, Input::CashierCancel)),
            [Act::CancelRequest(EndReason::CashierCanceled)]
        );
    }
    for stage in [qr(), in_progress()] {
        assert_eq!(acts_only(&step(&stage, KLARNA, Input::TimedOut)), [Act::CancelRequest(EndReason::TerminalTimeout)]);
    }
    // Canceled at the acquirer: the terminal's reason, and its screen.
    let answered = Input::CancelAnswered { reason: EndReason::TerminalTimeout, report: Report::Canceled(None) };
    let (stage, _, acts) = entered(&step(&qr(), KLARNA, answered));
    assert_eq!((stage, acts), (ended(Outcome::Canceled, EndReason::TerminalTimeout), vec![Act::Show(View::TimedOut)]));
    let answered =
        Input::CancelAnswered { reason: EndReason::CashierCanceled, report: Report::Canceled(Some("X".into())) };
    let (stage, detail, _) = entered(&step(&in_progress(), KLARNA, answered));
    assert_eq!(
        (stage, detail.as_deref()),
        (ended(Outcome::Canceled, EndReason::CashierCanceled), Some("CASHIER_CANCELED"))
    );
    // The acquirer could not be told: no money can move without the final authorization.
    let undelivered = Input::CancelUndelivered { reason: EndReason::CashierCanceled, error: "timeout".into() };
    let (stage, detail, acts) = entered(&step(&qr(), KLARNA, undelivered));
    assert_eq!(stage, ended(Outcome::Canceled, EndReason::LeftToExpire(Box::new(EndReason::CashierCanceled))));
    assert_eq!((detail.as_deref(), acts), (Some("timeout"), vec![Act::Show(View::Canceled)]));
}

/// The cashier cancels as the customer approves: the acquirer reports COMPLETED (the
/// cancel came too late), the session token is journaled, and the journaled cancel
/// cancels again rather than authorizing — one final state either way.
#[test]
fn a_cancel_racing_the_completion_never_authorizes() {
    let answered =
        Input::CancelAnswered { reason: EndReason::CashierCanceled, report: Report::Completed(Some("tok".into())) };
    assert_eq!(entered(&step(&qr(), KLARNA, answered)).0, completed());
    let canceled = Facts { cancel_requested: true, ..KLARNA };
    assert_eq!(
        acts_only(&step(&completed(), canceled, Input::Resume)),
        [Act::CancelRequest(EndReason::CashierCanceled)]
    );
    // Not canceled: the final authorization under its own key.
    assert_eq!(acts_only(&step(&completed(), KLARNA, Input::Resume)), [Act::Authorize(Operation::AuthorizeFinal)]);
    // The final authorization's answer settles it.
    assert_eq!(
        entered(&step(&completed(), KLARNA, Input::Approved(authorization()))).0,
        Stage::Approved(Approval::Online(authorization()))
    );
    let declined = entered(&step(&completed(), KLARNA, Input::Declined(Some("RISK".into())))).0;
    assert_eq!(declined, ended(Outcome::Declined, EndReason::Reported("RISK".into())));
}

/// The terminal's time runs out as the customer approves: the request is canceled, and
/// whatever the acquirer then reports is what the sale becomes.
#[test]
fn a_timeout_racing_the_approval_takes_the_acquirers_word() {
    assert_eq!(
        acts_only(&step(&in_progress(), KLARNA, Input::TimedOut)),
        [Act::CancelRequest(EndReason::TerminalTimeout)]
    );
    // The acquirer's 403: the request had completed; its state is taken.
    assert_eq!(
        entered(&step(&in_progress(), KLARNA, Input::Request(Report::Completed(Some("tok".into()))))).0,
        completed()
    );
    // It had an authorization already: read, never authorized again.
    assert_eq!(acts_only(&step(&in_progress(), KLARNA, Input::Request(Report::Authorized))), [Act::ReadTransaction]);
    assert_eq!(
        entered(&step(&in_progress(), KLARNA, Input::Approved(authorization()))).0,
        Stage::Approved(Approval::Online(authorization()))
    );
}

#[test]
fn an_approved_sale_prints_its_receipt_once() {
    let approved = Stage::Approved(Approval::Online(authorization()));
    assert_eq!(acts_only(&step(&approved, Facts { receipt_due: true, ..KLARNA }, Input::Resume)), [Act::PrintReceipt]);
    assert_eq!(step(&approved, KLARNA, Input::Resume), Step::default());
    assert_eq!(step(&approved, KLARNA, Input::CashierCancel), Step::default());
    let over = ended(Outcome::Declined, EndReason::Declined);
    assert_eq!(step(&over, KLARNA, Input::Resume), Step::default());
    assert_eq!(
        step(&over, KLARNA, Input::Failed { reason: EndReason::JournalError, error: "disk".into() }),
        Step::default()
    );
}

#[test]
fn a_failure_ends_an_open_sale_failed_with_its_reason() {
    for stage in [Stage::Created, qr(), completed(), Stage::Authorizing] {
        let failed = Input::Failed { reason: EndReason::AcquirerError, error: "acquirer 503".into() };
        let (next, detail, acts) = entered(&step(&stage, KLARNA, failed));
        assert_eq!(next, ended(Outcome::Failed, EndReason::AcquirerError));
        assert_eq!((detail.as_deref(), acts), (Some("acquirer 503"), vec![Act::Show(View::Error)]));
    }
}

#[test]
fn a_card_sale_reads_the_card_then_authorizes_under_the_reads_key() {
    let waiting = Stage::AwaitingCard { pin_required: false };
    assert_eq!(acts_only(&step(&waiting, CARD, Input::Resume)), [Act::ReadCard]);
    let (stage, detail, _) = entered(&step(&waiting, Facts { card_reader: false, ..CARD }, Input::Resume));
    assert_eq!((stage, detail.as_deref()), (ended(Outcome::Failed, EndReason::NoCardReader), Some("NO_CARD_READER")));
    let digest = ReadDigest::of(&[1, 2, 3]);
    let (stage, detail, acts) = entered(&step(&waiting, CARD, Input::CardRead(digest.clone())));
    assert_eq!(
        (stage, detail, acts),
        (Stage::Authorizing, None, vec![Act::Authorize(Operation::AuthorizeRead(digest))])
    );
}

#[test]
fn waiting_for_the_card_ends_as_the_reader_says() {
    let waiting = Stage::AwaitingCard { pin_required: false };
    let cases = [
        (
            ReadEnd::CashierCanceled,
            Outcome::Canceled,
            EndReason::CashierCanceled,
            None,
            vec![Act::Show(View::Canceled)],
        ),
        (ReadEnd::TimedOut, Outcome::Canceled, EndReason::CardTimeout, None, vec![Act::Show(View::TimedOut)]),
        (
            ReadEnd::CustomerCanceled,
            Outcome::Canceled,
            EndReason::CustomerCanceled,
            None,
            vec![Act::Show(View::Canceled)],
        ),
        (
            ReadEnd::AtReader("PIN_TRIES_EXCEEDED".into()),
            Outcome::Declined,
            EndReason::Reported("PIN_TRIES_EXCEEDED".into()),
            None,
            vec![Act::Show(View::Declined), Act::PrintDeclineReceipt],
        ),
        (
            ReadEnd::Disconnected("gone".into()),
            Outcome::Failed,
            EndReason::CardReaderDisconnected,
            Some("gone"),
            vec![Act::Show(View::Error)],
        ),
        (
            ReadEnd::Failed("broken".into()),
            Outcome::Failed,
            EndReason::CardReaderFailed,
            Some("broken"),
            vec![Act::Show(View::Error)],
        ),
    ];
    for (end, outcome, reason, detail, acts) in cases {
        let (stage, d, a) = entered(&step(&waiting, CARD, Input::ReadEnded(end)));
        let detail = detail.map(str::to_string).unwrap_or_else(|| reason.name());
        assert_eq!((stage, d, a), (ended(outcome, reason), Some(detail), acts));
    }
}

#[test]
fn an_authorization_approves_declines_or_asks_for_the_pin() {
    let (stage, detail, _) = entered(&step(&Stage::Authorizing, CARD, Input::PinRequired));
    assert_eq!(stage, Stage::AwaitingCard { pin_required: true });
    assert_eq!(detail.as_deref(), Some("PIN required: the card is asked for again, inserted with its PIN"));
    assert_eq!(
        entered(&step(&Stage::Authorizing, CARD, Input::Approved(authorization()))).0,
        Stage::Approved(Approval::Online(authorization()))
    );
    let (stage, _, acts) = entered(&step(&Stage::Authorizing, CARD, Input::Declined(Some("DO_NOT_HONOR".into()))));
    assert_eq!(stage, ended(Outcome::Declined, EndReason::Reported("DO_NOT_HONOR".into())));
    assert_eq!(acts, [Act::Show(View::Declined), Act::PrintDeclineReceipt]);
    let refused = Input::Refused { code: None, error: "422".into() };
    let (stage, detail, acts) = entered(&step(&Stage::Authorizing, CARD, refused));
    assert_eq!(
        (stage, detail.as_deref(), acts),
        (ended(Outcome::Failed, EndReason::AcquirerRefused), Some("422"), vec![Act::Show(View::Error)])
    );
    let refused = Input::Refused { code: Some("CARD_BLOCKED".into()), error: "422".into() };
    assert_eq!(
        entered(&step(&Stage::Authorizing, CARD, refused)).0,
        ended(Outcome::Failed, EndReason::Reported("CARD_BLOCKED".into()))
    );
}

#[test]
fn the_chip_has_the_last_word_and_an_unknown_authorization_is_reversed() {
    for reverse in [true, false] {
        let s = step(&Stage::Authorizing, CARD, Input::ChipDeclined { reverse });
        let t = s.transition.unwrap_or_else(|| panic!("no transition"));
        assert_eq!(t.stage, ended(Outcome::Declined, EndReason::CardDeclinedAfterApproval));
        assert_eq!(t.queue, reverse.then_some(Queue::Reversal));
        let tail = if reverse { "; a reversal is queued" } else { "" };
        assert_eq!(t.detail, Some(format!("the card's chip declined after the approval{tail}")));
        assert_eq!(s.acts, [Act::Show(View::Declined), Act::PrintDeclineReceipt]);
    }
}

#[test]
fn offline_the_limits_decide_and_the_authorization_is_queued_with_the_approval() {
    let s = step(&Stage::Authorizing, CARD, Input::OfflineApproved { why: "offline".into() });
    let t = s.transition.unwrap_or_else(|| panic!("no transition"));
    assert_eq!(t.stage, Stage::Approved(Approval::Offline));
    assert_eq!(t.queue, Some(Queue::OfflineAuthorization));
    assert_eq!(t.detail.as_deref(), Some("approved offline, queued for the acquirer (offline)"));
    assert_eq!(s.acts, [Act::CountOfflineApproval, Act::Show(View::Approved)]);
    for unanswered in [true, false] {
        let refused =
            Input::OfflineRefused { code: "FLOOR_LIMIT".into(), detail: "over the floor limit".into(), unanswered };
        let s = step(&Stage::Authorizing, CARD, refused);
        let t = s.transition.unwrap_or_else(|| panic!("no transition"));
        assert_eq!(t.stage, ended(Outcome::Declined, EndReason::Reported("FLOOR_LIMIT".into())));
        assert_eq!(t.queue, unanswered.then_some(Queue::Reversal));
        assert_eq!(t.detail.as_deref(), Some("over the floor limit"));
        assert_eq!(s.acts, [Act::Show(View::Declined), Act::PrintDeclineReceipt]);
    }
}

/// Restarted in AUTHORIZING (the read is gone): read back by reference; approved by
/// what the acquirer holds, asked for the card again when it holds nothing, and
/// canceled by the cashier with a reversal in the same write while it cannot tell.
#[test]
fn a_restart_in_authorizing_reads_the_authorization_back() {
    assert_eq!(acts_only(&step(&Stage::Authorizing, CARD, Input::Resume)), [Act::ResolveAuthorization]);
    assert_eq!(
        entered(&step(&Stage::Authorizing, CARD, Input::Approved(authorization()))).0,
        Stage::Approved(Approval::Online(authorization()))
    );
    let (stage, detail, _) =
        entered(&step(&Stage::Authorizing, Facts { pin_required: true, ..CARD }, Input::NoAuthorization));
    assert_eq!(
        (stage, detail.as_deref()),
        (Stage::AwaitingCard { pin_required: true }, Some("no authorization found; the card is asked for again"))
    );
    let s = step(&Stage::Authorizing, CARD, Input::CashierCancel);
    let t = s.transition.unwrap_or_else(|| panic!("no transition"));
    assert_eq!(t.stage, ended(Outcome::Canceled, EndReason::CashierCanceled));
    assert_eq!((t.queue, t.cancel_requested), (Some(Queue::Reversal), true));
    assert_eq!(
        t.detail.as_deref(),
        Some("canceled while the authorization's answer was unknown; a reversal is queued")
    );
    assert_eq!(s.acts, [Act::Show(View::Canceled)]);
}

#[test]
fn inputs_that_do_not_belong_to_the_stage_change_nothing() {
    assert_eq!(step(&Stage::AwaitingCard { pin_required: false }, CARD, Input::TimedOut), Step::default());
    assert_eq!(step(&Stage::Authorizing, CARD, Input::MethodChosen(PaymentMethod::Klarna)), Step::default());
    assert_eq!(step(&Stage::Created, KLARNA, Input::StepUp(request())), Step::default());
    assert_eq!(step(&Stage::AvailabilityChecked, KLARNA, Input::TimedOut), Step::default());
}

#[test]
fn the_qr_code_is_given_up_at_the_terminals_timeout_or_the_expiry_if_earlier() {
    let shown = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z").map(|t| t.to_utc()).unwrap_or_default();
    let timeout = chrono::TimeDelta::seconds(120);
    assert_eq!(qr_deadline(shown, None, timeout), shown + timeout);
    let early = shown + chrono::TimeDelta::seconds(90);
    assert_eq!(qr_deadline(shown, Some(early), timeout), early);
    let late = shown + chrono::TimeDelta::seconds(600);
    assert_eq!(qr_deadline(shown, Some(late), timeout), shown + timeout);
}

#[test]
fn a_resumed_choice_keeps_the_time_it_already_waited() {
    let since = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z").map(|t| t.to_utc()).unwrap_or_default();
    let timeout = std::time::Duration::from_secs(90);
    assert_eq!(choice_left(since, since, timeout), timeout);
    assert_eq!(choice_left(since, since + chrono::TimeDelta::seconds(30), timeout), std::time::Duration::from_secs(60));
    assert_eq!(choice_left(since, since + chrono::TimeDelta::seconds(300), timeout), std::time::Duration::ZERO);
    // A clock that went back gives the whole time again, never more.
    assert_eq!(choice_left(since, since - chrono::TimeDelta::seconds(30), timeout), timeout);
}

fn every_stage() -> Vec<Stage> {
    vec![
        Stage::Created,
        Stage::AvailabilityChecked,
        Stage::AwaitingMethod { offered: vec![PaymentMethod::Klarna, PaymentMethod::Card] },
        qr(),
        in_progress(),
        completed(),
        Stage::AwaitingCard { pin_required: false },
        Stage::Authorizing,
        Stage::Approved(Approval::Online(authorization())),
        Stage::Approved(Approval::Offline),
        ended(Outcome::Declined, EndReason::Declined),
        ended(Outcome::Canceled, EndReason::CashierCanceled),
        ended(Outcome::Expired, EndReason::PaymentRequestExpired),
        ended(Outcome::Unavailable, EndReason::Offline),
        ended(Outcome::Failed, EndReason::AcquirerError),
    ]
}

fn every_input() -> Vec<Input> {
    let offered = Offer::Offered { instruction: PresentationInstruction::ShowKlarna, status: None };
    let not = Offer::NotOffered { reason: "OFFLINE".into(), detail: "x".into() };
    vec![
        Input::Resume,
        Input::CashierCancel,
        Input::TimedOut,
        Input::Availability(offered),
        Input::Availability(not),
        Input::MethodChosen(PaymentMethod::Card),
        Input::CancelAnswered { reason: EndReason::CashierCanceled, report: Report::Canceled(None) },
        Input::StepUp(request()),
        Input::QrUnavailable(EndReason::DisplayFailed),
        Input::Request(Report::Completed(Some("tok".into()))),
        Input::Request(Report::Declined(None)),
        Input::Request(Report::Authorized),
        Input::CancelUndelivered { reason: EndReason::CashierCanceled, error: "x".into() },
        Input::Approved(authorization()),
        Input::Declined(None),
        Input::CardRead(ReadDigest::of(&[1])),
        Input::ReadEnded(ReadEnd::TimedOut),
        Input::PinRequired,
        Input::ChipDeclined { reverse: true },
        Input::OfflineApproved { why: "x".into() },
        Input::OfflineRefused { code: "FLOOR_LIMIT".into(), detail: "x".into(), unanswered: true },
        Input::Refused { code: None, error: "x".into() },
        Input::NoAuthorization,
        Input::Failed { reason: EndReason::JournalError, error: "x".into() },
    ]
}

/// Over every stage and every input: a final stage never changes (a sale ends in exactly
/// one final state), and a call that moves money — an authorization, a cancel at the
/// acquirer — is only ever asked of an open sale.
#[test]
fn a_final_stage_is_final_and_money_moves_only_for_an_open_sale() {
    for facts in [KLARNA, CARD, CHOICE, Facts { cancel_requested: true, receipt_due: true, ..KLARNA }] {
        for stage in every_stage() {
            for input in every_input() {
                let s = step(&stage, facts, input.clone());
                if stage.state().is_final() {
                    assert_eq!(s.transition, None, "{stage:?} on {input:?}");
                    assert!(s.acts.iter().all(|a| *a == Act::PrintReceipt), "{stage:?} on {input:?}: {s:?}");
                }
                let moves_money = |a: &Act| matches!(a, Act::Authorize(_) | Act::CancelRequest(_));
                if s.acts.iter().any(moves_money) {
                    let open = s.transition.as_ref().map_or(stage.clone(), |t| t.stage.clone());
                    assert!(!open.state().is_final(), "{stage:?} on {input:?}: {s:?}");
                }
            }
        }
    }
}
