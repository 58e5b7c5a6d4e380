//! The customer receipt of an approved sale, as an ESC/POS document.

use super::sale::Sale;
use crate::locale::{Text, format_amount, text};
use posagent_acquirer_api::PaymentMethod;
use posagent_drivers::printer::{Align, Block, Document, TextStyle};

/// The receipt of `sale` for a store called `store_name`; a reprint is marked COPY.
pub fn receipt_document(sale: &Sale, store_name: &str, copy: bool) -> Document {
    let l = sale.locale.as_str();
    let money = |v: i64| format_amount(v, sale.currency, l);
    let mut d = Document::default();
    let copy_mark = format!("*** {} ***", text(Text::Copy, l));
    if copy {
        d.styled(copy_mark.clone(), TextStyle { bold: true, double: false }, Align::Center);
    }
    d.styled(store_name, TextStyle { bold: true, double: true }, Align::Center);
    d.styled(sale.updated_at.format("%Y-%m-%d %H:%M").to_string(), TextStyle::default(), Align::Center);
    d.push(Block::Rule);
    for line in &sale.order_lines {
        d.columns(line.name.clone(), money(line.total_amount), false);
        if line.quantity != 1 || line.total_discount_amount != 0 {
            let mut detail = format!("  {} x {}", line.quantity, money(line.unit_price));
            if line.total_discount_amount != 0 {
                detail.push_str(&format!(" - {}", money(line.total_discount_amount)));
            }
            d.line(detail);
        }
    }
    if !sale.order_lines.is_empty() {
        d.push(Block::Rule);
    }
    d.columns(text(Text::Total, l), money(sale.amount), true);
    d.push(Block::Feed(1));
    match sale.method {
        PaymentMethod::Card => {
            d.styled(text(Text::PaidByCard, l), TextStyle { bold: true, double: false }, Align::Left);
            let last4 = sale.masked_pan.as_deref().map(|p| &p[p.len().saturating_sub(4)..]).unwrap_or("????");
            d.columns(format!("**** {last4}"), sale.entry_mode.clone().unwrap_or_default(), false);
            if sale.offline.is_some() {
                d.styled(text(Text::ApprovedOffline, l), TextStyle { bold: true, double: false }, Align::Left);
            }
        }
        _ => {
            d.styled(text(Text::PaidWithKlarna, l), TextStyle { bold: true, double: false }, Align::Left);
            if let Some(k) = &sale.klarna_reference {
                d.columns("Klarna", k.clone(), false);
            }
        }
    }
    if let Some(t) = &sale.payment_transaction_id {
        d.line(t.clone());
    }
    d.columns(text(Text::Reference, l), sale.reference.clone(), false);
    d.push(Block::Qr { data: sale.reference.clone(), module_dots: 6 });
    d.styled(text(Text::ThankYou, l), TextStyle::default(), Align::Center);
    if copy {
        d.styled(copy_mark, TextStyle { bold: true, double: false }, Align::Center);
    }
    d.push(Block::Feed(2));
    d.push(Block::Cut);
    d
}

/// The slip with the Klarna QR code, printed for the customer to scan on terminals whose
/// display cannot show it (a 2×20 line display). `None` without Klarna's wording or a URL.
pub fn qr_slip_document(sale: &Sale, store_name: &str) -> Option<Document> {
    let d = sale.descriptors.as_ref()?;
    let url = sale.payment_request_url.clone()?;
    let l = sale.locale.as_str();
    let mut doc = Document::default();
    doc.styled(store_name, TextStyle { bold: true, double: false }, Align::Center);
    doc.push(Block::Rule);
    doc.styled(d.header.clone(), TextStyle { bold: true, double: false }, Align::Center);
    doc.styled(format_amount(sale.amount, sale.currency, l), TextStyle { bold: true, double: true }, Align::Center);
    doc.styled(d.scan_instruction.clone(), TextStyle::default(), Align::Center);
    doc.push(Block::Qr { data: url, module_dots: 8 });
    if let Some(offer) = &d.instalments {
        let text = crate::locale::instalments::offer_text(offer, sale.amount, sale.currency, l);
        doc.styled(text, TextStyle::default(), Align::Center);
    }
    doc.columns(text(Text::Reference, l), sale.reference.clone(), false);
    doc.push(Block::Feed(2));
    doc.push(Block::Cut);
    Some(doc)
}
