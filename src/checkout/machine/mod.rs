//! The sale state machine, pure: `(stage, input) -> (next stage, effects)`. No I/O and no
//! clock (a time it needs is passed in). The inputs are what the runners (`flow.rs` for
//! Klarna and the drive loop, `card.rs`, `choice.rs`) observe — an acquirer's answer, a
//! payment request's state, a card read, the cashier's cancel, a timer, a restart in a
//! stage; the output is the transition to journal (the next [`Stage`], the history's
//! detail, what is queued with it) and the acts the runner performs after the journal
//! write: screens, receipts, the acquirer call due next. An act that moves money is
//! only ever asked for after the transition that leads to it, and its key is stored
//! (`Journal::operation_key`) before the call.

mod card;
mod klarna;
#[cfg(test)]
mod tests;

use crate::domain::{Authorization, EndReason, Operation, Outcome, QrRequest, ReadDigest, Stage};
use chrono::{DateTime, TimeDelta, Utc};
use posagent_acquirer_api::{PaymentMethod, PresentationInstruction};

/// What the machine knows of the sale besides its stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The sale's method (provisional while the customer chooses).
    pub method: PaymentMethod,
    /// The customer chooses the method on the terminal and has not yet.
    pub choice_pending: bool,
    /// The cashier's cancel is journaled.
    pub cancel_requested: bool,
    /// The terminal has a card reader.
    pub card_reader: bool,
    /// The issuer asked for the PIN of this sale's card.
    pub pin_required: bool,
    /// An approved sale's receipt has yet to be printed.
    pub receipt_due: bool,
}

/// Whether Klarna may be offered, as the acquirer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Offered, and how (Klarna's instruction).
    Offered {
        /// Among the methods, preselected, or alone.
        instruction: PresentationInstruction,
        /// The interoperability status, for the history.
        status: Option<String>,
    },
    /// Not offered: the reason for the register, a detail for the journal.
    NotOffered {
        /// Why (`OFFLINE`, the status reason, …).
        reason: String,
        /// What the history says.
        detail: String,
    },
}

/// A payment request's state as the acquirer reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// Waiting for the customer (again).
    Submitted,
    /// The customer is in Klarna's journey.
    InProgress,
    /// The customer approved, with the session token (if the answer carried it).
    Completed(Option<String>),
    /// A transaction exists already (an older generation): read it by reference.
    Authorized,
    /// Declined, with the acquirer's reason.
    Declined(Option<String>),
    /// Canceled, with the reason (the terminal's own when it canceled it).
    Canceled(Option<String>),
    /// Expired.
    Expired,
    /// A state this terminal does not know: nothing changes.
    Unknown,
}

/// How waiting for a card read ended without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// The cashier canceled (a read crossing the cancel included).
    CashierCanceled,
    /// No card in time.
    TimedOut,
    /// The customer canceled at the reader.
    CustomerCanceled,
    /// The card or the customer ended it at the reader (its code).
    AtReader(String),
    /// The reader went away and did not come back (the error).
    Disconnected(String),
    /// The reader failed (the error).
    Failed(String),
}

/// What a runner observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// The sale is run in its journaled stage (first, after each step, or after a restart).
    Resume,
    /// The cashier canceled.
    CashierCancel,
    /// The stage's timer ran out (the QR code's, the choice's).
    TimedOut,
    /// The acquirer's answer on Klarna's availability.
    Availability(Offer),
    /// The customer's choice of method.
    MethodChosen(PaymentMethod),
    /// The acquirer answered the cancel for `reason` with the request's state.
    CancelAnswered {
        /// What the cancel was for.
        reason: EndReason,
        /// The state the acquirer reports.
        report: Report,
    },
    /// The first authorization answered with a payment request.
    StepUp(QrRequest),
    /// The QR code cannot reach the customer (not shown, slip not printed).
    QrUnavailable(EndReason),
    /// The payment request's state.
    Request(Report),
    /// The cancel for `reason` did not reach the acquirer (`error`).
    CancelUndelivered {
        /// What the cancel was for.
        reason: EndReason,
        /// Why it did not reach the acquirer.
        error: String,
    },
    /// The acquirer approved.
    Approved(Authorization),
    /// The acquirer declined, with its reason.
    Declined(Option<String>),
    /// The sale's own card read came (the digest of its KSN names its key).
    CardRead(ReadDigest),
    /// Waiting for the card ended without a read.
    ReadEnded(ReadEnd),
    /// The issuer wants the PIN: the card is asked for again.
    PinRequired,
    /// The chip declined what was approved; `reverse`: an authorization may exist.
    ChipDeclined {
        /// Queue a reversal.
        reverse: bool,
    },
    /// The terminal approved offline (`why` the acquirer was not asked or did not answer).
    OfflineApproved {
        /// Why offline.
        why: String,
    },
    /// The offline limits refused (`code`); `unanswered`: an authorization went out
    /// without an answer, so a reversal is queued.
    OfflineRefused {
        /// The limit's code.
        code: String,
        /// The history's detail.
        detail: String,
        /// An authorization went out without an answer.
        unanswered: bool,
    },
    /// The acquirer refused the authorization (its code, the error).
    Refused {
        /// The acquirer's code, if it gave one.
        code: Option<String>,
        /// The error.
        error: String,
    },
    /// Read back after a restart: the acquirer has no authorization under the reference.
    NoAuthorization,
    /// The sale could not go on (`reason`, the error's message).
    Failed {
        /// The reason code.
        reason: EndReason,
        /// The error.
        error: String,
    },
}

/// Something queued for the acquirer with the transition, in the same journal write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    /// The reversal of an authorization whose answer never came ([`Operation::Reverse`]).
    Reversal,
    /// The offline approval's authorization, under the online attempt's key.
    OfflineAuthorization,
}

/// The customer's choice as it is journaled with the transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    /// The methods offered.
    pub offered: Option<Vec<PaymentMethod>>,
    /// The method chosen, when it is.
    pub chosen: Option<PaymentMethod>,
    /// Why Klarna was not offered.
    pub klarna_unavailable_reason: Option<String>,
}

/// A state change to journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transition {
    /// The stage entered.
    pub stage: Stage,
    /// The history's detail.
    pub detail: Option<String>,
    /// Queued in the same write.
    pub queue: Option<Queue>,
    /// The customer's choice, when this transition makes or offers it.
    pub choice: Option<Choice>,
    /// The cashier's cancel is journaled with it.
    pub cancel_requested: bool,
}

impl Transition {
    fn to(stage: Stage, detail: Option<String>) -> Self {
        Transition { stage, detail, queue: None, choice: None, cancel_requested: false }
    }
}

/// A screen, by what it says (the runner draws it from the sale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// Canceled.
    Canceled,
    /// Time ran out.
    TimedOut,
    /// Klarna is not available.
    Unavailable,
    /// The QR code with its countdown.
    Qr,
    /// The customer is in Klarna's journey.
    InProgress,
    /// Paid.
    Approved,
    /// Declined, with the reason in the customer's language where there is one.
    Declined,
    /// An error, with the reference support asks for.
    Error,
}

/// What the runner does after the transition is journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Act {
    /// Shows a screen.
    Show(View),
    /// Prints the receipt of a declined card sale.
    PrintDeclineReceipt,
    /// Counts a card payment approved offline.
    CountOfflineApproval,
    /// Asks the acquirer whether Klarna is offered (then [`Input::Availability`]).
    AskAvailability,
    /// Shows the choice and waits for it (then [`Input::MethodChosen`] or a timeout).
    WaitForChoice,
    /// Calls the acquirer's authorization under `Operation`'s stored key.
    Authorize(Operation),
    /// Shows the QR code (and prints the slip on a line display), then watches the request.
    PresentQr,
    /// Watches the payment request (long poll, countdown, cancel, timeout).
    Watch,
    /// Cancels the payment request for the reason ([`Operation::Cancel`]): journaled as
    /// asked for first, then sent; the acquirer's state is taken.
    CancelRequest(EndReason),
    /// Reads the transaction by reference (then [`Input::Approved`]).
    ReadTransaction,
    /// Asks the reader for the card (then [`Input::CardRead`] or [`Input::ReadEnded`]).
    ReadCard,
    /// After a restart in AUTHORIZING: reads the authorization back by reference until
    /// the acquirer answers (or the cashier cancels).
    ResolveAuthorization,
    /// Prints the approved sale's receipt.
    PrintReceipt,
}

/// One step of the machine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Step {
    /// The transition to journal first, if any.
    pub transition: Option<Transition>,
    /// What the runner does then, in order.
    pub acts: Vec<Act>,
}

impl Step {
    fn enter(transition: Transition, acts: Vec<Act>) -> Self {
        Step { transition: Some(transition), acts }
    }

    fn act(act: Act) -> Self {
        Step { transition: None, acts: vec![act] }
    }

    /// Nothing to do in this stage for this input.
    fn none() -> Self {
        Step::default()
    }
}

/// The next step of a sale in `stage` with `facts`, on `input`.
pub(crate) fn step(stage: &Stage, facts: Facts, input: Input) -> Step {
    // The error screen goes up before the journal write (the journal may be what
    // failed: the runner retries the write with the screen up).
    if let Input::Failed { reason, error } = input {
        return if stage.state().is_final() {
            Step::none()
        } else {
            ended(Outcome::Failed, reason, Some(error), View::Error)
        };
    }
    match stage {
        Stage::Created | Stage::AvailabilityChecked | Stage::AwaitingMethod { .. } | Stage::AwaitingCard { .. }
            if input == Input::CashierCancel =>
        {
            let mut t = Transition::to(
                Stage::Ended { outcome: Outcome::Canceled, reason: EndReason::CashierCanceled },
                Some("canceled before the QR code was shown".into()),
            );
            t.cancel_requested = true;
            Step::enter(t, vec![Act::Show(View::Canceled)])
        }
        Stage::Created | Stage::AwaitingMethod { .. } => klarna::choose(stage, facts, input),
        Stage::AvailabilityChecked
        | Stage::QrShown { .. }
        | Stage::CustomerInProgress { .. }
        | Stage::CustomerCompleted { .. } => klarna::step(stage, facts, input),
        Stage::AwaitingCard { .. } | Stage::Authorizing => card::step(stage, facts, input),
        Stage::Approved(_) if input == Input::Resume && facts.receipt_due => Step::act(Act::PrintReceipt),
        Stage::Approved(_) | Stage::Ended { .. } => Step::none(),
    }
}

/// The sale ends unpaid: `outcome` for `reason`, the history saying `detail` (the
/// reason's name when none), the customer seeing `view`.
fn ended(outcome: Outcome, reason: EndReason, detail: Option<String>, view: View) -> Step {
    let detail = detail.or_else(|| Some(reason.name()));
    Step::enter(Transition::to(Stage::Ended { outcome, reason }, detail), vec![Act::Show(view)])
}

/// The screen of a sale that ended unpaid without a decline: "time ran out" when it
/// timed out, else "canceled".
pub(crate) fn ended_view(reason: &EndReason) -> View {
    if reason.is_timeout() { View::TimedOut } else { View::Canceled }
}

/// The acquirer approved: APPROVED, its screen.
fn approved(authorization: Authorization) -> Step {
    let detail = Some(authorization.payment_transaction_id.clone());
    Step::enter(
        Transition::to(Stage::Approved(crate::domain::Approval::Online(authorization)), detail),
        vec![Act::Show(View::Approved)],
    )
}

/// The acquirer declined: DECLINED with its reason; a card sale gets a decline receipt.
fn declined(facts: Facts, reason: Option<String>) -> Step {
    let reason = EndReason::reported_or(reason, EndReason::Declined);
    let mut step = ended(Outcome::Declined, reason, None, View::Declined);
    if facts.method == PaymentMethod::Card {
        step.acts.push(Act::PrintDeclineReceipt);
    }
    step
}

/// When the terminal gives up on a QR code shown at `shown_at`: its own `timeout` after
/// it, or the payment request's expiry if that comes first.
pub(crate) fn qr_deadline(
    shown_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    timeout: TimeDelta,
) -> DateTime<Utc> {
    let local = shown_at + timeout;
    expires_at.map_or(local, |e| e.min(local))
}

/// How long the customer still has to choose, `now`, for a sale that began waiting at
/// `since` (a sale resumed after a restart keeps the time it already waited).
pub(crate) fn choice_left(
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    timeout: std::time::Duration,
) -> std::time::Duration {
    timeout.saturating_sub((now - since).to_std().unwrap_or_default())
}
