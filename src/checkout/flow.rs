//! The path of one Klarna sale, step by step. Each step reads the sale's journaled
//! state, so a sale resumed after a restart continues where it stopped; every call that
//! changes money re-uses the idempotency key stored before its first attempt.

use super::engine::Inner;
use super::receipt::receipt_document;
use crate::backend::BackendError;
use crate::devices::DeviceError;
use crate::domain::{Operation, Sale, SaleState};
use crate::locale::{format_amount, text};
use crate::screens::Screen;
use crate::store::StoreError;
use chrono::Utc;
use posagent_acquirer_api::payments::{PointOfCheckout, PointOfTransaction};
use posagent_acquirer_api::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, AvailabilityQuery, InteroperabilityStatus, KlarnaData,
    PaymentMethod, PaymentRequest, PaymentRequestState, PresentationInstruction,
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
            inner.deps.backend.connectivity().set(false);
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
    pub(super) fn reason_code(&self) -> &'static str {
        match self {
            FlowError::Backend(BackendError::Unreachable { .. } | BackendError::Offline) => "ACQUIRER_UNREACHABLE",
            FlowError::Backend(e) if e.is_unreachable() => "ACQUIRER_ERROR",
            FlowError::Backend(BackendError::Refused { .. }) => "ACQUIRER_REFUSED",
            FlowError::Backend(_) | FlowError::Incomplete(_) => "ACQUIRER_BAD_ANSWER",
            FlowError::Store(_) => "JOURNAL_ERROR",
            FlowError::Device(_) => "DEVICE_ERROR",
        }
    }
}

/// Runs `sale` to a final state and its receipt.
///
/// When the daemon shuts down the sale stops where it is (journaled) and is resumed at
/// the next start; only a receipt already due is still printed.
pub(super) async fn drive(inner: &Inner, sale: &mut Sale, cancel: &CancellationToken) -> Result<(), FlowError> {
    // A sale resumed with its QR code up, on a terminal whose display cannot show it: the
    // slip may never have come out before the restart, so it is printed again.
    if sale.state == SaleState::QrShown && !inner.deps.display.is_graphic() {
        if let Some(slip) = super::receipt::qr_slip_document(sale, &inner.deps.store.name) {
            if let Err(e) = inner.deps.printer.print(slip).await {
                tracing::warn!(error = %e, "the QR slip of the resumed sale could not be printed again");
            }
        }
    }
    loop {
        let receipt_due = sale.state == SaleState::Approved && !sale.receipt_printed;
        if inner.deps.shutdown.is_cancelled() && !receipt_due {
            tracing::info!(state = sale.state.as_str(), "daemon stopping; the sale resumes at the next start");
            return Ok(());
        }
        match sale.state {
            SaleState::Created
            | SaleState::AvailabilityChecked
            | SaleState::AwaitingMethod
            | SaleState::AwaitingCard
                if cancel.is_cancelled() =>
            {
                sale.cancel_requested = true;
                sale.reason = Some("CASHIER_CANCELED".into());
                inner
                    .transition(sale, SaleState::Canceled, Some("canceled before the QR code was shown".into()))
                    .await?;
                show(inner, &sale.id, Screen::Canceled { locale: sale.locale.clone() }).await;
            }
            SaleState::Created if sale.choice_pending() => super::choice::offer_methods(inner, sale).await?,
            SaleState::AwaitingMethod => super::choice::wait_for_choice(inner, sale, cancel).await?,
            SaleState::Created if sale.method == PaymentMethod::Card => {
                inner.transition(sale, SaleState::AwaitingCard, None).await?;
            }
            SaleState::AwaitingCard => super::card::wait_for_card(inner, sale, cancel).await?,
            SaleState::Authorizing => super::card::resume_card_authorization(inner, sale, cancel).await?,
            SaleState::Created => check_availability(inner, sale).await?,
            SaleState::AvailabilityChecked => step_up(inner, sale).await?,
            SaleState::QrShown | SaleState::CustomerInProgress => watch(inner, sale, cancel).await?,
            SaleState::CustomerCompleted => finalize(inner, sale, cancel).await?,
            SaleState::Approved if !sale.receipt_printed => {
                print_receipt(inner, sale).await?;
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
}

pub(super) fn amount_text(sale: &Sale) -> String {
    format_amount(sale.amount, sale.currency, &sale.locale)
}

/// A declined card sale: the screen, and a receipt saying so (printed as it can; a
/// printer fault is logged, the sale is over either way).
pub(super) async fn declined(inner: &Inner, sale: &Sale) {
    show(inner, &sale.id, declined_screen(sale)).await;
    if sale.method == PaymentMethod::Card {
        let header = super::receipt::ReceiptHeader::of(&inner.deps.store);
        if let Err(e) = inner.deps.printer.print(super::receipt::declined_document(sale, header)).await {
            tracing::warn!(error = %e, "the decline receipt could not be printed");
        }
    }
}

/// The declined screen, with the reason in the customer's language where there is one.
fn declined_screen(sale: &Sale) -> Screen {
    let reason =
        sale.reason.as_deref().and_then(crate::locale::decline_reason).map(|t| text(t, &sale.locale).to_string());
    Screen::Declined { amount: amount_text(sale), reason, locale: sale.locale.clone() }
}

/// The error screen: what Klarna support asks for — the payment request id of a Klarna
/// sale that has one — else the sale's reference.
pub(super) fn error_screen(sale: &Sale) -> Screen {
    let reference = sale.payment_request_id.clone().unwrap_or_else(|| sale.reference.clone());
    Screen::Error { reference, locale: sale.locale.clone() }
}

/// The screen of a sale that ended unpaid without a decline: "time ran out" when it
/// timed out (the QR code expired, no card came, no method was chosen), else "canceled".
pub(super) fn ended_screen(sale: &Sale) -> Screen {
    let locale = sale.locale.clone();
    match sale.reason.as_deref() {
        Some("TERMINAL_TIMEOUT" | "PAYMENT_REQUEST_EXPIRED" | "CARD_TIMEOUT" | "CHOICE_TIMEOUT") => {
            Screen::TimedOut { locale }
        }
        _ => Screen::Canceled { locale },
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
    let store = &inner.deps.store;
    let q = AvailabilityQuery {
        country: store.country.clone(),
        currency: sale.currency,
        amount: sale.amount,
        locale: sale.locale.clone(),
        interoperability_token: sale.interoperability_token.clone(),
    };
    // Known offline: Klarna is not offered, without making the customer wait for a timeout.
    let answer = if inner.deps.backend.connectivity().should_try() {
        within_budget(inner, AVAILABILITY_BUDGET, inner.deps.backend.availability(&q)).await
    } else {
        Err(BackendError::Offline)
    };
    match answer {
        // Klarna's instruction wins over the status when the acquirer gives one.
        Ok(a) if a.instruction == Some(PresentationInstruction::HideKlarna) => {
            sale.interoperability_status = Some(a.status);
            let reason = a.status_reason.unwrap_or_else(|| "HIDE_KLARNA".into());
            Ok(KlarnaOffer::NotOffered { detail: reason.clone(), reason })
        }
        Ok(a) if a.status.offers_klarna() => {
            let Some(descriptors) = a.descriptors else { return Err(FlowError::Incomplete("descriptors")) };
            if sale.locale == inner.deps.store.locale {
                inner.remember_wording(&descriptors);
            }
            // Fetched in the background now, for the screens that follow.
            inner.deps.badges.want(&descriptors.badge_url);
            sale.descriptors = Some(descriptors);
            sale.interoperability_status = Some(a.status);
            let instruction = a.instruction.unwrap_or(match a.status {
                InteroperabilityStatus::PaymentSupported => PresentationInstruction::ShowKlarna,
                _ => PresentationInstruction::PreselectKlarna,
            });
            Ok(KlarnaOffer::Offered(instruction))
        }
        Ok(a) => {
            sale.interoperability_status = Some(a.status);
            let reason = a.status_reason.unwrap_or_else(|| "PAYMENT_UNSUPPORTED".into());
            Ok(KlarnaOffer::NotOffered { detail: reason.clone(), reason })
        }
        // Klarna needs the network: never offered offline.
        Err(e) if e.is_unreachable() => Ok(KlarnaOffer::NotOffered { reason: "OFFLINE".into(), detail: e.to_string() }),
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

async fn check_availability(inner: &Inner, sale: &mut Sale) -> Result<(), FlowError> {
    match ask_klarna_showing_amount(inner, sale).await? {
        KlarnaOffer::Offered(_) => {
            let status = sale.interoperability_status.map(|s| format!("{s:?}"));
            inner.transition(sale, SaleState::AvailabilityChecked, status).await?;
        }
        KlarnaOffer::NotOffered { reason, detail } => {
            sale.reason = Some(reason);
            inner.transition(sale, SaleState::Unavailable, Some(detail)).await?;
            show(inner, &sale.id, Screen::Unavailable { locale: sale.locale.clone() }).await;
        }
    }
    Ok(())
}

pub(super) fn authorize_request(inner: &Inner, sale: &Sale, session_token: Option<String>) -> AuthorizeRequest {
    let store = &inner.deps.store;
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
        klarna: (sale.method == PaymentMethod::Klarna).then(|| KlarnaData {
            interoperability_token: sale.interoperability_token.clone(),
            interoperability_data: sale.interoperability_data.clone(),
            klarna_network_session_token: session_token,
        }),
        card: None,
        offline_approved_at: None,
    }
}

/// When the terminal gives up on the QR code: its own timeout, or the payment
/// request's expiry if that comes first.
fn qr_deadline(inner: &Inner, sale: &Sale) -> chrono::DateTime<Utc> {
    let timeout = chrono::TimeDelta::seconds(inner.deps.limits.klarna_timeout_secs as i64);
    let local = sale.qr_shown_at.unwrap_or(sale.created_at) + timeout;
    sale.payment_request_expires_at.map_or(local, |e| e.min(local))
}

fn qr_screen(inner: &Inner, sale: &Sale) -> Option<Screen> {
    let d = sale.descriptors.as_ref()?;
    let seconds_left = (qr_deadline(inner, sale) - Utc::now()).num_seconds();
    Some(Screen::Qr {
        amount: amount_text(sale),
        header: d.header.clone(),
        subheader: d.subheader.clone(),
        // The scan prompt is the terminal's own neutral text; Klarna's offer is Klarna's.
        instruction: text(crate::locale::Text::ScanWithCamera, &sale.locale).to_string(),
        offer: d.subheader_enriched.clone(),
        url: sale.payment_request_url.clone()?,
        // Redrawn every second: a badge that arrives meanwhile shows on the next redraw.
        badge: inner.badge(d),
        seconds_left,
        locale: sale.locale.clone(),
    })
}

async fn step_up(inner: &Inner, sale: &mut Sale) -> Result<(), FlowError> {
    let key =
        inner.deps.journal.operation_key(&inner.deps.store.terminal_reference, &sale.id, &Operation::Authorize).await?;
    let resp = inner.deps.backend.authorize(&authorize_request(inner, sale, None), &key).await?;
    match resp.result {
        AuthorizeResult::StepUpRequired => {
            let pr = resp.payment_request.ok_or(FlowError::Incomplete("payment_request"))?;
            sale.payment_request_id = Some(pr.payment_request_id.clone());
            sale.payment_request_url = Some(pr.state_context.customer_interaction.qr_code.target_url.clone());
            sale.payment_request_expires_at = Some(pr.expires_at);
            sale.qr_shown_at = Some(Utc::now());
            inner.transition(sale, SaleState::QrShown, Some(pr.payment_request_id.clone())).await?;
            let shown = match qr_screen(inner, sale) {
                Some(screen) => inner.show_for(&sale.id, screen).await,
                None => Ok(()),
            };
            if let Err(e) = shown {
                // The customer cannot scan what is not shown: withdraw the payment request.
                tracing::error!(error = %e, "QR code could not be shown; canceling the payment request");
                return cancel_request(inner, sale, &pr.payment_request_id, "DISPLAY_FAILED").await;
            }
            if !inner.deps.display.is_graphic() {
                // A line display cannot show the code: it is printed for the customer.
                let printed = match super::receipt::qr_slip_document(sale, &inner.deps.store.name) {
                    Some(slip) => inner.deps.printer.print(slip).await,
                    None => Ok(()),
                };
                if let Err(e) = printed {
                    tracing::error!(error = %e, "QR slip could not be printed; canceling the payment request");
                    return cancel_request(inner, sale, &pr.payment_request_id, "QR_SLIP_NOT_PRINTED").await;
                }
            }
        }
        _ => settle(inner, sale, resp).await?,
    }
    Ok(())
}

/// Applies an APPROVED or DECLINED authorization.
pub(super) async fn settle(inner: &Inner, sale: &mut Sale, resp: AuthorizeResponse) -> Result<(), FlowError> {
    match resp.result {
        AuthorizeResult::Approved => {
            let tx = resp.payment_transaction.ok_or(FlowError::Incomplete("payment_transaction"))?;
            sale.payment_transaction_id = Some(tx.payment_transaction_id.clone());
            sale.authorization_code = tx.authorization_code.clone();
            sale.captured_amount = tx.captured_amount;
            sale.transaction_state = Some(tx.state);
            if sale.method == PaymentMethod::Klarna {
                sale.klarna_reference = Some(tx.klarna_reference.clone());
            }
            sale.session_token = None;
            inner.transition(sale, SaleState::Approved, Some(tx.payment_transaction_id)).await?;
            show(inner, &sale.id, Screen::Approved { amount: amount_text(sale), locale: sale.locale.clone() }).await;
        }
        AuthorizeResult::Declined | AuthorizeResult::StepUpRequired => {
            sale.reason = Some(resp.result_reason.unwrap_or_else(|| "DECLINED".into()));
            inner.transition(sale, SaleState::Declined, sale.reason.clone()).await?;
            declined(inner, sale).await;
        }
    }
    Ok(())
}

/// Moves the sale along with the payment request's state.
async fn follow(inner: &Inner, sale: &mut Sale, pr: PaymentRequest) -> Result<(), FlowError> {
    let locale = sale.locale.clone();
    match pr.state {
        PaymentRequestState::Submitted if sale.state == SaleState::CustomerInProgress => {
            inner.transition(sale, SaleState::QrShown, Some("customer left the journey".into())).await?;
            if let Some(s) = qr_screen(inner, sale) {
                show(inner, &sale.id, s).await;
            }
        }
        PaymentRequestState::InProgress if sale.state == SaleState::QrShown => {
            inner.transition(sale, SaleState::CustomerInProgress, None).await?;
            let header = sale.descriptors.as_ref().map(|d| d.header.clone()).unwrap_or_default();
            show(inner, &sale.id, Screen::InProgress { amount: amount_text(sale), header, locale }).await;
        }
        // An older-generation request whose transaction already exists: read it, never
        // authorize again.
        PaymentRequestState::Authorized => {
            let tx = inner.deps.backend.transaction_by_reference(&sale.reference).await?;
            let tx = tx.ok_or(FlowError::Incomplete("the transaction of the authorized payment request"))?;
            return settle(inner, sale, AuthorizeResponse::approved(tx)).await;
        }
        PaymentRequestState::Completed => {
            let token = pr.state_context.klarna_network_session_token.ok_or(FlowError::Incomplete("session token"))?;
            sale.session_token = Some(token);
            inner.transition(sale, SaleState::CustomerCompleted, None).await?;
        }
        PaymentRequestState::Declined => {
            sale.reason = Some(pr.state_reason.unwrap_or_else(|| "DECLINED".into()));
            inner.transition(sale, SaleState::Declined, sale.reason.clone()).await?;
            show(inner, &sale.id, declined_screen(sale)).await;
        }
        PaymentRequestState::Canceled => {
            sale.reason = Some(pr.state_reason.unwrap_or_else(|| "CANCELED".into()));
            inner.transition(sale, SaleState::Canceled, sale.reason.clone()).await?;
            show(inner, &sale.id, ended_screen(sale)).await;
        }
        PaymentRequestState::Expired => {
            sale.reason = Some("PAYMENT_REQUEST_EXPIRED".into());
            inner.transition(sale, SaleState::Expired, None).await?;
            show(inner, &sale.id, ended_screen(sale)).await;
        }
        _ => {}
    }
    Ok(())
}

async fn watch(inner: &Inner, sale: &mut Sale, cancel: &CancellationToken) -> Result<(), FlowError> {
    let id = sale.payment_request_id.clone().ok_or(FlowError::Incomplete("payment_request_id"))?;
    let deadline_at = qr_deadline(inner, sale);
    let deadline = tokio::time::Instant::now() + (deadline_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let mut redraw = tokio::time::interval_at(tokio::time::Instant::now() + COUNTDOWN_REDRAW, COUNTDOWN_REDRAW);
    redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let backend = &inner.deps.backend;
    let poll_from = |state: SaleState| {
        let from =
            if state == SaleState::QrShown { PaymentRequestState::Submitted } else { PaymentRequestState::InProgress };
        Box::pin(backend.payment_request(&id, Some(from), LONG_POLL))
    };
    // The long poll stays in flight across countdown redraws: one request at a time.
    let mut poll = poll_from(sale.state);
    while matches!(sale.state, SaleState::QrShown | SaleState::CustomerInProgress) {
        tokio::select! {
            biased;
            () = inner.deps.shutdown.cancelled() => return Ok(()),
            () = cancel.cancelled() => return cancel_request(inner, sale, &id, "CASHIER_CANCELED").await,
            () = tokio::time::sleep_until(deadline) => return cancel_request(inner, sale, &id, "TERMINAL_TIMEOUT").await,
            _ = redraw.tick(), if sale.state == SaleState::QrShown => {
                if let Some(s) = qr_screen(inner, sale) {
                    show(inner, &sale.id, s).await;
                }
            }
            r = &mut poll => {
                match r {
                    Ok(pr) => follow(inner, sale, pr).await?,
                    Err(e) if e.is_unreachable() => {
                        tracing::warn!(error = %e, "cannot read the payment request; retrying");
                        tokio::time::sleep(WATCH_RETRY).await;
                    }
                    Err(e) => return Err(e.into()),
                }
                poll = poll_from(sale.state);
            }
        }
    }
    Ok(())
}

/// Cancels the payment request at the acquirer and settles on the state it reports:
/// a cancel racing the customer's approval ends in exactly one final state.
async fn cancel_request(inner: &Inner, sale: &mut Sale, id: &str, reason: &str) -> Result<(), FlowError> {
    sale.cancel_requested = true;
    let key =
        inner.deps.journal.operation_key(&inner.deps.store.terminal_reference, &sale.id, &Operation::Cancel).await?;
    inner.deps.journal.record(sale.clone(), Some(format!("cancel requested: {reason}"))).await?;
    match inner.deps.backend.cancel_payment_request(id, &key).await {
        Ok(pr) => {
            let mut pr = pr;
            if pr.state == PaymentRequestState::Canceled {
                pr.state_reason = Some(reason.to_string());
            }
            follow(inner, sale, pr).await
        }
        Err(BackendError::Refused { status: 403, .. }) => {
            // The request reached a state that cannot be canceled: take that state.
            let pr = inner.deps.backend.payment_request(id, None, Duration::ZERO).await?;
            follow(inner, sale, pr).await
        }
        Err(e) if e.is_unreachable() => {
            // Without the final authorization no money moves: the sale ends here.
            sale.reason = Some(format!("{reason}; acquirer unreachable, payment request left to expire"));
            inner.transition(sale, SaleState::Canceled, Some(e.to_string())).await?;
            show(inner, &sale.id, Screen::Canceled { locale: sale.locale.clone() }).await;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn finalize(inner: &Inner, sale: &mut Sale, cancel: &CancellationToken) -> Result<(), FlowError> {
    let id = sale.payment_request_id.clone().ok_or(FlowError::Incomplete("payment_request_id"))?;
    if cancel.is_cancelled() || sale.cancel_requested {
        return cancel_request(inner, sale, &id, "CASHIER_CANCELED").await;
    }
    let token = sale.session_token.clone().ok_or(FlowError::Incomplete("session token"))?;
    let terminal = &inner.deps.store.terminal_reference;
    let key = inner.deps.journal.operation_key(terminal, &sale.id, &Operation::AuthorizeFinal).await?;
    let request = authorize_request(inner, sale, Some(token));
    loop {
        match inner.deps.backend.authorize(&request, &key).await {
            Ok(resp) => return settle(inner, sale, resp).await,
            Err(e) if e.is_unreachable() && Utc::now() - sale.updated_at < FINALIZE_WINDOW => {
                tracing::warn!(error = %e, "final authorization not confirmed; retrying with the same key");
                tokio::select! {
                    () = inner.deps.shutdown.cancelled() => return Ok(()),
                    () = cancel.cancelled() => return cancel_request(inner, sale, &id, "CASHIER_CANCELED").await,
                    () = tokio::time::sleep(FINALIZE_RETRY) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

async fn print_receipt(inner: &Inner, sale: &mut Sale) -> Result<(), FlowError> {
    use super::receipt::{CopyFor, ReceiptHeader, marked};
    let store = &inner.deps.store;
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
    let (now, _) = match inner.deps.printer.print_or_hold(doc, &sale.id).await {
        Ok(()) => {
            if let Some(m) = merchant {
                // The store's copy comes right after; a fault now is logged (the
                // customer's receipt, which the journal tracks, is out).
                if let Err(e) = inner.deps.printer.print(m).await {
                    tracing::warn!(error = %e, "the merchant copy could not be printed; reprint it from the register");
                }
            }
            inner.amend(&sale.id, "receipt printed".into(), super::engine::receipt_printed, None).await?
        }
        Err(e) => {
            if let Some(m) = merchant {
                // Held too, right behind the customer's: the two come out together.
                let tag = format!("{}{}", sale.id, super::receipt::MERCHANT_COPY_TAG);
                let _ = inner.deps.printer.print_or_hold(m, &tag).await;
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
