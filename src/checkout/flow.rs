//! The Klarna path's acts (`run.rs` runs them as the machine asks): availability, the
//! first authorization and its QR code, the long poll of the payment request, its
//! cancel, the final authorization, the receipt. Each act reads the sale's journaled
//! state, so a sale resumed after a restart continues where it stopped; every call that
//! changes money re-uses the idempotency key stored before its first attempt.

use super::engine::Inner;
use super::machine::{Input, Offer, Report};
use super::ports::{Acquirer as _, CustomerDisplay as _, Printer as _, SaleJournal as _};
use super::receipt::receipt_document;
use crate::backend::BackendError;
use crate::devices::DeviceError;
use crate::domain::{Authorization, EndReason, Operation, QrRequest, Sale, SaleState};
use crate::locale::{format_amount, text};
use crate::screens::Screen;
use crate::store::StoreError;
use chrono::Utc;
use posagent_acquirer_api::payments::{PointOfCheckout, PointOfTransaction};
use posagent_acquirer_api::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, AvailabilityQuery, InteractionExpiry, InteroperabilityStatus,
    KlarnaData, PaymentMethod, PaymentRequest, PaymentRequestState, PresentationInstruction,
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one long poll of the payment request may be held by the acquirer.
const LONG_POLL: Duration = Duration::from_secs(20);
/// Pause before watching again after the acquirer could not be reached.
const WATCH_RETRY: Duration = Duration::from_secs(1);
/// How often the QR screen's countdown is redrawn (the display sends only what changed).
const COUNTDOWN_REDRAW: Duration = Duration::from_secs(1);
/// Pause between attempts of the final authorization while the acquirer is unreachable.
pub(super) const FINALIZE_RETRY: Duration = Duration::from_secs(2);
/// The session token is valid 60 minutes; stop trying a little before.
const FINALIZE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(55);

/// The longest the customer waits for the acquirer to say whether Klarna is offered.
const AVAILABILITY_BUDGET: Duration = Duration::from_secs(3);

/// Runs an acquirer call that a customer waits on with a total budget (retries
/// included): past it the acquirer counts as unreachable — the terminal decides on its
/// own now, and the next sale does not wait at all until a probe finds it again.
pub(super) async fn within_budget<T>(
    inner: &Inner,
    budget: Duration,
    call: impl std::future::Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    match tokio::time::timeout(budget, call).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::warn!(?budget, "the acquirer did not answer within the customer's budget; deciding without it");
            inner.acquirer().went_silent();
            Err(BackendError::Offline)
        }
    }
}

/// Why a sale could not go on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FlowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("acquirer answer is missing {0}")]
    Incomplete(&'static str),
}

impl FlowError {
    /// The sale's `reason` when this error ends it `FAILED` (the message goes to its
    /// history): the register tells an outage, for which the cashier may try again or
    /// take another method, from a fault that needs support.
    pub(super) fn reason(&self) -> EndReason {
        match self {
            FlowError::Backend(BackendError::Unreachable { .. } | BackendError::Offline) => {
                EndReason::AcquirerUnreachable
            }
            FlowError::Backend(e) if e.is_unreachable() => EndReason::AcquirerError,
            FlowError::Backend(BackendError::Refused { .. }) => EndReason::AcquirerRefused,
            FlowError::Backend(_) | FlowError::Incomplete(_) => EndReason::AcquirerBadAnswer,
            FlowError::Store(_) => EndReason::JournalError,
            FlowError::Device(_) => EndReason::DeviceError,
        }
    }
}

/// A sale resumed with its QR code up, on a terminal whose display cannot show it: the
/// slip may never have come out before the restart, so it is printed again.
pub(super) async fn reprint_resumed_qr_slip(inner: &Inner, sale: &Sale) {
    if sale.state == SaleState::QrShown && !inner.display().is_graphic() {
        if let Some(slip) = super::receipt::qr_slip_document(sale, &inner.store().name) {
            if let Err(e) = inner.printer().print(slip).await {
                tracing::warn!(error = %e, "the QR slip of the resumed sale could not be printed again");
            }
        }
    }
}

pub(super) fn amount_text(sale: &Sale) -> String {
    format_amount(sale.amount, sale.currency, &sale.locale)
}

/// A declined card sale's receipt saying so (printed as it can; a printer fault is
/// logged, the sale is over either way).
pub(super) async fn print_decline_receipt(inner: &Inner, sale: &Sale) {
    if sale.receipt_by_register {
        return; // the register prints it from what it was told
    }
    let header = super::receipt::ReceiptHeader::of(inner.store());
    if let Err(e) = inner.printer().print(super::receipt::declined_document(sale, header)).await {
        tracing::warn!(error = %e, "the decline receipt could not be printed");
    }
}

/// The declined screen, with the reason in the customer's language where there is one.
pub(super) fn declined_screen(sale: &Sale) -> Screen {
    let reason =
        sale.reason.as_deref().and_then(crate::locale::decline_reason).map(|t| text(t, &sale.locale).to_string());
    Screen::Declined { amount: amount_text(sale), reason, locale: sale.locale.clone() }
}

/// The error screen: the sale's reference, and what Klarna support asks for — the
/// payment request id of a Klarna sale that has one.
pub(super) fn error_screen(sale: &Sale) -> Screen {
    Screen::Error {
        reference: sale.reference.clone(),
        payment_request_id: sale.payment_request_id.clone(),
        locale: sale.locale.clone(),
    }
}

/// Shows a screen of sale `sale_id` (unless another sale owns the display by now); a
/// display failure is logged (the display thread reopens the panel).
pub(super) async fn show(inner: &Inner, sale_id: &str, screen: Screen) {
    if let Err(e) = inner.show_for(sale_id, screen).await {
        tracing::warn!(error = %e, "customer display did not show the screen");
    }
}

/// Whether Klarna may be offered for this sale, as the acquirer says.
pub(super) enum KlarnaOffer {
    /// Offered, with the wording to show (already stored on the sale), and how: among the
    /// methods, preselected, or alone (Klarna's instruction).
    Offered(PresentationInstruction),
    /// Not offered: the reason for the register, and a detail for the journal.
    NotOffered { reason: String, detail: String },
}

/// Asks the acquirer whether Klarna is available for the sale's country, currency and
/// amount; stores its wording and interoperability status on `sale` (not yet journaled).
pub(super) async fn ask_klarna(inner: &Inner, sale: &mut Sale) -> Result<KlarnaOffer, FlowError> {
    let store = inner.store();
    let q = AvailabilityQuery {
        country: store.country.clone(),
        currency: sale.currency,
        amount: sale.amount,
        locale: sale.locale.clone(),
        interoperability_token: sale.interoperability_token.clone(),
    };
    // Known offline: Klarna is not offered, without making the customer wait for a timeout.
    let answer = if inner.acquirer().should_try() {
        within_budget(inner, AVAILABILITY_BUDGET, inner.acquirer().availability(&q)).await
    } else {
        Err(BackendError::Offline)
    };
    match answer {
        // Klarna's instruction wins over the status when the acquirer gives one.
        Ok(a) if a.instruction == Some(PresentationInstruction::HideKlarna) => {
            sale.interoperability_status = Some(a.status);
            let reason = a.status_reason.unwrap_or_else(|| EndReason::HideKlarna.name());
            Ok(KlarnaOffer::NotOffered { detail: reason.clone(), reason })
        }
        Ok(a) if a.status.offers_klarna() => {
            let Some(option) = a.payment_option else { return Err(FlowError::Incomplete("payment_option")) };
            if sale.locale == inner.store().locale {
                inner.remember_wording(&option);
            }
            // Fetched in the background now, for the screens that follow.
            inner.want_badge(&option.icon.badge_image_url);
            sale.payment_option = Some(option);
            sale.interoperability_status = Some(a.status);
            let instruction = a.instruction.unwrap_or(match a.status {
                InteroperabilityStatus::PaymentSupported => PresentationInstruction::ShowKlarna,
                _ => PresentationInstruction::PreselectKlarna,
            });
            Ok(KlarnaOffer::Offered(instruction))
        }
        Ok(a) => {
            sale.interoperability_status = Some(a.status);
            let reason = a.status_reason.unwrap_or_else(|| EndReason::PaymentUnsupported.name());
            Ok(KlarnaOffer::NotOffered { detail: reason.clone(), reason })
        }
        // Klarna needs the network: never offered offline.
        Err(e) if e.is_unreachable() => {
            Ok(KlarnaOffer::NotOffered { reason: EndReason::Offline.name(), detail: e.to_string() })
        }
        Err(e) => Err(e.into()),
    }
}

/// How long the acquirer may take before the customer sees "one moment".
const PREPARING_AFTER: Duration = Duration::from_millis(150);

/// Asks the acquirer whether Klarna may be offered. An answer within
/// [`PREPARING_AFTER`] goes straight to the next screen (no frame in the QR code's way);
/// a slower one has the customer see the amount and "one moment" meanwhile, never the
/// previous customer's screen.
pub(super) async fn ask_klarna_showing_amount(inner: &Inner, sale: &mut Sale) -> Result<KlarnaOffer, FlowError> {
    let preparing = Screen::Preparing { amount: amount_text(sale), locale: sale.locale.clone() };
    let id = sale.id.clone();
    let ask = ask_klarna(inner, sale);
    tokio::pin!(ask);
    tokio::select! {
        offer = &mut ask => return offer,
        () = tokio::time::sleep(PREPARING_AFTER) => {}
    }
    let ((), offer) = tokio::join!(show(inner, &id, preparing), ask);
    offer
}

/// Asks whether Klarna is offered: the machine's input.
pub(super) async fn availability(inner: &Inner, sale: &mut Sale) -> Result<Input, FlowError> {
    Ok(Input::Availability(match ask_klarna_showing_amount(inner, sale).await? {
        KlarnaOffer::Offered(instruction) => {
            Offer::Offered { instruction, status: sale.interoperability_status.map(|s| format!("{s:?}")) }
        }
        KlarnaOffer::NotOffered { reason, detail } => Offer::NotOffered { reason, detail },
    }))
}

pub(super) fn authorize_request(inner: &Inner, sale: &Sale, session_token: Option<String>) -> AuthorizeRequest {
    let store = inner.store();
    AuthorizeRequest {
        method: sale.method,
        currency: sale.currency,
        amount: sale.amount,
        payment_transaction_reference: sale.reference.clone(),
        country: store.country.clone(),
        locale: sale.locale.clone(),
        point_of_checkout: PointOfCheckout {
            kind: "PHYSICAL_STORE".into(),
            store_reference: store.store_reference.clone(),
        },
        point_of_transaction: PointOfTransaction {
            kind: "TERMINAL".into(),
            terminal_reference: store.terminal_reference.clone(),
        },
        capture: sale.capture,
        line_items: sale.order_lines.clone(),
        purchase_reference: Some(sale.purchase_reference().to_string()),
        // The shortest payment request Klarna gives that outlives the QR code's own
        // timeout; the terminal cancels it when its own time is up.
        interaction_expiry: (sale.method == PaymentMethod::Klarna)
            .then(|| InteractionExpiry::covering(inner.limits().klarna_timeout_secs)),
        klarna: (sale.method == PaymentMethod::Klarna).then(|| KlarnaData {
            interoperability_token: sale.interoperability_token.clone(),
            klarna_network_data: sale.interoperability_data.clone(),
            klarna_network_session_token: session_token,
            payment_option_id: crate::domain::option_id_to_send(sale.payment_option.as_ref()),
        }),
        card: None,
        offline_approved_at: None,
    }
}

pub(super) fn qr_screen(inner: &Inner, sale: &Sale) -> Option<Screen> {
    let d = sale.payment_option.as_ref()?;
    let seconds_left = (qr_deadline(inner, sale) - Utc::now()).num_seconds();
    Some(Screen::Qr {
        amount: amount_text(sale),
        header: d.header.text.clone(),
        subheader: d.subheader.short.text.clone(),
        // The scan prompt is the terminal's own neutral text; Klarna's offer is Klarna's.
        instruction: text(crate::locale::Text::ScanWithCamera, &sale.locale).to_string(),
        offer: d.offer().map(str::to_string),
        url: sale.payment_request_url.clone()?,
        // Redrawn every second: a badge that arrives meanwhile shows on the next redraw.
        badge: inner.badge(d),
        seconds_left,
        payment_request_id: sale.payment_request_id.clone(),
        locale: sale.locale.clone(),
    })
}

/// The first authorization (its key stored first): a payment request to show, or the
/// acquirer's answer.
pub(super) async fn step_up(inner: &Inner, sale: &mut Sale) -> Result<Input, FlowError> {
    let key = inner.keys().operation_key(&sale.id, &Operation::Authorize).await?;
    let resp = inner.acquirer().authorize(&authorize_request(inner, sale, None), &key).await?;
    match resp.result {
        AuthorizeResult::StepUpRequired => {
            let pr = resp.payment_request.ok_or(FlowError::Incomplete("payment_request"))?;
            Ok(Input::StepUp(QrRequest {
                url: Some(pr.state_context.customer_interaction.qr_code.target_url.clone()),
                id: pr.payment_request_id,
                expires_at: Some(pr.expires_at),
                shown_at: Some(Utc::now()),
            }))
        }
        _ => answer(resp),
    }
}

/// Puts the journaled QR code before the customer: on the display, and on a slip where
/// the display cannot show it. What fails is the machine's input (the request is then
/// withdrawn: the customer cannot scan what is not shown).
pub(super) async fn present_qr(inner: &Inner, sale: &Sale) -> Option<Input> {
    let shown = match qr_screen(inner, sale) {
        Some(screen) => inner.show_for(&sale.id, screen).await,
        None => Ok(()),
    };
    if let Err(e) = shown {
        tracing::error!(error = %e, "QR code could not be shown; canceling the payment request");
        return Some(Input::QrUnavailable(EndReason::DisplayFailed));
    }
    if !inner.display().is_graphic() {
        // A line display cannot show the code: it is printed for the customer.
        let printed = match super::receipt::qr_slip_document(sale, &inner.store().name) {
            Some(slip) => inner.printer().print(slip).await,
            None => Ok(()),
        };
        if let Err(e) = printed {
            tracing::error!(error = %e, "QR slip could not be printed; canceling the payment request");
            return Some(Input::QrUnavailable(EndReason::QrSlipNotPrinted));
        }
    }
    None
}

/// An APPROVED or DECLINED authorization, as the machine's input.
pub(super) fn answer(resp: AuthorizeResponse) -> Result<Input, FlowError> {
    match resp.result {
        AuthorizeResult::Approved => {
            let tx = resp.payment_transaction.ok_or(FlowError::Incomplete("payment_transaction"))?;
            Ok(Input::Approved(Authorization::from(&tx)))
        }
        AuthorizeResult::Declined | AuthorizeResult::StepUpRequired => Ok(Input::Declined(resp.result_reason)),
    }
}

/// The payment request's state, as the machine takes it.
fn report(pr: PaymentRequest) -> Report {
    match pr.state {
        PaymentRequestState::Submitted => Report::Submitted,
        PaymentRequestState::InProgress => Report::InProgress,
        PaymentRequestState::Completed => Report::Completed(pr.state_context.klarna_network_session_token),
        PaymentRequestState::Authorized => Report::Authorized,
        PaymentRequestState::Declined => Report::Declined(pr.state_reason),
        PaymentRequestState::Canceled => Report::Canceled(pr.state_reason),
        PaymentRequestState::Expired => Report::Expired,
        _ => Report::Unknown,
    }
}

/// When the terminal gives up on the QR code: its own timeout, or the payment
/// request's expiry if that comes first.
fn qr_deadline(inner: &Inner, sale: &Sale) -> chrono::DateTime<Utc> {
    let timeout = chrono::TimeDelta::seconds(inner.limits().klarna_timeout_secs as i64);
    super::machine::qr_deadline(sale.qr_shown_at.unwrap_or(sale.created_at), sale.payment_request_expires_at, timeout)
}

/// Watches the payment request with the QR code's countdown redrawn every second
/// (`wait::first_of`): the long poll stays in flight across redraws. Returns the request's state, the cashier's
/// cancel or the timeout; nothing when the daemon stops.
pub(super) async fn watch(inner: &Inner, sale: &Sale, cancel: &CancellationToken) -> Result<Option<Input>, FlowError> {
    use super::wait::{Woken, first_of};
    let id = sale.payment_request_id.clone().ok_or(FlowError::Incomplete("payment_request_id"))?;
    let deadline_at = qr_deadline(inner, sale);
    let deadline = tokio::time::Instant::now() + (deadline_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let from =
        if sale.state == SaleState::QrShown { PaymentRequestState::Submitted } else { PaymentRequestState::InProgress };
    let redraw = || async {
        if let Some(s) = qr_screen(inner, sale) {
            show(inner, &sale.id, s).await;
        }
    };
    let tokens = (inner.shutdown(), cancel);
    let countdown = (COUNTDOWN_REDRAW, sale.state == SaleState::QrShown);
    loop {
        let poll = std::pin::pin!(inner.acquirer().payment_request(&id, Some(from), LONG_POLL));
        return Ok(match first_of(tokens, deadline, poll, countdown, redraw).await {
            Woken::Stopping => None,
            Woken::Canceled => Some(Input::CashierCancel),
            Woken::TimedOut => Some(Input::TimedOut),
            Woken::Answer(Ok(pr)) => Some(Input::Request(report(pr))),
            Woken::Answer(Err(e)) if e.is_unreachable() => {
                tracing::warn!(error = %e, "cannot read the payment request; retrying");
                tokio::time::sleep(WATCH_RETRY).await;
                continue;
            }
            Woken::Answer(Err(e)) => return Err(e.into()),
        });
    }
}

/// Cancels the payment request at the acquirer (the cancel journaled first, under its
/// stored key) and hands the machine the state it reports: a cancel racing the
/// customer's approval ends in exactly one final state.
pub(super) async fn cancel_request(inner: &Inner, sale: &mut Sale, reason: EndReason) -> Result<Input, FlowError> {
    let id = sale.payment_request_id.clone().ok_or(FlowError::Incomplete("payment_request_id"))?;
    sale.cancel_requested = true;
    let key = inner.keys().operation_key(&sale.id, &Operation::Cancel).await?;
    inner.keys().record(sale.clone(), Some(format!("cancel requested: {reason}"))).await?;
    match inner.acquirer().cancel_payment_request(&id, &key).await {
        Ok(pr) => Ok(Input::CancelAnswered { reason, report: report(pr) }),
        Err(BackendError::Refused { status: 403, .. }) => {
            // The request reached a state that cannot be canceled: take that state.
            let pr = inner.acquirer().payment_request(&id, None, Duration::ZERO).await?;
            Ok(Input::Request(report(pr)))
        }
        Err(e) if e.is_unreachable() => Ok(Input::CancelUndelivered { reason, error: e.to_string() }),
        Err(e) => Err(e.into()),
    }
}

/// Reads the transaction of a payment request that already has one.
pub(super) async fn read_transaction(inner: &Inner, sale: &Sale) -> Result<Input, FlowError> {
    let tx = inner.acquirer().transaction_by_reference(&sale.reference).await?;
    let tx = tx.ok_or(FlowError::Incomplete("the transaction of the authorized payment request"))?;
    Ok(Input::Approved(Authorization::from(&tx)))
}

/// The final authorization with the session token, under its own stored key, tried
/// again while the acquirer is unreachable (within the token's validity). Returns the
/// answer, or the cashier's cancel; nothing when the daemon stops.
pub(super) async fn finalize(
    inner: &Inner,
    sale: &Sale,
    cancel: &CancellationToken,
) -> Result<Option<Input>, FlowError> {
    let token = sale.session_token.clone().ok_or(FlowError::Incomplete("session token"))?;
    let key = inner.keys().operation_key(&sale.id, &Operation::AuthorizeFinal).await?;
    let request = authorize_request(inner, sale, Some(token));
    loop {
        match inner.acquirer().authorize(&request, &key).await {
            Ok(resp) => return answer(resp).map(Some),
            Err(e) if e.is_unreachable() && Utc::now() - sale.updated_at < FINALIZE_WINDOW => {
                tracing::warn!(error = %e, "final authorization not confirmed; retrying with the same key");
                tokio::select! {
                    () = inner.shutdown().cancelled() => return Ok(None),
                    () = cancel.cancelled() => return Ok(Some(Input::CashierCancel)),
                    () = tokio::time::sleep(FINALIZE_RETRY) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

pub(super) async fn print_receipt(inner: &Inner, sale: &mut Sale) -> Result<(), FlowError> {
    use super::receipt::{CopyFor, ReceiptHeader, marked};
    let store = inner.store();
    if sale.receipt_by_register {
        // The register prints it (ZVT): nothing is printed here, and a restart does not
        // print it either.
        let handed = super::engine::receipt_printed;
        *sale = inner.amend(&sale.id, "receipt left to the register".into(), handed, None).await?.0;
        return Ok(());
    }
    // Journaled before any byte goes out: if the daemon stops between the printer taking
    // the receipt and "receipt printed", the receipt printed at the restart is a COPY.
    let copy = sale.receipt_print_started;
    if !copy {
        let started = |s: &mut Sale| s.receipt_print_started = true;
        *sale = inner.amend(&sale.id, "receipt printing".into(), started, None).await?.0;
    }
    let doc = receipt_document(sale, ReceiptHeader::of(store), copy);
    // After a restart the store's copy is not printed again: it may be out already.
    let (doc, merchant) = if store.merchant_copy && !copy {
        (marked(doc.clone(), CopyFor::Customer, &sale.locale), Some(marked(doc, CopyFor::Merchant, &sale.locale)))
    } else {
        (doc, None)
    };
    // The register may capture or void the sale meanwhile: only the receipt fields
    // are changed on the journaled record.
    let (now, _) = match inner.printer().print_or_hold(doc, &sale.id).await {
        Ok(()) => {
            if let Some(m) = merchant {
                // The store's copy comes right after; a fault now is logged (the
                // customer's receipt, which the journal tracks, is out).
                if let Err(e) = inner.printer().print(m).await {
                    tracing::warn!(error = %e, "the merchant copy could not be printed; reprint it from the register");
                }
            }
            inner.amend(&sale.id, "receipt printed".into(), super::engine::receipt_printed, None).await?
        }
        Err(e) => {
            if let Some(m) = merchant {
                // Held too, right behind the customer's: the two come out together.
                let tag = format!("{}{}", sale.id, super::receipt::MERCHANT_COPY_TAG);
                let _ = inner.printer().print_or_hold(m, &tag).await;
            }
            let why = format!("{e}; the receipt prints by itself once the printer is ready");
            let detail = format!("receipt held: {e}");
            // Refused before printing: a restart prints the original, not a copy.
            let held = move |s: &mut Sale| {
                s.receipt_error = Some(why);
                s.receipt_print_started = copy;
            };
            inner.amend(&sale.id, detail, held, None).await?
        }
    };
    *sale = now;
    Ok(())
}
