//! The register's other commands: Reversal (06 30) of a payment by its receipt number,
//! Refund (06 31) of a purchase the register names in BMP 3C, End-of-Day (06 50) with
//! the totals per card type, and Repeat Receipt (06 20).

use super::link::{Conversation, LinkError, T3};
use super::receipt::{ReceiptKind, print_commands};
use super::report::status_information;
use super::{PosTerminal, rc};
use crate::domain::{NewZvtTransaction, ZvtDayTotals, ZvtKind, ZvtState, ZvtTransaction, receipt_number_of};
use crate::locale::format_amount;
use crate::returns::{NewReturn, ReturnError};
use posagent_drivers::printer::{Align, Block, Document, TextStyle};
use posagent_zvt::{Completion, EndOfDayTotals, PtMessage, Refund, Reversal, StatusInformation};

async fn fail(conv: &mut Conversation, result: u8, why: &str) -> Result<(), LinkError> {
    tracing::info!(result = format!("{result:02X}"), why, "a ZVT command refused");
    conv.ask(&PtMessage::Abort { result, extended_text: None }, T3).await.map(|_| ())
}

/// Journals the result of a reversal or refund (committed: the money already moved),
/// sends it and the completion; `journaled` is told the row's id first.
async fn report(
    pt: &PosTerminal,
    conv: &mut Conversation,
    new: NewZvtTransaction,
    journaled: impl AsyncFnOnce(i64),
) -> Result<(), LinkError> {
    let settings = *pt.settings.lock().await;
    let ctx = pt.context(&settings, settings.tlv);
    let sale = match &new.sale_id {
        Some(id) => pt.journal().sale(id.clone()).await.ok(),
        None => None,
    };
    let rendered = pt
        .journal()
        .zvt_record(new, move |t| {
            let info = match &sale {
                Some(s) => status_information(t, s, &ctx),
                None => StatusInformation::default(),
            };
            PtMessage::StatusInformation(info).to_apdu().map(|a| vec![a.encode()]).unwrap_or_default()
        })
        .await;
    let t = match rendered {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot journal the ZVT result");
            return fail(conv, rc::SYSTEM_ERROR, "journal").await;
        }
    };
    journaled(t.id).await;
    for apdu in &t.sent {
        conv.exchange(apdu, T3).await?;
    }
    conv.ask(&PtMessage::Completion(Completion::plain()), T3).await.map(|_| ())
}

/// Reversal (06 30): the payment with that receipt number, voided while nothing is
/// captured, else refunded in full.
pub async fn reversal(pt: &PosTerminal, conv: &mut Conversation, r: Reversal) -> Result<(), LinkError> {
    conv.send(&PtMessage::Ack).await?;
    let found = pt.journal().zvt_by_receipt(r.receipt_no).await.ok().flatten().filter(|t| t.kind == ZvtKind::Payment);
    let Some(paid) = found else { return fail(conv, rc::REVERSAL_NOT_POSSIBLE, "no payment with that receipt").await };
    if r.currency.is_some_and(|cc| cc != pt.currency_code()) {
        return fail(conv, rc::WRONG_CURRENCY, "another currency").await;
    }
    if paid.state == ZvtState::Reversed || paid.reversed_by.is_some() {
        return fail(conv, rc::ALREADY_REVERSED, "already reversed").await;
    }
    let amount_differs = r.amount.is_some_and(|a| i64::try_from(a).ok() != Some(paid.amount));
    if paid.state != ZvtState::Committed || amount_differs {
        return fail(conv, rc::REVERSAL_NOT_POSSIBLE, "not a committed payment of that amount").await;
    }
    let Some(sale_id) = paid.sale_id.clone() else { return fail(conv, rc::REVERSAL_NOT_POSSIBLE, "no sale").await };
    if let Err(why) = undo(pt, &paid, &sale_id).await {
        return fail(conv, why, "the acquirer refused").await;
    }
    let new = NewZvtTransaction {
        kind: ZvtKind::Reversal,
        state: ZvtState::Committed,
        sale_id: Some(sale_id),
        return_id: None,
        reverses: Some((paid.id, paid.receipt_no(), paid.trace_no())),
        amount: paid.amount,
        currency: paid.currency,
        card_type: paid.card_type,
        result: rc::OK,
    };
    let journal = pt.journal();
    let mark = async |by: i64| {
        let reversed = move |t: &mut ZvtTransaction| {
            t.state = ZvtState::Reversed;
            t.reversed_by = Some(by);
        };
        if let Err(e) = journal.zvt_update(paid.id, reversed).await {
            tracing::error!(error = %e, "cannot journal the reversed payment's row");
        }
    };
    report(pt, conv, new, mark).await
}

/// The receipt number a register mirrors in TLV 1F1F of a transaction command [P15 §4.2]
/// (binary; empty: it has none yet).
pub fn mirrored_receipt(tlv: Option<&posagent_zvt::TlvContainer>) -> Option<u16> {
    let bytes = tlv?.find_bytes(0x1F1F)?;
    if bytes.is_empty() || bytes.len() > 2 {
        return None;
    }
    Some(bytes.iter().fold(0u16, |n, b| (n << 8) | u16::from(*b)))
}

/// Resynchronisation by TLV 1F1F [P15 §4.2]: a register that mirrors the receipt number
/// before the PT's last transaction never took that one's result — it is reversed (as
/// an auto-reversal: the day counts nothing of it). Any other number changes nothing.
pub async fn resynchronise(pt: &PosTerminal, mirrored: Option<u16>) {
    let Some(mirrored) = mirrored else { return };
    let Ok(Some(last)) = pt.journal().zvt_last().await else { return };
    let before_last = if last.receipt_no() == 1 { 9999 } else { last.receipt_no() - 1 };
    if mirrored != before_last || last.kind != ZvtKind::Payment || last.state != ZvtState::Committed {
        return;
    }
    let Some(sale_id) = last.sale_id.clone() else { return };
    tracing::warn!(
        receipt = last.receipt_no(),
        "the register mirrors the receipt before the last: the last payment is reversed (1F1F)"
    );
    if undo(pt, &last, &sale_id).await.is_ok() {
        let reversed = |t: &mut ZvtTransaction| t.state = ZvtState::Reversed;
        if let Err(e) = pt.journal().zvt_update(last.id, reversed).await {
            tracing::error!(error = %e, "cannot journal the payment reversed by 1F1F");
        }
    }
}

/// Gives the money of committed payment `paid` back: a void while nothing is captured,
/// else a refund of it all (keys from the payment's row: asked twice, done once).
async fn undo(pt: &PosTerminal, paid: &ZvtTransaction, sale_id: &str) -> Result<(), u8> {
    let sale = pt.journal().sale(sale_id.to_string()).await.map_err(|_| rc::SYSTEM_ERROR)?;
    if sale.captured_amount + sale.queued_capture_amount == 0 {
        let key = format!("zvt-reverse-{}", paid.id);
        return pt.deps.checkout.void(sale_id, Some(key)).await.map(|_| ()).map_err(|e| {
            tracing::warn!(error = %e, "the ZVT reversal's void failed");
            rc::REVERSAL_NOT_POSSIBLE
        });
    }
    let request = NewReturn {
        original_reference: sale.reference.clone(),
        reference: Some(format!("ZVT-REVERSAL-{}", paid.id)),
        lines: vec![],
        amount: Some(paid.amount),
    };
    pt.deps.returns.create(request).await.map(|_| ()).map_err(|e| refund_code(&e))
}

fn refund_code(e: &ReturnError) -> u8 {
    tracing::warn!(error = %e, "a ZVT refund was refused");
    match e {
        ReturnError::Offline(_) => rc::NO_CONNECTION,
        _ => rc::REVERSAL_NOT_POSSIBLE,
    }
}

/// The purchase BMP 3C names: `R` and a receipt number, or a sale reference.
async fn purchase_reference(pt: &PosTerminal, named: &str) -> Option<String> {
    let named = named.trim();
    if let Some(digits) = named.strip_prefix('R').filter(|d| d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit())) {
        let receipt: u16 = digits.parse().ok()?;
        let paid = pt.journal().zvt_by_receipt(receipt).await.ok()??;
        if paid.kind != ZvtKind::Payment {
            return None;
        }
        return Some(pt.journal().sale(paid.sale_id?).await.ok()?.reference);
    }
    (!named.is_empty()).then(|| named.to_string())
}

/// Refund (06 31): a return of BMP 04's amount against the purchase BMP 3C names.
pub async fn refund(pt: &PosTerminal, conv: &mut Conversation, r: Refund) -> Result<(), LinkError> {
    conv.send(&PtMessage::Ack).await?;
    if r.currency.is_some_and(|cc| cc != pt.currency_code()) {
        return fail(conv, rc::WRONG_CURRENCY, "another currency").await;
    }
    let Some(named) = r.additional_data.as_deref() else {
        return fail(conv, rc::FUNCTION_NOT_POSSIBLE, "a refund needs the purchase's reference in BMP 3C").await;
    };
    let Some(reference) = purchase_reference(pt, named).await else {
        return fail(conv, rc::REVERSAL_NOT_POSSIBLE, "BMP 3C names no purchase").await;
    };
    let Some(amount) = r.amount.and_then(|a| i64::try_from(a).ok()).filter(|a| *a >= 1) else {
        return fail(conv, rc::REVERSAL_NOT_POSSIBLE, "a refund needs its amount (BMP 04)").await;
    };
    let request =
        NewReturn { original_reference: reference.clone(), reference: None, lines: vec![], amount: Some(amount) };
    let record = match pt.deps.returns.create(request).await {
        Ok((record, _)) => record,
        Err(e) => return fail(conv, refund_code(&e), "refused").await,
    };
    let sale = pt.journal().sale(reference).await.ok();
    let new = NewZvtTransaction {
        kind: ZvtKind::Refund,
        state: ZvtState::Committed,
        sale_id: sale.as_ref().map(|s| s.id.clone()),
        return_id: Some(record.id.clone()),
        reverses: None,
        amount,
        currency: pt.deps.checkout.store().currency,
        card_type: sale.as_ref().and_then(|s| super::report::card_type(s, pt.deps.config.klarna_card_type)),
        result: rc::OK,
    };
    report(pt, conv, new, async |_| {}).await
}

/// BMP 60's totals of `day`.
fn totals(day: &ZvtDayTotals) -> EndOfDayTotals {
    let (from, to) = day.receipts.unwrap_or((0, 0));
    let mut buckets = [(0u8, 0u64); 7];
    for (slot, (count, total)) in buckets.iter_mut().zip(day.buckets) {
        *slot = (u8::try_from(count).unwrap_or(u8::MAX), u64::try_from(total).unwrap_or(0));
    }
    EndOfDayTotals { receipt_from: from, receipt_to: to, buckets }
}

/// End-of-Day (06 50): closes the ZVT day and reports its totals.
pub async fn end_of_day(pt: &PosTerminal, conv: &mut Conversation) -> Result<(), LinkError> {
    conv.send(&PtMessage::Ack).await?;
    let day = match pt.journal().zvt_close_day().await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot close the ZVT day");
            return fail(conv, rc::SYSTEM_ERROR, "journal").await;
        }
    };
    let (month, d, hour, minute, second) = pt.deps.checkout.store().time_zone.clock(day.closed_at);
    let sum: i64 = day.buckets.iter().map(|b| b.1).sum();
    let info = StatusInformation {
        result: rc::OK,
        amount: u64::try_from(sum).ok(),
        trace: day.receipts.map(|(_, to)| u32::from(to)).or(Some(0)),
        time: Some((hour, minute, second)),
        date: Some((month, d)),
        end_of_day: Some(totals(&day)),
        ..StatusInformation::default()
    };
    conv.ask(&PtMessage::StatusInformation(info), T3).await?;
    let settings = *pt.settings.lock().await;
    if settings.admin_receipts_to_register() {
        let doc = day_receipt(pt, &day);
        for m in print_commands(&doc, ReceiptKind::Admin, settings.width(), settings.text_blocks) {
            conv.ask(&m, T3).await?;
        }
    }
    conv.ask(&PtMessage::Completion(Completion::plain()), T3).await.map(|_| ())
}

/// The end of day's admin receipt: the terminal, the time, the receipt numbers and the
/// totals per card type, as the register prints it.
fn day_receipt(pt: &PosTerminal, day: &ZvtDayTotals) -> Document {
    const BUCKETS: [&str; 7] = ["girocard", "JCB", "Mastercard", "American Express", "VISA", "Diners", "Klarna/others"];
    let store = pt.deps.checkout.store();
    let money = |minor: i64| format_amount(minor, store.currency, &store.locale);
    let mut doc = Document::default();
    doc.styled("End of day", TextStyle { bold: true, double: true }, Align::Center);
    doc.line(store.name.clone());
    doc.columns("TID", pt.deps.config.terminal_id.clone(), false);
    doc.columns("Date", store.time_zone.format(day.closed_at), false);
    if let Some((from, to)) = day.receipts {
        doc.columns("Receipts", format!("{from:04}-{to:04}"), false);
    }
    doc.blocks.push(Block::Rule);
    for (name, (count, total)) in BUCKETS.iter().zip(day.buckets) {
        if count > 0 || total != 0 {
            doc.columns(format!("{name} ({count})"), money(total), false);
        }
    }
    doc.blocks.push(Block::Rule);
    doc.columns("Total", money(day.buckets.iter().map(|b| b.1).sum()), true);
    doc
}

/// Repeat Receipt (06 20): the last transaction's status information and receipts again.
pub async fn repeat_receipt(pt: &PosTerminal, conv: &mut Conversation) -> Result<(), LinkError> {
    conv.send(&PtMessage::Ack).await?;
    let Ok(Some(last)) = pt.journal().zvt_last().await else {
        return fail(conv, rc::FUNCTION_NOT_POSSIBLE, "no transaction yet").await;
    };
    tracing::info!(receipt = receipt_number_of(last.id), "ZVT repeat receipt");
    for apdu in &last.sent {
        conv.exchange(apdu, T3).await?;
    }
    conv.ask(&PtMessage::Completion(Completion::plain()), T3).await.map(|_| ())
}
