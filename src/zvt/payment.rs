//! Authorization (06 01) [P15 §2.2]: a posagent sale, started through the checkout as
//! an ECR-API sale is (Klarna, card, or the customer's choice by the card type the
//! register preselected), followed to its end with intermediate status (04 FF) kept
//! flowing so the register's T4 never runs out while the customer scans, an abort
//! (06 B0) canceling it, then its result under the commit rule.

use super::commit::{Delivery, report_payment};
use super::link::{Conversation, Incoming, LinkError, T3};
use super::{PosTerminal, rc};
use crate::checkout::{CheckoutError, NewSale, ReceiptPrinting};
use crate::domain::{Sale, SaleState};
use posagent_zvt::{Authorization, Command, EcrMessage, PtMessage};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Intermediate status codes [P15 §3.7].
const STATUS_INSERT_CARD: u8 = 0x0A;
const STATUS_WAITING_FOR_HOST: u8 = 0x04;
const STATUS_PLEASE_WAIT: u8 = 0x17;
const STATUS_TEXT: u8 = 0xFF;

/// The method the register's card type asks for (`8A` / TLV `41`).
fn method(pt: &PosTerminal, card_type: Option<u16>) -> &'static str {
    match card_type {
        Some(id) if id == pt.deps.config.klarna_card_type => "KLARNA",
        Some(_) => "CARD",
        None if pt.deps.checkout.takes_cards() => "CHOICE",
        None => "KLARNA",
    }
}

/// The result code of a sale the checkout refused to start.
fn refusal(e: &CheckoutError) -> u8 {
    match e {
        CheckoutError::MethodNotSupported(_) => rc::METHOD_NOT_SUPPORTED,
        CheckoutError::Invalid { field, .. } if field == "amount" => rc::MAX_AMOUNT,
        CheckoutError::Busy(_) | CheckoutError::ShuttingDown => rc::PLEASE_WAIT,
        _ => rc::SYSTEM_ERROR,
    }
}

/// Runs an Authorization.
pub async fn authorization(pt: &Arc<PosTerminal>, conv: &mut Conversation, a: Authorization) -> Result<(), LinkError> {
    conv.send(&PtMessage::Ack).await?;
    let settings = *pt.settings.lock().await;
    let abort = |result| PtMessage::Abort { result, extended_text: None };
    if a.currency.is_some_and(|cc| cc != pt.currency_code()) {
        return conv.ask(&abort(rc::WRONG_CURRENCY), T3).await.map(|_| ());
    }
    let Ok(amount) = i64::try_from(a.amount) else { return conv.ask(&abort(rc::MAX_AMOUNT), T3).await.map(|_| ()) };
    if amount < 1 {
        return conv.ask(&abort(rc::AMOUNT_TOO_SMALL), T3).await.map(|_| ());
    }
    super::admin::resynchronise(pt, super::admin::mirrored_receipt(a.tlv.as_ref())).await;
    let request = NewSale {
        amount,
        currency: pt.deps.checkout.store().currency.to_string(),
        method: Some(method(pt, a.card_type).into()),
        reference: None,
        order_lines: vec![],
        interoperability_token: None,
        interoperability_data: None,
        locale: None,
        // Captured once the register took the result (the commit rule), voided otherwise.
        capture: None,
        cashier: None,
    };
    let receipts = if settings.register_prints() { ReceiptPrinting::Register } else { ReceiptPrinting::Terminal };
    let mut updates = pt.deps.checkout.subscribe();
    let view = match pt.deps.checkout.create_register_sale(request, receipts).await {
        Ok((view, _)) => view,
        Err(e) => {
            tracing::warn!(error = %e, "a ZVT payment could not start");
            return conv.ask(&abort(refusal(&e)), T3).await.map(|_| ());
        }
    };
    let id = view.id.clone();
    let open = match super::commit::open_payment(pt, &view).await {
        Ok(row) => row,
        Err(e) => {
            tracing::error!(error = %e, "cannot journal the ZVT payment; its sale is canceled");
            let _ = pt.deps.checkout.cancel(&id).await;
            return conv.ask(&abort(rc::SYSTEM_ERROR), T3).await.map(|_| ());
        }
    };
    let tlv = settings.tlv || a.tlv.is_some();
    let delivery = Delivery {
        settings,
        tlv,
        answer_timeout: Duration::from_secs(a.timeout_secs.map_or(30, u64::from).max(1)),
        repeats: a.max_status_infos.unwrap_or(u8::MAX),
    };
    let status = settings.intermediate_status().then_some(tlv);
    let followed = follow(pt, conv, &id, status, &mut updates).await;
    if let Err(e) = &followed {
        // A closed connection aborts the whole process [P16 §5.2.5].
        tracing::warn!(error = %e, "the register went away during the payment; it is canceled");
        let _ = pt.deps.checkout.cancel(&id).await;
    }
    // Its row stays OPEN if the journal does not answer: the next start settles it.
    let Some(sale) = ended(pt, &id, &mut updates).await else { return followed };
    match followed {
        Ok(()) => report_payment(pt, Some(conv), &open, &sale, &delivery).await,
        Err(e) => report_payment(pt, None, &open, &sale, &delivery).await.and(Err(e)),
    }
}

/// Without intermediate status a register gives up after T4 (180 s) [P16 §5.2.6]: the
/// sale is canceled before then.
const QUIET_LIMIT: Duration = Duration::from_secs(170);

/// Waits for the sale to end while answering the register: its abort, and — when it
/// asked for them (`status`: whether TLV may go with them) — intermediate status on every
/// change and every `status_interval_secs`, each acknowledged within T3.
async fn follow(
    pt: &PosTerminal,
    conv: &mut Conversation,
    id: &str,
    status: Option<bool>,
    updates: &mut broadcast::Receiver<crate::domain::SaleView>,
) -> Result<(), LinkError> {
    let mut tick = tokio::time::interval(Duration::from_secs(pt.deps.config.status_interval_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let quiet_until = tokio::time::Instant::now() + QUIET_LIMIT;
    let (mut shown, mut listening, mut gave_up) = (None, true, false);
    loop {
        // (look at the sale, a status is due whatever changed)
        let (look, due) = tokio::select! {
            u = updates.recv(), if listening => match u {
                Ok(v) => (v.id == id, false),
                Err(broadcast::error::RecvError::Lagged(_)) => (true, false),
                Err(broadcast::error::RecvError::Closed) => {
                    listening = false;
                    (true, false)
                }
            },
            next = conv.next(None) => {
                answer(pt, conv, id, next?).await?;
                (false, false)
            }
            _ = tick.tick() => (true, true),
        };
        if status.is_none() && !gave_up && tokio::time::Instant::now() >= quiet_until {
            tracing::warn!("a ZVT payment without intermediate status reached the register's T4; it is canceled");
            gave_up = true;
            let _ = pt.deps.checkout.cancel(id).await;
        }
        if !look {
            continue;
        }
        let Ok(sale) = pt.journal().sale(id.to_string()).await else { continue };
        if sale.state.is_final() {
            return Ok(());
        }
        let Some(tlv) = status else { continue };
        let message = status_of(&sale, tlv);
        let seen = match &message {
            PtMessage::Intermediate { status, text, .. } => Some((*status, text.clone())),
            _ => None,
        };
        if seen != shown || due {
            shown = seen;
            match conv.ask(&message, super::link::T3).await {
                Ok(_) | Err(LinkError::Timeout(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// What the register sent during the payment.
async fn answer(pt: &PosTerminal, conv: &mut Conversation, id: &str, got: Incoming) -> Result<(), LinkError> {
    match got {
        Incoming::Message(EcrMessage::Answer(_)) => Ok(()),
        Incoming::Message(EcrMessage::Command(Command::Abort)) => {
            conv.send(&PtMessage::Ack).await?;
            if let Err(e) = pt.deps.checkout.cancel(id).await {
                tracing::info!(error = %e, "the register's abort came too late to cancel the sale");
            }
            Ok(())
        }
        Incoming::Message(EcrMessage::Command(_)) => conv.send(&PtMessage::Nack(rc::PLEASE_WAIT)).await,
        Incoming::Malformed(e) => conv.send(&PtMessage::Nack(e.nack_code())).await,
    }
}

/// The sale once it ended (`None`: the journal does not answer).
async fn ended(pt: &PosTerminal, id: &str, updates: &mut broadcast::Receiver<crate::domain::SaleView>) -> Option<Sale> {
    loop {
        match pt.journal().sale(id.to_string()).await {
            Ok(sale) if sale.state.is_final() => return Some(sale),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read the ZVT sale back from the journal");
                return None;
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), updates.recv()).await;
    }
}

/// The intermediate status of `sale`: for Klarna's QR code a text (TLV 24, when TLV may
/// be sent; else "please wait") and a timeout that lasts while it can be scanned.
fn status_of(sale: &Sale, tlv: bool) -> PtMessage {
    let minutes = |secs: i64| u8::try_from((secs + 59) / 60).unwrap_or(99).clamp(1, 99);
    let left = sale.payment_request_expires_at.map_or(180, |at| (at - chrono::Utc::now()).num_seconds().max(60));
    let german = sale.locale.starts_with("de");
    let (status, text) = match sale.state {
        SaleState::QrShown | SaleState::CustomerInProgress => (
            STATUS_TEXT,
            Some(if german { "QR-Code mit der Klarna App scannen" } else { "Scan the QR code with the Klarna app" }),
        ),
        SaleState::AwaitingMethod => {
            (STATUS_TEXT, Some(if german { "Zahlart am Terminal wählen" } else { "Choose how to pay on the terminal" }))
        }
        SaleState::AwaitingCard => (STATUS_INSERT_CARD, None),
        SaleState::Authorizing | SaleState::CustomerCompleted => (STATUS_WAITING_FOR_HOST, None),
        _ => (STATUS_PLEASE_WAIT, None),
    };
    let (status, text) = if status == STATUS_TEXT && !tlv { (STATUS_PLEASE_WAIT, None) } else { (status, text) };
    PtMessage::Intermediate { status, timeout_minutes: Some(minutes(left)), text: text.map(str::to_string) }
}
