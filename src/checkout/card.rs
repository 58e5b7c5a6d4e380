//! The path of one card sale: the reader is enabled for the sale's own transaction (a
//! read of any other never reaches it), the encrypted read (in memory only) is
//! authorized online or approved offline within the store's policy, and the reader is
//! told the outcome. A sale resumed in AUTHORIZING is read back by reference.

use super::engine::Inner;
use super::flow::{FINALIZE_RETRY, FlowError, amount_text, authorize_request, declined, settle, show};
use crate::devices::{CardReaderService, CardWaitError, ReadRequest, ReaderNotice, TakenRead, Verdict};
use crate::domain::{Operation, ReadDigest, Sale, SaleState};
use crate::locale::Text;
use crate::screens::Screen;
use chrono::Utc;
use posagent_acquirer_api::{AuthorizeRequest, AuthorizeResponse, AuthorizeResult, CardData};
use posagent_drivers::card_reader::{CardRead, EntryMode, ErrorCode, Outcome};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest the customer waits at the counter for the authorization's answer; then
/// the terminal decides on its own (offline policy). An answer that reached the acquirer
/// anyway is safe: the forward re-uses the key, and a sale declined here is reversed.
const AUTHORIZATION_BUDGET: Duration = Duration::from_secs(8);

/// How long the card reader waits for a card.
const CARD_TIMEOUT: Duration = Duration::from_secs(60);

/// Asks for the card, authorizes the read and tells the reader how it ended.
pub(super) async fn wait_for_card(inner: &Inner, sale: &mut Sale, cancel: &CancellationToken) -> Result<(), FlowError> {
    let Some(reader) = inner.deps.card_reader.clone() else {
        sale.reason = Some("NO_CARD_READER".into());
        inner.transition(sale, SaleState::Failed, sale.reason.clone()).await?;
        return Ok(());
    };
    let Some(TakenRead { txn, read }) = read_card(inner, &reader, sale, cancel).await? else { return Ok(()) };
    let gate = ChipGate { reader: &reader, txn, chip: read.entry_mode == EntryMode::Chip };
    let authorized = authorize_card(inner, sale, read, &gate).await;
    if authorized.is_err() {
        gate.tell(Outcome::NotCompleted);
    }
    authorized
}

/// The reader's part in the outcome: told how the sale ended, and for a chip card asked
/// first — the chip has the last word (second GENERATE AC) before a sale is APPROVED.
struct ChipGate<'a> {
    reader: &'a CardReaderService,
    txn: u32,
    chip: bool,
}

impl ChipGate<'_> {
    /// Tells the reader the sale is approved; `false` when the chip declines it.
    async fn approves(&self) -> bool {
        if !self.chip {
            self.reader.finish(self.txn, Outcome::Approved);
            return true;
        }
        self.reader.complete(self.txn, Outcome::Approved).await != Verdict::CardDeclined
    }

    /// Tells the reader the sale did not go through.
    fn tell(&self, outcome: Outcome) {
        self.reader.finish(self.txn, outcome);
    }
}

/// The chip declined what the acquirer (or the offline policy) approved: the sale ends
/// DECLINED, never having been APPROVED, with a reversal queued in the same transaction
/// when an authorization may exist.
async fn declined_by_the_chip(inner: &Inner, sale: &mut Sale, reverse: bool) -> Result<(), FlowError> {
    tracing::warn!(reverse, "the card's chip declined the approved payment");
    sale.reason = Some("CARD_DECLINED_AFTER_APPROVAL".into());
    let reversal = if reverse { Some(reversal_op(inner, sale).await?) } else { None };
    let detail =
        format!("the card's chip declined after the approval{}", if reverse { "; a reversal is queued" } else { "" });
    inner.transition_queuing(sale, SaleState::Declined, Some(detail), reversal).await?;
    declined(inner, sale).await;
    Ok(())
}

/// What the customer is told on top of the prompt.
fn notice_text(notice: ReaderNotice) -> Option<Text> {
    match notice {
        ReaderNotice::TryAgain(code) if code == ErrorCode::USE_CHIP => Some(Text::CardUseChip),
        ReaderNotice::TryAgain(_) => Some(Text::CardTryAgain),
        ReaderNotice::Disconnected => Some(Text::ReaderDisconnected),
        _ => None,
    }
}

/// Waits for the read of the sale's own transaction; `None` when the sale ended (or the
/// daemon stops) without one.
async fn read_card(
    inner: &Inner,
    reader: &CardReaderService,
    sale: &mut Sale,
    cancel: &CancellationToken,
) -> Result<Option<TakenRead>, FlowError> {
    let pin = sale.pin_required;
    let (amount, locale) = (amount_text(sale), sale.locale.clone());
    let screen = |notice| Screen::PresentCard { amount: amount.clone(), pin, notice, locale: locale.clone() };
    show(inner, &sale.id, screen(None)).await;
    let request = ReadRequest {
        amount: u32::try_from(sale.amount).unwrap_or(u32::MAX),
        currency: sale.currency.code().to_string(),
        exponent: sale.currency.exponent(),
        pin,
        no_swipe: false,
        timeout: CARD_TIMEOUT,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (notices, mut heard) = tokio::sync::mpsc::channel(8);
    let read = reader.read_card(request, stop.clone(), notices);
    tokio::pin!(read);
    let result = loop {
        tokio::select! {
            r = &mut read => break r,
            () = cancel.cancelled(), if !stop.load(Ordering::SeqCst) => stop.store(true, Ordering::SeqCst),
            () = inner.deps.shutdown.cancelled(), if !stop.load(Ordering::SeqCst) => stop.store(true, Ordering::SeqCst),
            Some(n) = heard.recv() => show(inner, &sale.id, screen(notice_text(n))).await,
        }
    };
    let ended = |reason: &str| Some(reason.to_string());
    let (state, reason, detail) = match result {
        Ok(taken) if !stop.load(Ordering::SeqCst) => return Ok(Some(taken)),
        // The read crossed the cancel (or the stop): it is not used.
        Ok(taken) => {
            reader.finish(taken.txn, Outcome::NotCompleted);
            if !cancel.is_cancelled() {
                return Ok(None);
            }
            (SaleState::Canceled, ended("CASHIER_CANCELED"), None)
        }
        Err(CardWaitError::Canceled) if !cancel.is_cancelled() => return Ok(None),
        Err(CardWaitError::Canceled) => (SaleState::Canceled, ended("CASHIER_CANCELED"), None),
        Err(CardWaitError::TimedOut) => (SaleState::Canceled, ended("CARD_TIMEOUT"), None),
        Err(e) if e.customer_canceled() => (SaleState::Canceled, ended("CUSTOMER_CANCELED"), None),
        Err(CardWaitError::EndedAtReader(code)) => (SaleState::Declined, ended(code.name()), None),
        Err(e @ CardWaitError::Disconnected(_)) => {
            (SaleState::Failed, ended("CARD_READER_DISCONNECTED"), Some(e.to_string()))
        }
        Err(e) => (SaleState::Failed, ended("CARD_READER_FAILED"), Some(e.to_string())),
    };
    sale.reason = reason;
    let detail = detail.or_else(|| sale.reason.clone());
    inner.transition(sale, state, detail).await?;
    let locale = sale.locale.clone();
    match state {
        SaleState::Declined => declined(inner, sale).await,
        SaleState::Failed => show(inner, &sale.id, Screen::Error { reference: sale.reference.clone(), locale }).await,
        _ => show(inner, &sale.id, super::flow::ended_screen(sale)).await,
    }
    Ok(None)
}

/// What the offline policy needs to know of a read.
struct ReadKind {
    entry_mode: &'static str,
    cvm: &'static str,
    pin_block: bool,
}

/// Authorizes the sale's read online, or offline within the policy.
async fn authorize_card(inner: &Inner, sale: &mut Sale, card: CardRead, gate: &ChipGate<'_>) -> Result<(), FlowError> {
    let pin = sale.pin_required;
    sale.masked_pan = Some(card.masked_pan.clone());
    sale.entry_mode = Some(card.entry_mode.as_str().to_string());
    sale.cvm = Some(card.cvm.as_str().to_string());
    sale.aid = card.aid_hex();
    sale.application_label = card.application_label.clone();
    inner.transition(sale, SaleState::Authorizing, None).await?;
    // Every read is a new authorization under a key of its own (named by a digest of the
    // read's KSN, unique per read): a second read — with the PIN, or after a restart —
    // never re-uses a key sent with another body.
    let operation = Operation::AuthorizeRead(ReadDigest::of(&card.ksn));
    let key = inner.deps.journal.operation_key(&inner.deps.store.terminal_reference, &sale.id, &operation).await?;
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    // A card the issuer asked a PIN for is never approved offline, PIN block or not.
    let pin_block = card.pin_block.is_some() || pin;
    let kind = ReadKind { entry_mode: card.entry_mode.as_str(), cvm: card.cvm.as_str(), pin_block };
    let mut request = authorize_request(inner, sale, None);
    request.card = Some(CardData {
        encrypted_payload: b64(&card.payload),
        key_serial_number: card.ksn.iter().map(|b| format!("{b:02X}")).collect(),
        masked_pan: card.masked_pan.clone(),
        entry_mode: card.entry_mode.as_str().to_string(),
        pin_block: card.pin_block.as_deref().map(|p| b64(p)),
    });
    drop(card);
    if !inner.deps.backend.connectivity().is_online() {
        let why = "the acquirer is known to be unreachable";
        return approve_offline(inner, sale, request, key, (Attempt::NotSent, kind, gate), why).await;
    }
    match super::flow::within_budget(inner, AUTHORIZATION_BUDGET, inner.deps.backend.authorize(&request, &key)).await {
        Ok(resp)
            if !pin
                && resp.result == AuthorizeResult::Declined
                && resp.result_reason.as_deref() == Some("PIN_REQUIRED") =>
        {
            // The issuer wants the PIN (a contactless read over the limit): the card is
            // asked for again, inserted, with its PIN (the next ENABLE supersedes this
            // transaction on the reader; no failure is shown).
            sale.pin_required = true;
            let detail = "PIN required: the card is asked for again, inserted with its PIN".to_string();
            inner.transition(sale, SaleState::AwaitingCard, Some(detail)).await?;
            Ok(())
        }
        Ok(resp) if resp.result == AuthorizeResult::Approved => {
            if !gate.approves().await {
                return declined_by_the_chip(inner, sale, true).await;
            }
            settle(inner, sale, resp).await
        }
        Ok(resp) => {
            gate.tell(Outcome::Declined);
            settle(inner, sale, resp).await
        }
        Err(e) if e.is_unreachable() => {
            // Not known whether it reached the acquirer: the forward re-uses the key, and
            // an acquirer that has it already answers with what it did (or by reference).
            approve_offline(inner, sale, request, key, (Attempt::Unanswered, kind, gate), &e.to_string()).await
        }
        Err(e) => refused_authorization(inner, sale, e, gate).await,
    }
}

/// The acquirer refused the authorization: before the sale ends FAILED, the transaction
/// is read by reference — an earlier read's authorization whose answer was lost (a
/// restart, a timeout) may have charged the card, and then the sale is approved by it.
async fn refused_authorization(
    inner: &Inner,
    sale: &mut Sale,
    e: crate::backend::BackendError,
    gate: &ChipGate<'_>,
) -> Result<(), FlowError> {
    gate.tell(Outcome::NotCompleted);
    if let Ok(Some(tx)) = inner.deps.backend.transaction_by_reference(&sale.reference).await {
        tracing::warn!(error = %e, "authorization refused, but the sale's reference has a transaction: it stands");
        return settle(inner, sale, AuthorizeResponse::approved(tx)).await;
    }
    sale.reason = Some(e.code().unwrap_or("ACQUIRER_REFUSED").to_string());
    inner.transition(sale, SaleState::Failed, Some(e.to_string())).await?;
    show(inner, &sale.id, Screen::Error { reference: sale.reference.clone(), locale: sale.locale.clone() }).await;
    Ok(())
}

/// Whether an authorization went out before the terminal decided on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Known offline: nothing was sent.
    NotSent,
    /// Sent, and no answer came: the acquirer may have authorized it.
    Unanswered,
}

/// The acquirer cannot be reached: approves the card payment on the terminal if the
/// offline limits allow it, queuing its authorization (the encrypted read, as the
/// acquirer takes it) in the same transaction; otherwise the sale is refused with the
/// limit that stopped it — and an authorization sent without an answer is reversed.
async fn approve_offline(
    inner: &Inner,
    sale: &mut Sale,
    mut request: AuthorizeRequest,
    key: String,
    (attempt, kind, gate): (Attempt, ReadKind, &ChipGate<'_>),
    why: &str,
) -> Result<(), FlowError> {
    let now = Utc::now();
    let waiting = inner.deps.journal.offline_exposure(sale.currency.code().to_string()).await?;
    let limits = inner.deps.offline.read().map(|l| l.clone()).unwrap_or_else(|p| p.into_inner().clone());
    let allowed = limits
        .check_read(sale.amount, kind.entry_mode, kind.cvm, kind.pin_block)
        .and_then(|()| limits.check(sale.amount, &waiting, now.timestamp_millis()));
    if let Err(refusal) = allowed {
        tracing::warn!(reason = %refusal, "card payment not approved offline");
        sale.reason = Some(refusal.code().to_string());
        let reversal = match attempt {
            Attempt::Unanswered => Some(reversal_op(inner, sale).await?),
            Attempt::NotSent => None,
        };
        let detail = format!("{refusal} ({why})");
        gate.tell(Outcome::Declined);
        inner.transition_queuing(sale, SaleState::Declined, Some(detail), reversal).await?;
        declined(inner, sale).await;
        return Ok(());
    }
    // The chip first: a card declining the offline approval is never queued.
    if !gate.approves().await {
        return declined_by_the_chip(inner, sale, attempt == Attempt::Unanswered).await;
    }
    request.offline_approved_at = Some(now);
    let body = serde_json::to_value(&request).map_err(|_| FlowError::Incomplete("a serializable authorization"))?;
    let op = crate::domain::NewOp {
        group: sale.id.clone(),
        subject: crate::domain::Subject::Sale,
        subject_id: sale.id.clone(),
        kind: crate::domain::OpKind::Authorize,
        idempotency_key: key,
        payment_transaction_id: None,
        request: body,
        amount: sale.amount,
        currency: sale.currency.code().to_string(),
    };
    sale.offline = Some(crate::domain::OfflineStatus::Queued);
    sale.reason = None;
    inner
        .transition_queuing(
            sale,
            SaleState::Approved,
            Some(format!("approved offline, queued for the acquirer ({why})")),
            Some((op, 0)),
        )
        .await?;
    inner.deps.metrics.offline_approved();
    show(inner, &sale.id, Screen::Approved { amount: amount_text(sale), locale: sale.locale.clone() }).await;
    Ok(())
}

/// The queued reversal of the sale's card authorization, whose answer never came (the
/// sale is ending without it); marks the sale. Queued with the sale's final state, in
/// one transaction, and sent by the sync worker as soon as the acquirer answers.
async fn reversal_op(inner: &Inner, sale: &mut Sale) -> Result<(crate::domain::NewOp, i64), FlowError> {
    let key =
        inner.deps.journal.operation_key(&inner.deps.store.terminal_reference, &sale.id, &Operation::Reverse).await?;
    let request = posagent_acquirer_api::ReversalRequest { payment_transaction_reference: sale.reference.clone() };
    let body = serde_json::to_value(&request).map_err(|_| FlowError::Incomplete("a serializable reversal"))?;
    sale.reversal = Some(crate::domain::ReversalStatus::Queued);
    let op = crate::domain::NewOp {
        group: sale.id.clone(),
        subject: crate::domain::Subject::Sale,
        subject_id: sale.id.clone(),
        kind: crate::domain::OpKind::Reverse,
        idempotency_key: key,
        payment_transaction_id: None,
        request: body,
        amount: sale.amount,
        currency: sale.currency.code().to_string(),
    };
    Ok((op, 0))
}

/// After a restart in AUTHORIZING the card data is gone (it is never stored): the
/// transaction is read by reference; if none exists the card is asked for again.
///
/// Until the acquirer answers, the sale waits in AUTHORIZING: it may hold an
/// authorization, so it is neither failed nor approved offline (its card read is gone).
/// The cashier may cancel it meanwhile (the customer pays otherwise): the sale ends
/// CANCELED with a reversal queued, which undoes the authorization if it went through.
pub(super) async fn resume_card_authorization(
    inner: &Inner,
    sale: &mut Sale,
    cancel: &CancellationToken,
) -> Result<(), FlowError> {
    let found = loop {
        let lookup = tokio::select! {
            () = inner.deps.shutdown.cancelled() => return Ok(()),
            () = cancel.cancelled() => return cancel_unresolved_authorization(inner, sale).await,
            r = inner.deps.backend.transaction_by_reference(&sale.reference) => r,
        };
        match lookup {
            Ok(found) => break found,
            Err(e) if e.is_unreachable() => {
                tracing::warn!(error = %e, "cannot tell whether the card was authorized before the restart; asking again");
                tokio::select! {
                    () = inner.deps.shutdown.cancelled() => return Ok(()),
                    () = cancel.cancelled() => return cancel_unresolved_authorization(inner, sale).await,
                    () = tokio::time::sleep(FINALIZE_RETRY) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    };
    match found {
        Some(tx) => {
            let resp = AuthorizeResponse::approved(tx);
            settle(inner, sale, resp).await
        }
        None => {
            inner
                .transition(
                    sale,
                    SaleState::AwaitingCard,
                    Some("no authorization found; the card is asked for again".into()),
                )
                .await?;
            Ok(())
        }
    }
}

/// The cashier canceled a card sale whose authorization's fate is unknown: it ends
/// CANCELED, with the reversal queued in the same transaction.
async fn cancel_unresolved_authorization(inner: &Inner, sale: &mut Sale) -> Result<(), FlowError> {
    sale.cancel_requested = true;
    sale.reason = Some("CASHIER_CANCELED".into());
    let reversal = reversal_op(inner, sale).await?;
    let detail = "canceled while the authorization's answer was unknown; a reversal is queued".to_string();
    inner.transition_queuing(sale, SaleState::Canceled, Some(detail), Some(reversal)).await?;
    show(inner, &sale.id, Screen::Canceled { locale: sale.locale.clone() }).await;
    Ok(())
}
