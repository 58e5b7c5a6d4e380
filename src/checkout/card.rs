//! The card path's acts (`run.rs` runs them as the machine asks): the reader is enabled
//! for the sale's own transaction (a read of any other never reaches it), the encrypted
//! read (in memory only) is authorized online or approved offline within the store's
//! policy, and the reader is told the outcome. A sale resumed in AUTHORIZING is read
//! back by reference.

use super::engine::Inner;
use super::flow::{FINALIZE_RETRY, FlowError, amount_text, answer, authorize_request, show};
use super::machine::{Act, Input, ReadEnd};
use super::ports::{Acquirer as _, SaleJournal as _};
use super::run::{Next, apply, decide};
use crate::devices::{CardReaderService, CardWaitError, ReadRequest, ReaderNotice, TakenRead, Verdict};
use crate::domain::{Authorization, Operation, ReadDigest, Sale};
use crate::locale::Text;
use crate::screens::Screen;
use chrono::Utc;
use posagent_acquirer_api::{AuthorizeRequest, AuthorizeResult, CardData};
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

/// Asks for the card; with the sale's own read, journals AUTHORIZING, authorizes the
/// read and tells the reader how it ended. Returns the machine's next input (none when
/// the daemon stops without a read).
pub(super) async fn read_and_authorize(
    inner: &Inner,
    sale: &mut Sale,
    cancel: &CancellationToken,
) -> Result<Option<Next>, FlowError> {
    let Some(reader) = inner.card_reader() else { return Ok(None) };
    let TakenRead { txn, read } = match read_card(inner, reader, sale, cancel).await? {
        Read::Taken(taken) => taken,
        Read::Ended(end) => return Ok(Some(Input::ReadEnded(end).into())),
        Read::Stopped => return Ok(None),
    };
    sale.masked_pan = Some(read.masked_pan.clone());
    sale.entry_mode = Some(read.entry_mode.as_str().to_string());
    sale.cvm = Some(read.cvm.as_str().to_string());
    sale.aid = read.aid_hex();
    sale.application_label = read.application_label.clone();
    let step = decide(inner, sale, cancel, Input::CardRead(ReadDigest::of(&read.ksn)))?;
    let acts = apply(inner, sale, step, None).await?;
    // Every read is a new authorization under a key of its own (named by a digest of the
    // read's KSN, unique per read): a second read — with the PIN, or after a restart —
    // never re-uses a key sent with another body.
    let Some(Act::Authorize(operation)) = acts.into_iter().next() else { return Ok(None) };
    let gate = ChipGate { reader, txn, chip: read.entry_mode == EntryMode::Chip };
    let authorized = authorize_card(inner, sale, read, &gate, &operation).await;
    if authorized.is_err() {
        gate.tell(Outcome::NotCompleted);
    }
    authorized.map(Some)
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

/// What the customer is told on top of the prompt.
fn notice_text(notice: ReaderNotice) -> Option<Text> {
    match notice {
        ReaderNotice::TryAgain(code) if code == ErrorCode::USE_CHIP => Some(Text::CardUseChip),
        ReaderNotice::TryAgain(_) => Some(Text::CardTryAgain),
        ReaderNotice::Disconnected => Some(Text::ReaderDisconnected),
        _ => None,
    }
}

/// How waiting for the sale's read ended.
enum Read {
    /// The sale's own read.
    Taken(TakenRead),
    /// Without a read: the machine ends the sale.
    Ended(ReadEnd),
    /// The daemon stops: the sale resumes at the next start.
    Stopped,
}

/// Waits for the read of the sale's own transaction.
async fn read_card(
    inner: &Inner,
    reader: &CardReaderService,
    sale: &Sale,
    cancel: &CancellationToken,
) -> Result<Read, FlowError> {
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
            () = inner.shutdown().cancelled(), if !stop.load(Ordering::SeqCst) => stop.store(true, Ordering::SeqCst),
            Some(n) = heard.recv() => show(inner, &sale.id, screen(notice_text(n))).await,
        }
    };
    Ok(Read::Ended(match result {
        Ok(taken) if !stop.load(Ordering::SeqCst) => return Ok(Read::Taken(taken)),
        // The read crossed the cancel (or the stop): it is not used.
        Ok(taken) => {
            reader.finish(taken.txn, Outcome::NotCompleted);
            if !cancel.is_cancelled() {
                return Ok(Read::Stopped);
            }
            ReadEnd::CashierCanceled
        }
        Err(CardWaitError::Canceled) if !cancel.is_cancelled() => return Ok(Read::Stopped),
        Err(CardWaitError::Canceled) => ReadEnd::CashierCanceled,
        Err(CardWaitError::TimedOut) => ReadEnd::TimedOut,
        Err(e) if e.customer_canceled() => ReadEnd::CustomerCanceled,
        Err(CardWaitError::EndedAtReader(code)) => ReadEnd::AtReader(code.name().to_string()),
        Err(e @ CardWaitError::Disconnected(_)) => ReadEnd::Disconnected(e.to_string()),
        Err(e) => ReadEnd::Failed(e.to_string()),
    }))
}

/// What the offline policy needs to know of a read.
struct ReadKind {
    entry_mode: &'static str,
    cvm: &'static str,
    pin_block: bool,
}

/// Authorizes the sale's read online, or offline within the policy.
async fn authorize_card(
    inner: &Inner,
    sale: &Sale,
    card: CardRead,
    gate: &ChipGate<'_>,
    operation: &Operation,
) -> Result<Next, FlowError> {
    let pin = sale.pin_required;
    let key = inner.keys().operation_key(&sale.id, operation).await?;
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
    if !inner.acquirer().is_online() {
        let why = "the acquirer is known to be unreachable";
        return approve_offline(inner, sale, request, key, (Attempt::NotSent, kind, gate), why).await;
    }
    match super::flow::within_budget(inner, AUTHORIZATION_BUDGET, inner.acquirer().authorize(&request, &key)).await {
        // The issuer wants the PIN (a contactless read over the limit): the card is asked
        // for again, inserted, with its PIN (the next ENABLE supersedes this transaction
        // on the reader; no failure is shown).
        Ok(resp)
            if !pin
                && resp.result == AuthorizeResult::Declined
                && resp.result_reason.as_deref() == Some("PIN_REQUIRED") =>
        {
            Ok(Input::PinRequired.into())
        }
        Ok(resp) if resp.result == AuthorizeResult::Approved => {
            if !gate.approves().await {
                tracing::warn!(reverse = true, "the card's chip declined the approved payment");
                return Ok(Input::ChipDeclined { reverse: true }.into());
            }
            answer(resp).map(Next::from)
        }
        Ok(resp) => {
            gate.tell(Outcome::Declined);
            answer(resp).map(Next::from)
        }
        Err(e) if e.is_unreachable() => {
            // Not known whether it reached the acquirer: the forward re-uses the key, and
            // an acquirer that has it already answers with what it did (or by reference).
            approve_offline(inner, sale, request, key, (Attempt::Unanswered, kind, gate), &e.to_string()).await
        }
        Err(e) => Ok(refused_authorization(inner, sale, e, gate).await.into()),
    }
}

/// The acquirer refused the authorization: before the sale ends FAILED, the transaction
/// is read by reference — an earlier read's authorization whose answer was lost (a
/// restart, a timeout) may have charged the card, and then the sale is approved by it.
async fn refused_authorization(
    inner: &Inner,
    sale: &Sale,
    e: crate::backend::BackendError,
    gate: &ChipGate<'_>,
) -> Input {
    gate.tell(Outcome::NotCompleted);
    if let Ok(Some(tx)) = inner.acquirer().transaction_by_reference(&sale.reference).await {
        tracing::warn!(error = %e, "authorization refused, but the sale's reference has a transaction: it stands");
        return Input::Approved(Authorization::from(&tx));
    }
    Input::Refused { code: e.code().map(str::to_string), error: e.to_string() }
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
/// offline limits allow it, its authorization (the encrypted read, as the acquirer
/// takes it) to be queued with the approval; otherwise the sale is refused with the
/// limit that stopped it — and an authorization sent without an answer is reversed.
async fn approve_offline(
    inner: &Inner,
    sale: &Sale,
    mut request: AuthorizeRequest,
    key: String,
    (attempt, kind, gate): (Attempt, ReadKind, &ChipGate<'_>),
    why: &str,
) -> Result<Next, FlowError> {
    let now = Utc::now();
    let waiting = inner.keys().offline_exposure(sale.currency.code().to_string()).await?;
    let limits = inner.offline_limits();
    let allowed = limits
        .check_read(sale.amount, kind.entry_mode, kind.cvm, kind.pin_block)
        .and_then(|()| limits.check(sale.amount, &waiting, now.timestamp_millis()));
    let unanswered = attempt == Attempt::Unanswered;
    if let Err(refusal) = allowed {
        tracing::warn!(reason = %refusal, "card payment not approved offline");
        gate.tell(Outcome::Declined);
        let detail = format!("{refusal} ({why})");
        return Ok(Input::OfflineRefused { code: refusal.code().to_string(), detail, unanswered }.into());
    }
    // The chip first: a card declining the offline approval is never queued.
    if !gate.approves().await {
        tracing::warn!(reverse = unanswered, "the card's chip declined the approved payment");
        return Ok(Input::ChipDeclined { reverse: unanswered }.into());
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
    Ok(Next { input: Input::OfflineApproved { why: why.to_string() }, queue: Some((op, 0)) })
}

/// The queued reversal of the sale's card authorization, whose answer never came (the
/// sale is ending without it); marks the sale. Its key is stored first; it is queued
/// with the sale's final state, in one transaction, and sent by the sync worker as soon
/// as the acquirer answers.
pub(super) async fn reversal_op(inner: &Inner, sale: &mut Sale) -> Result<(crate::domain::NewOp, i64), FlowError> {
    let key = inner.keys().operation_key(&sale.id, &Operation::Reverse).await?;
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
/// The cashier may cancel it meanwhile (the customer pays otherwise): the machine ends
/// it CANCELED with a reversal queued, which undoes the authorization if it went through.
pub(super) async fn resolve_authorization(
    inner: &Inner,
    sale: &Sale,
    cancel: &CancellationToken,
) -> Result<Option<Input>, FlowError> {
    let found = loop {
        let lookup = tokio::select! {
            () = inner.shutdown().cancelled() => return Ok(None),
            () = cancel.cancelled() => return Ok(Some(Input::CashierCancel)),
            r = inner.acquirer().transaction_by_reference(&sale.reference) => r,
        };
        match lookup {
            Ok(found) => break found,
            Err(e) if e.is_unreachable() => {
                tracing::warn!(error = %e, "cannot tell whether the card was authorized before the restart; asking again");
                tokio::select! {
                    () = inner.shutdown().cancelled() => return Ok(None),
                    () = cancel.cancelled() => return Ok(Some(Input::CashierCancel)),
                    () = tokio::time::sleep(FINALIZE_RETRY) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    };
    Ok(Some(match found {
        Some(tx) => Input::Approved(Authorization::from(&tx)),
        None => Input::NoAuthorization,
    }))
}
