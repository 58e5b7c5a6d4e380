//! A transaction's result to the register and ZVT's commit rule [P15 §2.2.8]: the result
//! is journaled (with its receipt and trace numbers) before it is sent; an approved
//! payment counts — is captured — only once the register acknowledged the status
//! information and every receipt; otherwise it is voided, exactly once (the keys come
//! from the journaled row), also when the daemon stopped in between.

use super::PosTerminal;
use super::link::{Conversation, LinkError, T3};
use super::receipt::{ReceiptKind, print_commands};
use super::report::{ReportContext, card_type, result_code, status_information};
use super::session::RegisterSettings;
use crate::checkout::{CopyFor, ReceiptHeader, declined_document, marked, receipt_document};
use crate::domain::{NewZvtTransaction, Sale, SaleState, ZvtKind, ZvtState, ZvtTransaction};
use posagent_acquirer_api::CaptureMode;
use posagent_zvt::{Completion, EcrAnswer, PtMessage};
use std::time::Duration;

/// How the register takes a result (its registration, and BMP 01/02 of the command).
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// What its registration set.
    pub settings: RegisterSettings,
    /// How long it may take to answer the status information (BMP 01; 30 s).
    pub answer_timeout: Duration,
    /// How often "please wait" (84 9C) may put the status information off (BMP 02; 3).
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
    pub(super) fn context(&self, settings: &RegisterSettings) -> ReportContext {
        let store = self.deps.checkout.store();
        ReportContext {
            terminal_id: self.deps.config.terminal_id_number(),
            currency: settings.currency_sent.then(|| self.currency_code()),
            clock: store.time_zone.clock(chrono::Utc::now()),
        }
    }
}

/// The APDUs that report `sale`'s end as transaction `t`: the status information and,
/// when the register prints from print commands, its receipts.
fn render(
    t: &ZvtTransaction,
    sale: &Sale,
    ctx: &ReportContext,
    d: &Delivery,
    header: &ReceiptHeader<'_>,
) -> Vec<Vec<u8>> {
    let mut sent = vec![];
    if let Ok(apdu) = PtMessage::StatusInformation(status_information(t, sale, ctx)).to_apdu() {
        sent.push(apdu.encode());
    }
    if !d.settings.receipts_to_register() {
        return sent;
    }
    let docs = match sale.state {
        SaleState::Approved => {
            // Captured once the register takes it: its receipt says paid, not authorized.
            let mut paid = sale.clone();
            paid.capture = CaptureMode::Now;
            let doc = receipt_document(&paid, *header, false);
            let locale = &sale.locale;
            vec![
                (marked(doc.clone(), CopyFor::Merchant, locale), ReceiptKind::Merchant),
                (marked(doc, CopyFor::Customer, locale), ReceiptKind::Customer),
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

/// Reports the end of payment `sale` to the register (`conv`; `None`: it went away) and
/// applies the commit rule.
pub async fn report_payment(
    pt: &PosTerminal,
    conv: Option<&mut Conversation>,
    sale: &Sale,
    d: &Delivery,
) -> Result<(), LinkError> {
    let result = result_code(sale, pt.deps.checkout.acquirer_online());
    let approved = result == super::rc::OK;
    let new = NewZvtTransaction {
        kind: ZvtKind::Payment,
        state: if approved { ZvtState::Pending } else { ZvtState::Failed },
        sale_id: Some(sale.id.clone()),
        return_id: None,
        reverses: None,
        amount: sale.amount,
        currency: sale.currency,
        card_type: card_type(sale, pt.deps.config.klarna_card_type),
        result,
    };
    let (ctx, delivery, paid) = (pt.context(&d.settings), *d, sale.clone());
    let store = pt.deps.checkout.store().clone();
    let t = match pt
        .journal()
        .zvt_record(new, move |t| render(t, &paid, &ctx, &delivery, &ReceiptHeader::of(&store)))
        .await
    {
        Ok(t) => t,
        Err(e) => {
            // Nothing journaled, nothing may count: the approval is released.
            tracing::error!(error = %e, "cannot journal the ZVT result; the payment is voided");
            void_sale(pt, &sale.id, &format!("zvt-unjournaled-{}", sale.id)).await;
            return match conv {
                Some(c) => c
                    .ask(&PtMessage::Abort { result: super::rc::SYSTEM_ERROR, extended_text: None }, T3)
                    .await
                    .map(|_| ()),
                None => Ok(()),
            };
        }
    };
    let Some(conv) = conv else {
        return settle(pt, &t, Taken::No).await;
    };
    let taken = deliver(conv, &t.sent, d).await;
    let gone = matches!(taken, Err(LinkError::Closed));
    let taken = taken.unwrap_or(Taken::No);
    if !approved {
        return conv.ask(&PtMessage::Abort { result, extended_text: None }, T3).await.map(|_| ());
    }
    let committed = matches!(taken, Taken::Yes(_));
    settle(pt, &t, taken).await?;
    if gone {
        return Err(LinkError::Closed);
    }
    let end = if committed {
        PtMessage::Completion(Completion::plain())
    } else {
        PtMessage::Abort { result: super::rc::ABORTED, extended_text: None }
    };
    conv.ask(&end, T3).await.map(|_| ())
}

/// Sends the status information (again after "please wait", up to `d.repeats` times)
/// and then every receipt, each awaiting the register's acknowledgement.
async fn deliver(conv: &mut Conversation, sent: &[Vec<u8>], d: &Delivery) -> Result<Taken, LinkError> {
    let Some((status, receipts)) = sent.split_first() else { return Ok(Taken::No) };
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

/// The commit rule's outcome for approved payment `t`: captured when taken, else voided.
async fn settle(pt: &PosTerminal, t: &ZvtTransaction, taken: Taken) -> Result<(), LinkError> {
    if t.state != ZvtState::Pending {
        return Ok(());
    }
    let journal = pt.journal();
    match taken {
        Taken::Yes(partial) => {
            if let Err(e) = journal.zvt_update(t.id, |r| r.state = ZvtState::Committed).await {
                tracing::error!(error = %e, "cannot journal the committed ZVT payment; it is captured at the next start");
                return Ok(());
            }
            capture(pt, t, partial).await;
        }
        Taken::No => reverse(pt, t).await,
    }
    Ok(())
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

/// Voids payment `t`: the register did not take it.
async fn reverse(pt: &PosTerminal, t: &ZvtTransaction) {
    let Some(sale_id) = &t.sale_id else { return };
    tracing::warn!(sale_id, receipt = t.receipt_no(), "the register did not take the payment: it is reversed");
    void_sale(pt, sale_id, &format!("zvt-reversal-{}", t.id)).await;
    if let Err(e) = pt.journal().zvt_update(t.id, |r| r.state = ZvtState::Reversed).await {
        tracing::error!(error = %e, "cannot journal the reversed ZVT payment; it is voided again (same key) at the next start");
    }
}

async fn void_sale(pt: &PosTerminal, sale_id: &str, key: &str) {
    if let Err(e) = pt.deps.checkout.void(sale_id, Some(key.to_string())).await {
        tracing::error!(error = %e, sale_id, "the ZVT payment could not be voided");
    }
}

/// At start: the payments a previous run left with the register's answer outstanding are
/// voided; those committed but not captured are captured (same keys as before).
pub async fn recover(pt: &PosTerminal) {
    let pending = match pt.journal().zvt_pending().await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the ZVT journal; payments left uncommitted are not reversed");
            return;
        }
    };
    for t in pending {
        reverse(pt, &t).await;
    }
    match pt.journal().zvt_uncaptured().await {
        Ok(rows) => {
            for t in rows {
                capture(pt, &t, None).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the ZVT journal's committed payments"),
    }
}
