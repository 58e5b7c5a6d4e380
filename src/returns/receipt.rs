//! The return receipt.

use crate::checkout::ReceiptHeader;
use crate::domain::ReturnRecord;
use crate::locale::{Label, Text, format_amount, label, text};
use posagent_acquirer_api::PaymentMethod;
use posagent_drivers::printer::{Align, Block, Document, TextStyle};

/// The receipt of a refunded return, with the time the return was made at the till.
pub fn return_document(r: &ReturnRecord, header: ReceiptHeader<'_>) -> Document {
    let l = r.locale.as_str();
    let money = |v: i64| format_amount(v, r.currency, l);
    let mut d = Document::default();
    header.print(&mut d, r.created_at, l);
    if let Some(cashier) = &r.cashier {
        d.columns(label(Label::Cashier, l), cashier.as_str(), false);
    }
    d.styled(label(Label::Return, l), TextStyle { bold: true, double: true }, Align::Center);
    d.push(Block::Rule);
    for line in &r.lines {
        d.columns(format!("{} x {}", line.quantity, line.name), money(-line.total_amount), false);
    }
    if !r.lines.is_empty() {
        d.push(Block::Rule);
    }
    d.columns(label(Label::Refunded, l), money(-r.amount), true);
    d.push(Block::Feed(1));
    // The tender the money goes back to: the purchase's card, or Klarna.
    match r.method {
        PaymentMethod::Card => {
            d.line(crate::checkout::card_line(r.masked_pan.as_deref()));
        }
        _ => {
            d.columns("Klarna", r.klarna_reference.clone(), false);
        }
    }
    d.columns(label(Label::OriginalPurchase, l), r.original_reference.clone(), false);
    d.columns(text(Text::Reference, l), r.reference.clone(), false);
    d.push(Block::Feed(2));
    d.push(Block::Cut);
    d
}
