//! The return receipt.

use super::ReturnRecord;
use crate::locale::{StoreTimeZone, Text, format_amount, text};
use posagent_drivers::printer::{Align, Block, Document, TextStyle};

/// The receipt of a refunded return, with the time the return was made at the till.
pub fn return_document(r: &ReturnRecord, store_name: &str, time_zone: &StoreTimeZone) -> Document {
    let l = r.locale.as_str();
    let money = |v: i64| format_amount(v, r.currency, l);
    let mut d = Document::default();
    d.styled(store_name, TextStyle { bold: true, double: true }, Align::Center);
    d.styled(text(Text::Return, l), TextStyle { bold: true, double: true }, Align::Center);
    d.styled(time_zone.format(r.created_at), TextStyle::default(), Align::Center);
    d.push(Block::Rule);
    for line in &r.lines {
        d.columns(format!("{} x {}", line.quantity, line.name), money(-line.total_amount), false);
    }
    if !r.lines.is_empty() {
        d.push(Block::Rule);
    }
    d.columns(text(Text::Refunded, l), money(-r.amount), true);
    d.push(Block::Feed(1));
    d.columns("Klarna", r.klarna_reference.clone(), false);
    d.columns(text(Text::OriginalPurchase, l), r.original_reference.clone(), false);
    d.columns(text(Text::Reference, l), r.reference.clone(), false);
    d.push(Block::Feed(2));
    d.push(Block::Cut);
    d
}
