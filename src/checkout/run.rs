//! The runner of a sale: runs the pure machine (`machine/`) on what the sale's task
//! observes, executing each step in order — the transition journaled first (with what
//! it queues, in the same write), then the screens and receipts, then the act that
//! brings the next input (an acquirer call, the card reader, the customer's choice).
//! The Klarna acts are in `flow.rs`, the card's in `card.rs`, the choice's in `choice.rs`.

use super::engine::Inner;
use super::flow::{self, FlowError};
use super::machine::{self, Act, Choice, Facts, Input, Queue, Step, View};
use super::ports::Transitions as _;
use crate::domain::{MethodChoice, NewOp, Sale, SaleState};
use crate::screens::Screen;
use tokio_util::sync::CancellationToken;

/// The next input, with the offline authorization to queue with its transition.
pub(super) struct Next {
    pub input: Input,
    pub queue: Option<(NewOp, i64)>,
}

impl From<Input> for Next {
    fn from(input: Input) -> Self {
        Next { input, queue: None }
    }
}

/// What the machine knows of `sale` besides its stage.
pub(super) fn facts(inner: &Inner, sale: &Sale, cancel: &CancellationToken) -> Facts {
    Facts {
        method: sale.method,
        choice_pending: sale.choice_pending(),
        cancel_requested: sale.cancel_requested || cancel.is_cancelled(),
        card_reader: inner.card_reader().is_some(),
        pin_required: sale.pin_required,
        receipt_due: sale.state == SaleState::Approved && !sale.receipt_printed,
    }
}

/// The machine's step for `sale` on `input`.
pub(super) fn decide(inner: &Inner, sale: &Sale, cancel: &CancellationToken, input: Input) -> Result<Step, FlowError> {
    let stage = sale.stage().map_err(|e| FlowError::Incomplete(e.missing))?;
    Ok(machine::step(&stage, facts(inner, sale, cancel), input))
}

/// Runs `sale` to a final state and its receipt.
///
/// When the daemon shuts down the sale stops where it is (journaled) and is resumed at
/// the next start; only a receipt already due is still printed.
pub(super) async fn drive(inner: &Inner, sale: &mut Sale, cancel: &CancellationToken) -> Result<(), FlowError> {
    flow::reprint_resumed_qr_slip(inner, sale).await;
    loop {
        let receipt_due = sale.state == SaleState::Approved && !sale.receipt_printed;
        if inner.shutdown().is_cancelled() && !receipt_due {
            tracing::info!(state = sale.state.as_str(), "daemon stopping; the sale resumes at the next start");
            return Ok(());
        }
        let before_qr = matches!(
            sale.state,
            SaleState::Created | SaleState::AvailabilityChecked | SaleState::AwaitingMethod | SaleState::AwaitingCard
        );
        let input = if before_qr && cancel.is_cancelled() { Input::CashierCancel } else { Input::Resume };
        let step = decide(inner, sale, cancel, input)?;
        if step == Step::default() {
            return Ok(());
        }
        if step.acts == [Act::PrintReceipt] {
            return flow::print_receipt(inner, sale).await;
        }
        run(inner, sale, cancel, step).await?;
    }
}

/// Runs `step` and the steps its acts lead to, until an act brings no input (the drive
/// loop then resumes the sale in its stage).
async fn run(inner: &Inner, sale: &mut Sale, cancel: &CancellationToken, step: Step) -> Result<(), FlowError> {
    let mut step = step;
    let mut queue = None;
    loop {
        let mut next = None;
        let acts = if presents_new_qr(&step) {
            next = enter_qr_shown(inner, sale, step).await?;
            vec![]
        } else {
            apply(inner, sale, step, queue.take()).await?
        };
        for act in acts {
            next = perform(inner, sale, cancel, act).await?;
            if next.is_some() {
                break;
            }
        }
        let Some(Next { input, queue: q }) = next else { return Ok(()) };
        queue = q;
        step = decide(inner, sale, cancel, input)?;
    }
}

/// Whether `step` enters QR_SHOWN with the new QR code to present and nothing else.
fn presents_new_qr(step: &Step) -> bool {
    step.acts == [Act::PresentQr]
        && step
            .transition
            .as_ref()
            .is_some_and(|t| t.stage.state() == SaleState::QrShown && t.queue.is_none() && t.choice.is_none())
}

/// Enters QR_SHOWN while the QR code goes to the customer: the row is synced while the
/// frame is drawn and sent, and the next act waits for both. Presenting before the write
/// is durable moves no money and loses nothing: the payment request was made under the
/// authorization's key stored before it, so a stop in between asks the acquirer again
/// under that key and gets the same request back, and a customer's approval of it is
/// only taken by the final authorization, which needs this row. Returns the present's
/// input (its failure), or none.
async fn enter_qr_shown(inner: &Inner, sale: &mut Sale, step: Step) -> Result<Option<Next>, FlowError> {
    let Some(t) = step.transition else { return Ok(None) };
    if t.cancel_requested {
        sale.cancel_requested = true;
    }
    let previous = sale.state;
    sale.enter(&t.stage);
    sale.state = previous;
    let mut shown = sale.clone();
    shown.state = t.stage.state();
    let (journaled, presented) =
        tokio::join!(inner.journal_transition(sale, t.stage.state(), t.detail, None), flow::present_qr(inner, &shown),);
    journaled?;
    Ok(presented.map(Next::from))
}

/// Journals the step's transition (the reversal's key stored first, what it queues in
/// the same write), then shows its screens and prints its receipts. Returns the acts
/// left for the runner.
pub(super) async fn apply(
    inner: &Inner,
    sale: &mut Sale,
    step: Step,
    offline: Option<(NewOp, i64)>,
) -> Result<Vec<Act>, FlowError> {
    if let Some(t) = step.transition {
        if let Some(choice) = t.choice {
            take_choice(sale, choice);
        }
        if t.cancel_requested {
            sale.cancel_requested = true;
        }
        let queued = match t.queue {
            Some(Queue::Reversal) => Some(super::card::reversal_op(inner, sale).await?),
            Some(Queue::OfflineAuthorization) => {
                Some(offline.ok_or(FlowError::Incomplete("the offline authorization"))?)
            }
            None => None,
        };
        // The row takes what the stage owns; the state itself is changed by the
        // transition, which counts a sale that reaches a final state from an open one.
        let previous = sale.state;
        sale.enter(&t.stage);
        sale.state = previous;
        inner.journal_transition(sale, t.stage.state(), t.detail, queued).await?;
    }
    let mut left = vec![];
    for act in step.acts {
        match act {
            Act::Show(view) => {
                if let Some(screen) = screen(inner, sale, view) {
                    flow::show(inner, &sale.id, screen).await;
                }
            }
            Act::PrintDeclineReceipt => flow::print_decline_receipt(inner, sale).await,
            Act::CountOfflineApproval => inner.count_offline_approval(),
            other => left.push(other),
        }
    }
    Ok(left)
}

/// Writes the customer's choice (or what was offered) into the row.
fn take_choice(sale: &mut Sale, choice: Choice) {
    let c = sale.choice.get_or_insert(MethodChoice { offered: vec![], chosen: false, klarna_unavailable_reason: None });
    if let Some(offered) = choice.offered {
        c.offered = offered;
    }
    if let Some(reason) = choice.klarna_unavailable_reason {
        c.klarna_unavailable_reason = Some(reason);
    }
    if let Some(method) = choice.chosen {
        c.chosen = true;
        sale.method = method;
    }
}

/// Performs an act that brings the next input (none when the sale stops here for now:
/// the daemon stops, or the drive loop takes it from its stage).
async fn perform(
    inner: &Inner,
    sale: &mut Sale,
    cancel: &CancellationToken,
    act: Act,
) -> Result<Option<Next>, FlowError> {
    Ok(match act {
        Act::AskAvailability => Some(flow::availability(inner, sale).await?.into()),
        Act::WaitForChoice => super::choice::wait_for_choice(inner, sale, cancel).await.map(Next::from),
        Act::Authorize(crate::domain::Operation::Authorize) => Some(flow::step_up(inner, sale).await?.into()),
        Act::Authorize(crate::domain::Operation::AuthorizeFinal) => {
            flow::finalize(inner, sale, cancel).await?.map(Next::from)
        }
        Act::PresentQr => flow::present_qr(inner, sale).await.map(Next::from),
        Act::Watch => flow::watch(inner, sale, cancel).await?.map(Next::from),
        Act::CancelRequest(reason) => Some(flow::cancel_request(inner, sale, reason).await?.into()),
        Act::ReadTransaction => Some(flow::read_transaction(inner, sale).await?.into()),
        Act::ReadCard => super::card::read_and_authorize(inner, sale, cancel).await?,
        Act::ResolveAuthorization => super::card::resolve_authorization(inner, sale, cancel).await?.map(Next::from),
        Act::PrintReceipt => {
            flow::print_receipt(inner, sale).await?;
            None
        }
        // A card read's authorization is the card runner's, with the read it holds.
        Act::Authorize(_) | Act::Show(_) | Act::PrintDeclineReceipt | Act::CountOfflineApproval => None,
    })
}

/// The screen of `view` for `sale`.
fn screen(inner: &Inner, sale: &Sale, view: View) -> Option<Screen> {
    let locale = sale.locale.clone();
    Some(match view {
        View::Canceled => Screen::Canceled { locale },
        View::TimedOut => Screen::TimedOut { locale },
        View::Unavailable => Screen::Unavailable { locale },
        View::Qr => return flow::qr_screen(inner, sale),
        View::InProgress => {
            let header = sale.payment_option.as_ref().map(|d| d.header.text.clone()).unwrap_or_default();
            Screen::InProgress { amount: flow::amount_text(sale), header, locale }
        }
        View::Approved => Screen::Approved { amount: flow::amount_text(sale), locale },
        View::Declined => flow::declined_screen(sale),
        View::Error => flow::error_screen(sale),
    })
}
