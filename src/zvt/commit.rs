//! A payment's journal row and ZVT's commit rule [P15 §2.2.8]: the row is written when
//! the sale starts (`OPEN`), the result with its receipt and trace numbers before it is
//! sent (`PENDING`); an approved payment counts — is captured — only once the register
//! acknowledged the status information and every receipt (`COMMITTED`); otherwise it is
//! voided and reported `27 6C` (`REVERSED`), under keys that come from the row, so
//! exactly once, also when the daemon stopped in between: the next start settles what a
//! previous run left open or pending.

use super::PosTerminal;
use super::link::{Conversation, LinkError, T3};
use super::receipt::{ReceiptKind, print_commands};
use super::report::{ReportContext, card_type, result_code, status_information};
use super::session::RegisterSettings;
use crate::checkout::{CheckoutError, CopyFor, ReceiptHeader, declined_document, marked, receipt_document};
use crate::domain::{NewZvtTransaction, Sale, SaleState, ZvtKind, ZvtState, ZvtTransaction};
use crate::store::StoreError;
use posagent_zvt::{Apdu, Completion, EcrAnswer, PtMessage};
use std::sync::Arc;
use std::time::Duration;

/// How the register takes a result (its registration, and BMP 01/02 of the command).
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// What its registration set.
    pub settings: RegisterSettings,
    /// TLV containers may be sent (the register sent one).
    pub tlv: bool,
    /// How long it may take to answer the status information (BMP 01; 30 s).
    pub answer_timeout: Duration,
    /// How often "please wait" (84 9C) may put the status information off (BMP 02;
    /// without it, as often as it likes within BMP 01 each time: capped at 255).
    pub repeats: u8,
}

/// The register's answer to a result.
enum Taken {
    /// It took it all (or, vending, part of the goods: that amount).
    Yes(Option<i64>),
    /// It refused it, did not answer, or went away.
    No,
}

impl PosTerminal {
    /// What a status information needs besides the transaction, as of now.
    pub(super) fn context(&self, settings: &RegisterSettings, tlv: bool) -> ReportContext {
        ReportContext {
            terminal_id: self.deps.config.terminal_id_number(),
            currency: settings.currency_sent.then(|| self.currency_code()),
            clock: self.deps.checkout.store().time_zone.clock(chrono::Utc::now()),
            tlv,
        }
    }
}

/// Journals the row of a payment whose sale `sale` just started.
pub async fn open_payment(pt: &PosTerminal, sale: &crate::domain::SaleView) -> Result<ZvtTransaction, StoreError> {
    let new = NewZvtTransaction {
        kind: ZvtKind::Payment,
        state: ZvtState::Open,
        sale_id: Some(sale.id.clone()),
        return_id: None,
        reverses: None,
        amount: sale.amount,
        currency: sale.currency,
        card_type: None,
        result: super::rc::SYSTEM_ERROR,
    };
    pt.journal().zvt_record(new, |_| vec![]).await
}

/// The APDUs that report `sale`'s end as transaction `t`: the status information and,
/// when the register prints from print commands, its receipts (none at all when the
/// status information does not encode).
fn render(
    t: &ZvtTransaction,
    sale: &Sale,
    ctx: &ReportContext,
    d: &Delivery,
    header: &ReceiptHeader<'_>,
) -> Vec<Vec<u8>> {
    let Ok(status) = PtMessage::StatusInformation(status_information(t, sale, ctx)).to_apdu() else {
        tracing::error!("the ZVT status information does not encode; the payment is not reported");
        return vec![];
    };
    let mut sent = vec![status.encode()];
    if !d.settings.receipts_to_register() {
        return sent;
    }
    let docs = match sale.state {
        SaleState::Approved => {
            let doc = receipt_document(sale, *header, false);
            vec![
                (marked(doc.clone(), CopyFor::Merchant, &sale.locale), ReceiptKind::Merchant),
                (marked(doc, CopyFor::Customer, &sale.locale), ReceiptKind::Customer),
            ]
        }
        SaleState::Declined => vec![(declined_document(sale, *header), ReceiptKind::Customer)],
        _ => vec![],
    };
    for (doc, kind) in docs {
        for m in print_commands(&doc, kind, d.settings.width(), d.settings.text_blocks) {
            if let Ok(apdu) = m.to_apdu() {
                sent.push(apdu.encode());
            }
        }
    }
    sent
}

/// The status information in `sent`, with result `27 6C`: what a reversed payment is
/// reported as (and repeated as) under its own receipt and trace numbers.
fn reversed_report(sent: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let status = sent.first().and_then(|b| Apdu::decode(b).ok()).and_then(|a| PtMessage::decode(&a).ok());
    let Some(PtMessage::StatusInformation(mut info)) = status else { return vec![] };
    info.result = super::rc::ABORTED;
    PtMessage::StatusInformation(info).to_apdu().map(|a| vec![a.encode()]).unwrap_or_default()
}

/// Reports the end of payment `sale` (row `open`) to the register (`conv`; `None`: it
/// went away) and applies the commit rule.
pub async fn report_payment(
    pt: &Arc<PosTerminal>,
    conv: Option<&mut Conversation>,
    open: &ZvtTransaction,
    sale: &Sale,
    d: &Delivery,
) -> Result<(), LinkError> {
    let result = result_code(sale, pt.deps.checkout.acquirer_online());
    let approved = result == super::rc::OK;
    let (ctx, delivery, ended) = (pt.context(&d.settings, d.tlv), *d, sale.clone());
    let store = pt.deps.checkout.store().clone();
    let kind = card_type(sale, pt.deps.config.klarna_card_type);
    let reported = pt
        .journal()
        .zvt_update(open.id, move |t| {
            t.state = if approved { ZvtState::Pending } else { ZvtState::Failed };
            (t.result, t.card_type) = (result, kind);
            t.sent = render(t, &ended, &ctx, &delivery, &ReceiptHeader::of(&store));
        })
        .await;
    let t = match reported {
        Ok(t) => t,
        Err(e) => {
            // The row stays OPEN: the next start voids the sale, if this cannot.
            tracing::error!(error = %e, "cannot journal the ZVT result; the payment is voided");
            void_sale(pt, &sale.id, &reversal_key(open)).await;
            let failed = PtMessage::Abort { result: super::rc::SYSTEM_ERROR, extended_text: None };
            return match conv {
                Some(c) => c.ask(&failed, T3).await.map(|_| ()),
                None => Ok(()),
            };
        }
    };
    let Some(conv) = conv else {
        settle_tracked(pt, &t, Taken::No).await;
        return Ok(());
    };
    let taken = deliver(conv, &t.sent, d).await;
    let gone = matches!(taken, Err(LinkError::Closed));
    let taken = taken.unwrap_or(Taken::No);
    if !approved {
        return conv.ask(&PtMessage::Abort { result, extended_text: None }, T3).await.map(|_| ());
    }
    let committed = matches!(taken, Taken::Yes(_));
    settle_tracked(pt, &t, taken).await;
    if gone {
        return Err(LinkError::Closed);
    }
    if committed {
        return conv.ask(&PtMessage::Completion(Completion::plain()), T3).await.map(|_| ());
    }
    // Reversed: the register hears so [P15 §2.2.6], then the abort.
    if let Some(status) = reversed_report(&t.sent).first()
        && let Err(LinkError::Closed) = conv.exchange(status, T3).await
    {
        return Err(LinkError::Closed);
    }
    conv.ask(&PtMessage::Abort { result: super::rc::ABORTED, extended_text: None }, T3).await.map(|_| ())
}

/// Sends the status information (again after "please wait", up to `d.repeats` times)
/// and then every receipt, each awaiting the register's acknowledgement.
async fn deliver(conv: &mut Conversation, sent: &[Vec<u8>], d: &Delivery) -> Result<Taken, LinkError> {
    let Some((status, receipts)) = sent.split_first() else { return Ok(Taken::No) };
    // A late acknowledgement of an intermediate status must not pass for this one's.
    conv.drop_answers();
    let mut waits = 0;
    let partial = loop {
        match conv.exchange(status, d.answer_timeout).await {
            Ok(EcrAnswer::Ack) => break None,
            Ok(EcrAnswer::PartialIssue { amount }) => break i64::try_from(amount).ok(),
            Ok(EcrAnswer::PleaseWait) if waits < d.repeats => {
                waits += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Ok(other) => {
                tracing::warn!(answer = ?other, "the register did not take the result");
                return Ok(Taken::No);
            }
            Err(LinkError::Timeout(_)) => {
                tracing::warn!("the register did not answer the result in time");
                return Ok(Taken::No);
            }
            Err(e) => return Err(e),
        }
    };
    for receipt in receipts {
        match conv.exchange(receipt, T3).await {
            Ok(EcrAnswer::Ack) => {}
            Ok(other) => {
                tracing::warn!(answer = ?other, "the register did not print the receipt");
                return Ok(Taken::No);
            }
            Err(LinkError::Timeout(_)) => return Ok(Taken::No),
            Err(e) => return Err(e),
        }
    }
    Ok(Taken::Yes(partial))
}

/// [`settle`] on the daemon's tasks: a stop or a dropped connection cannot cut it off
/// between the register's answer and its journal entry.
async fn settle_tracked(pt: &Arc<PosTerminal>, t: &ZvtTransaction, taken: Taken) {
    let (pt, t) = (pt.clone(), t.clone());
    let tasks = pt.deps.tasks.clone();
    let _ = tasks.spawn(async move { settle(&pt, &t, taken).await }).await;
}

/// The commit rule's outcome for approved payment `t`: captured when taken, else voided.
async fn settle(pt: &PosTerminal, t: &ZvtTransaction, taken: Taken) {
    if t.state != ZvtState::Pending {
        return;
    }
    match taken {
        Taken::Yes(partial) => {
            let committed = move |r: &mut ZvtTransaction| {
                r.state = ZvtState::Committed;
                r.amount = partial.unwrap_or(r.amount);
            };
            match pt.journal().zvt_update(t.id, committed).await {
                Ok(row) => capture(pt, &row, partial).await,
                Err(e) => {
                    tracing::error!(error = %e, "cannot journal the committed ZVT payment; the next start voids it");
                }
            }
        }
        Taken::No => reverse(pt, t).await,
    }
}

/// Captures committed payment `t` (`partial`: the goods the register issued).
async fn capture(pt: &PosTerminal, t: &ZvtTransaction, partial: Option<i64>) {
    let Some(sale_id) = &t.sale_id else { return };
    let key = format!("zvt-capture-{}", t.id);
    match pt.deps.checkout.capture(sale_id, partial, Some(key)).await {
        Ok(_) => {
            if let Err(e) = pt.journal().zvt_update(t.id, |r| r.captured = true).await {
                tracing::warn!(error = %e, "cannot journal the ZVT capture; it is asked again (same key) at the next start");
            }
        }
        Err(e) => tracing::error!(error = %e, sale_id, "the committed ZVT payment could not be captured"),
    }
}

fn reversal_key(t: &ZvtTransaction) -> String {
    format!("zvt-reversal-{}", t.id)
}

/// Voids payment `t` (the register did not take it) and journals it reversed, with its
/// report changed to `27 6C`; a void that failed leaves it for the next start.
pub(super) async fn reverse(pt: &PosTerminal, t: &ZvtTransaction) {
    let Some(sale_id) = &t.sale_id else { return };
    tracing::warn!(sale_id, receipt = t.receipt_no(), "the register did not take the payment: it is reversed");
    if !void_sale(pt, sale_id, &reversal_key(t)).await {
        return;
    }
    let reversed = |r: &mut ZvtTransaction| {
        r.sent = reversed_report(&r.sent);
        r.state = if r.result == super::rc::OK { ZvtState::Reversed } else { ZvtState::Failed };
    };
    if let Err(e) = pt.journal().zvt_update(t.id, reversed).await {
        tracing::error!(error = %e, "cannot journal the reversed ZVT payment; it is voided again (same key) at the next start");
    }
}

/// Voids sale `sale_id` under `key`; true once nothing of it is left to void.
async fn void_sale(pt: &PosTerminal, sale_id: &str, key: &str) -> bool {
    match pt.deps.checkout.void(sale_id, Some(key.to_string())).await {
        Ok(_) | Err(CheckoutError::NotApproved(_)) => true,
        Err(CheckoutError::NothingToCapture(why)) => {
            tracing::info!(sale_id, why, "nothing of the ZVT payment is left to void");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, sale_id, "the ZVT payment could not be voided; tried again at the next start");
            false
        }
    }
}

/// At start, before any register is heard: what a previous run left — a payment under
/// way (its sale canceled, or voided if it was approved meanwhile), a result the
/// register never took (voided), a committed payment not captured (captured) — each
/// under the keys it had.
pub async fn recover(pt: &Arc<PosTerminal>) {
    let journal = pt.journal();
    let (unsettled, uncaptured) = match (journal.zvt_unsettled().await, journal.zvt_uncaptured().await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot read the ZVT journal; what a previous run left is not settled");
            return;
        }
    };
    for t in uncaptured {
        capture(pt, &t, None).await;
    }
    for t in unsettled {
        let pt2 = pt.clone();
        pt.deps.tasks.spawn(async move { settle_left(&pt2, &t).await });
    }
}

/// A payment a previous run left open or pending.
async fn settle_left(pt: &PosTerminal, t: &ZvtTransaction) {
    let Some(sale_id) = t.sale_id.clone() else { return };
    if t.state == ZvtState::Open {
        let _ = pt.deps.checkout.cancel(&sale_id).await;
        loop {
            match pt.journal().sale(sale_id.clone()).await {
                Ok(sale) if sale.state.is_final() => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot read a ZVT payment's sale");
                    return;
                }
            }
            tokio::select! {
                () = pt.deps.shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }
    reverse(pt, t).await;
}
