//! The customer receipt of an approved sale, as an ESC/POS document.

use crate::domain::Sale;
use crate::locale::{Label, StoreTimeZone, Text, format_amount, label, text};
use posagent_acquirer_api::{CaptureMode, PaymentMethod};
use posagent_drivers::printer::{Align, Block, Document, TextStyle};

/// Who prints the receipt: the store's name, this terminal's reference, and the time
/// zone of the store's clock.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptHeader<'a> {
    /// Store name.
    pub store: &'a str,
    /// Terminal reference.
    pub terminal: &'a str,
    /// The store's time zone (receipt times are never UTC).
    pub time_zone: &'a StoreTimeZone,
    /// The store's address lines.
    pub address: &'a [String],
    /// The store's VAT or organisation number.
    pub vat_number: Option<&'a str>,
}

impl<'a> ReceiptHeader<'a> {
    /// The header of `store`'s receipts.
    pub fn of(store: &'a crate::config::StoreSection) -> Self {
        ReceiptHeader {
            store: &store.name,
            terminal: &store.terminal_reference,
            time_zone: &store.time_zone,
            address: &store.address,
            vat_number: store.vat_number.as_deref(),
        }
    }

    /// The top of a document: the store's name, address and VAT number, the time, and the
    /// terminal.
    pub fn print(&self, d: &mut Document, at: chrono::DateTime<chrono::Utc>, locale: &str) {
        d.styled(self.store, TextStyle { bold: true, double: true }, Align::Center);
        for line in self.address {
            d.styled(line.clone(), TextStyle::default(), Align::Center);
        }
        if let Some(vat) = self.vat_number {
            d.styled(format!("{} {vat}", label(Label::VatNumber, locale)), TextStyle::default(), Align::Center);
        }
        d.styled(self.time_zone.format(at), TextStyle::default(), Align::Center);
        d.columns(label(Label::Terminal, locale), self.terminal, false);
    }
}

/// Suffix of the hold tag (the sale id) under which a held merchant copy waits.
pub const MERCHANT_COPY_TAG: &str = "#merchant";

/// Whose copy a receipt is, when the store prints two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyFor {
    /// The customer's.
    Customer,
    /// The store's.
    Merchant,
}

/// `doc` marked as the customer's or the merchant's copy, under the store's name.
pub fn marked(doc: Document, copy_for: CopyFor, locale: &str) -> Document {
    let t = match copy_for {
        CopyFor::Customer => Label::CustomerCopy,
        CopyFor::Merchant => Label::MerchantCopy,
    };
    let mut blocks = doc.blocks;
    let at = usize::from(!blocks.is_empty());
    blocks.insert(
        at,
        Block::Line {
            text: label(t, locale).to_uppercase(),
            style: TextStyle { bold: true, double: false },
            align: Align::Center,
        },
    );
    Document { blocks }
}

/// The card scheme of a masked PAN, from its first digits (IIN ranges).
pub fn card_brand(masked_pan: &str) -> &'static str {
    let digits: String = masked_pan.chars().take(6).filter(char::is_ascii_digit).collect();
    let n = |len: usize| digits.get(..len).and_then(|d| d.parse::<u32>().ok()).unwrap_or(0);
    match (n(1), n(2), n(3), n(4)) {
        (4, ..) => "VISA",
        (_, 51..=55, ..) | (.., 2221..=2720) => "MASTERCARD",
        (_, 34 | 37, ..) => "AMEX",
        (.., 6011) | (_, _, 644..=649, _) | (_, 65, ..) => "DISCOVER",
        (_, 62, ..) => "UNIONPAY",
        (_, 35, ..) => "JCB",
        (_, 36 | 38 | 39, ..) | (_, _, 300..=305, _) => "DINERS",
        (_, 50 | 56..=58 | 63 | 67, ..) => "MAESTRO",
        _ => "CARD",
    }
}

/// A card as receipts show it: its scheme and last four digits (`VISA **** 1111`).
pub fn card_line(masked_pan: Option<&str>) -> String {
    let pan = masked_pan.unwrap_or("");
    let last4 = pan.get(pan.len().saturating_sub(4)..).filter(|s| !s.is_empty()).unwrap_or("????");
    format!("{} **** {last4}", card_brand(pan))
}

/// How the cardholder was verified, as the receipt says it.
fn cvm_label(cvm: &str) -> Option<Label> {
    Some(match cvm {
        "ONLINE_PIN" | "OFFLINE_PIN" => Label::PinVerified,
        "CONSUMER_DEVICE" => Label::DeviceVerified,
        "SIGNATURE" => Label::Signature,
        "NONE" => Label::NoVerification,
        _ => return None,
    })
}

/// `1200` (percent × 100) as `12 %`, `1250` as `12,5 %` / `12.5 %` (the locale's
/// CLDR decimal separator).
fn rate_text(rate: i64, locale: &str) -> String {
    let whole = rate / 100;
    let frac = (rate % 100).abs();
    if frac == 0 {
        return format!("{whole} %");
    }
    let sep = crate::locale::decimal_separator(locale);
    let frac = format!("{frac:02}");
    format!("{whole}{sep}{} %", frac.trim_end_matches('0'))
}

/// The receipt of `sale`; a reprint is marked COPY.
pub fn receipt_document(sale: &Sale, header: ReceiptHeader<'_>, copy: bool) -> Document {
    let l = sale.locale.as_str();
    let mut d = Document::default();
    let copy_mark = format!("*** {} ***", label(Label::Copy, l));
    if copy {
        d.styled(copy_mark.clone(), TextStyle { bold: true, double: false }, Align::Center);
    }
    // The time of the purchase, on copies too (not of a later capture or return).
    header.print(&mut d, sale.approved_at.unwrap_or(sale.created_at), l);
    if let Some(cashier) = &sale.cashier {
        d.columns(label(Label::Cashier, l), cashier.as_str(), false);
    }
    d.push(Block::Rule);
    order_lines_and_tax(&mut d, sale);
    d.push(Block::Feed(1));
    // What was done and its result: captured at once, or an amount reserved for the
    // register to capture later.
    let later = sale.capture == CaptureMode::Later && !sale.capture_on_commit;
    let result = if later { Label::ResultAuthorized } else { Label::ResultApproved };
    d.columns(label(Label::Purchase, l), label(result, l), true);
    match sale.method {
        PaymentMethod::Card => card_payment_lines(&mut d, sale),
        _ => {
            d.styled(label(Label::PaidWithKlarna, l), TextStyle { bold: true, double: false }, Align::Left);
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

/// The order lines, the total and the tax per rate (as the order lines carry it:
/// Klarna's total_tax_amount).
fn order_lines_and_tax(d: &mut Document, sale: &Sale) {
    let l = sale.locale.as_str();
    let money = |v: i64| format_amount(v, sale.currency, l);
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
    let mut rates: Vec<(i64, i64)> = vec![];
    for line in &sale.order_lines {
        let (Some(rate), Some(tax)) = (line.tax_rate, line.total_tax_amount) else { continue };
        match rates.iter_mut().find(|(r, _)| *r == rate) {
            Some((_, t)) => *t += tax,
            None => rates.push((rate, tax)),
        }
    }
    rates.sort_unstable();
    for (rate, tax) in rates {
        d.columns(format!("{} {}", label(Label::Tax, l), rate_text(rate, l)), money(tax), false);
    }
}

/// What the receipt says of a card payment: the card, how it was read and verified,
/// the authorization code, and whether the terminal approved it offline.
fn card_payment_lines(d: &mut Document, sale: &Sale) {
    let l = sale.locale.as_str();
    d.styled(label(Label::PaidByCard, l), TextStyle { bold: true, double: false }, Align::Left);
    d.columns(card_line(sale.masked_pan.as_deref()), sale.entry_mode.clone().unwrap_or_default(), false);
    if let Some(name) = &sale.application_label {
        d.line(name.clone());
    }
    if let Some(aid) = &sale.aid {
        d.line(format!("AID {aid}"));
    }
    if let Some(code) = &sale.authorization_code {
        d.columns(label(Label::AuthorizationCode, l), code.clone(), false);
    }
    if let Some(cvm) = sale.cvm.as_deref().and_then(cvm_label) {
        d.line(label(cvm, l));
    }
    if sale.offline.is_some() {
        d.styled(label(Label::ApprovedOffline, l), TextStyle { bold: true, double: false }, Align::Left);
    }
}

/// What a capture or void did, for its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostPurchaseKind {
    /// `amount` captured.
    Capture(i64),
    /// The rest of the authorization released.
    Release,
}

/// The receipt of a capture or a void of a capture-later sale, made at `at`: what was
/// authorized, captured (by this capture, and in all) and released; marked when it still
/// waits for the acquirer.
pub fn post_purchase_document(
    sale: &Sale,
    (header, at): (ReceiptHeader<'_>, chrono::DateTime<chrono::Utc>),
    kind: PostPurchaseKind,
    queued: bool,
) -> Document {
    let l = sale.locale.as_str();
    let money = |v: i64| format_amount(v, sale.currency, l);
    let mut d = Document::default();
    header.print(&mut d, at, l);
    d.push(Block::Rule);
    let title = match kind {
        PostPurchaseKind::Capture(_) => Label::Capture,
        PostPurchaseKind::Release => Label::Release,
    };
    d.styled(label(title, l), TextStyle { bold: true, double: false }, Align::Center);
    d.columns(text(Text::Reference, l), sale.reference.clone(), false);
    d.columns(label(Label::Authorized, l), money(sale.amount), false);
    let captured = sale.captured_amount + sale.queued_capture_amount;
    match kind {
        PostPurchaseKind::Capture(amount) => {
            d.columns(label(Label::Captured, l), money(amount), true);
            if captured != amount {
                d.columns(format!("{} ({})", label(Label::Captured, l), text(Text::Total, l)), money(captured), false);
            }
        }
        PostPurchaseKind::Release => {
            d.columns(label(Label::Captured, l), money(captured), false);
            d.columns(label(Label::Released, l), money(sale.amount - captured), true);
        }
    }
    if queued {
        d.line(label(Label::QueuedForAcquirer, l));
    }
    d.push(Block::Feed(2));
    d.push(Block::Cut);
    d
}

/// The receipt of a declined card payment: what was tried, with which card, and why.
pub fn declined_document(sale: &Sale, header: ReceiptHeader<'_>) -> Document {
    let l = sale.locale.as_str();
    let mut d = Document::default();
    header.print(&mut d, sale.updated_at, l);
    d.push(Block::Rule);
    d.styled(text(Text::Declined, l), TextStyle { bold: true, double: false }, Align::Center);
    d.columns(text(Text::Total, l), format_amount(sale.amount, sale.currency, l), true);
    if sale.masked_pan.is_some() {
        d.columns(card_line(sale.masked_pan.as_deref()), sale.entry_mode.clone().unwrap_or_default(), false);
    }
    if let Some(code) = sale.reason.as_deref() {
        match crate::locale::decline_reason(code) {
            Some(t) => d.line(text(t, l)),
            None => d.line(code.to_string()),
        };
    }
    d.columns(text(Text::Reference, l), sale.reference.clone(), false);
    d.push(Block::Feed(2));
    d.push(Block::Cut);
    d
}

/// The slip with the Klarna QR code, printed for the customer to scan on terminals whose
/// display cannot show it (a 2×20 line display). `None` without Klarna's wording or a URL.
pub fn qr_slip_document(sale: &Sale, store_name: &str) -> Option<Document> {
    let d = sale.payment_option.as_ref()?;
    let url = sale.payment_request_url.clone()?;
    let l = sale.locale.as_str();
    let mut doc = Document::default();
    doc.styled(store_name, TextStyle { bold: true, double: false }, Align::Center);
    doc.push(Block::Rule);
    doc.styled(d.header.text.clone(), TextStyle { bold: true, double: false }, Align::Center);
    doc.styled(format_amount(sale.amount, sale.currency, l), TextStyle { bold: true, double: true }, Align::Center);
    doc.styled(text(Text::ScanWithCamera, l), TextStyle::default(), Align::Center);
    doc.push(Block::Qr { data: url, module_dots: 8 });
    // Klarna's offer for the amount, as Klarna served it.
    if let Some(offer) = d.offer() {
        doc.styled(offer.to_string(), TextStyle::default(), Align::Center);
    }
    doc.columns(text(Text::Reference, l), sale.reference.clone(), false);
    doc.push(Block::Feed(2));
    doc.push(Block::Cut);
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands_and_rates() {
        assert_eq!(card_brand("411111******1111"), "VISA");
        assert_eq!(card_brand("541333******4111"), "MASTERCARD");
        assert_eq!(card_brand("222100******0009"), "MASTERCARD");
        assert_eq!(card_brand("378282*****0005"), "AMEX");
        assert_eq!(card_brand("675964******1234"), "MAESTRO");
        assert_eq!(card_brand("601100******0004"), "DISCOVER");
        assert_eq!(card_brand("620000******0004"), "UNIONPAY");
        assert_eq!(card_brand("353011******0000"), "JCB");
        assert_eq!(card_brand("305693******5904"), "DINERS");
        assert_eq!(card_brand(""), "CARD");
        assert_eq!(rate_text(1200, "sv-SE"), "12 %");
        assert_eq!(rate_text(1250, "de-DE"), "12,5 %");
        assert_eq!(rate_text(725, "en-US"), "7.25 %");
    }
}
