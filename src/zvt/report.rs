//! What the register is told about a transaction: the result code of a sale's end, the
//! ZVT card-type id of its means of payment, and the status information (04 0F) with
//! the fields docs/zvt.md lists — no card data beyond the masked PAN.

use super::rc;
use crate::domain::{Sale, SaleState, ZvtTransaction};
use posagent_acquirer_api::PaymentMethod;
use posagent_zvt::{StatusInformation, TlvContainer, TlvObject, TlvValue};

/// What the status information needs besides the sale and its journaled transaction.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The terminal id.
    pub terminal_id: u32,
    /// The currency, sent back when the register sent one.
    pub currency: Option<u16>,
    /// The store's clock at the transaction: (month, day, hour, minute, second).
    pub clock: (u8, u8, u8, u8, u8),
    /// TLV containers may be sent (the register sent one) [P15 §9.2.2].
    pub tlv: bool,
}

/// The result code of a sale that ended in `sale.state` (`acquirer_online`: whether the
/// acquirer answered lately, telling a failure apart from no connection).
pub fn result_code(sale: &Sale, acquirer_online: bool) -> u8 {
    match sale.state {
        SaleState::Approved => rc::OK,
        SaleState::Declined => rc::DECLINED,
        SaleState::Canceled | SaleState::Expired => rc::ABORTED,
        SaleState::Unavailable => rc::METHOD_NOT_SUPPORTED,
        SaleState::Failed if !acquirer_online => rc::NO_CONNECTION,
        _ => rc::SYSTEM_ERROR,
    }
}

/// The ZVT card-type id [PA00P015 §12] of a card by its application id (AID).
pub fn card_type_of_aid(aid: &str) -> Option<u16> {
    let aid = aid.to_ascii_uppercase();
    let by_prefix: &[(&str, u16)] = &[
        ("A0000003591010028001", 5), // girocard
        ("A0000000032020", 13),      // V PAY
        ("A0000000032010", 11),      // VISA electron
        ("A000000003", 10),          // Visa
        ("A0000000043060", 46),      // Maestro
        ("A000000004", 6),           // Mastercard
        ("A000000025", 8),           // American Express
        ("A000000152", 12),          // Diners / Discover
        ("A000000065", 14),          // JCB
    ];
    by_prefix.iter().find(|(prefix, _)| aid.starts_with(prefix)).map(|(_, id)| *id)
}

/// The card-type id reported for `sale`.
pub fn card_type(sale: &Sale, klarna_card_type: u16) -> Option<u16> {
    match sale.method {
        PaymentMethod::Klarna => Some(klarna_card_type),
        _ => sale.aid.as_deref().and_then(card_type_of_aid),
    }
}

/// The card name (`8B`): Klarna, or the card application's label.
fn card_name(sale: &Sale) -> Option<String> {
    match sale.method {
        PaymentMethod::Klarna => Some("Klarna".into()),
        _ => sale
            .application_label
            .clone()
            .or_else(|| sale.masked_pan.as_deref().map(|p| crate::checkout::card_brand(p).into())),
    }
}

/// The masked PAN as ZVT carries it: the digits shown, `*` for the hidden ones.
fn masked_pan(sale: &Sale) -> Option<String> {
    let pan = sale.masked_pan.as_deref()?;
    let shown: String = pan.chars().filter(|c| c.is_ascii_digit() || matches!(c, '*' | 'X' | 'x')).collect();
    let zvt: String = shown.chars().map(|c| if c.is_ascii_digit() { c } else { '*' }).collect();
    (zvt.len() >= 10).then_some(zvt)
}

/// The cardholder verification, online flag and technology (TLV 2F {1F10, 1F11, 1F12}).
fn payment_details(sale: &Sale) -> TlvObject {
    let cvm = match sale.cvm.as_deref() {
        Some("ONLINE_PIN") => 1,
        Some("OFFLINE_PIN") => 2,
        Some("SIGNATURE") => 3,
        Some("CONSUMER_DEVICE") => 4,
        _ => 0,
    };
    let technology = match sale.entry_mode.as_deref() {
        Some("CHIP") => 1,
        Some("CONTACTLESS") => 2,
        Some("SWIPE") => 0,
        _ => 4, // none: a QR code (Klarna)
    };
    let primitive = |tag: u32, v: u8| TlvObject { tag, value: TlvValue::Primitive(vec![v]) };
    let online = u8::from(sale.offline.is_none());
    TlvObject {
        tag: 0x2F,
        value: TlvValue::Constructed(vec![
            primitive(0x1F10, cvm),
            primitive(0x1F11, online),
            primitive(0x1F12, technology),
        ]),
    }
}

/// The status information of payment `t` of `sale`.
pub fn status_information(t: &ZvtTransaction, sale: &Sale, ctx: &ReportContext) -> StatusInformation {
    let (month, day, hour, minute, second) = ctx.clock;
    let approved = t.result == rc::OK;
    let additional_text = match sale.method {
        PaymentMethod::Klarna => sale.klarna_reference.as_ref().map(|r| format!("Klarna {r}")),
        _ => None,
    };
    let receipt = t.receipt_no();
    // The receipt number for the register to mirror (1F1F, binary) [P15 §4.2, §9.4].
    let mut tlv = vec![TlvObject { tag: 0x1F1F, value: TlvValue::Primitive(receipt.to_be_bytes().to_vec()) }];
    if approved {
        tlv.insert(0, payment_details(sale));
    }
    StatusInformation {
        result: t.result,
        amount: u64::try_from(t.amount).ok(),
        trace: Some(t.trace_no()),
        original_trace: t.original_trace_no,
        time: Some((hour, minute, second)),
        date: Some((month, day)),
        expiry: None,
        // Online, or approved offline by the terminal [P15 §3.1.1].
        payment_type: Some(if sale.offline.is_some() { 0x40 } else { 0x60 }),
        masked_pan: masked_pan(sale),
        terminal_id: Some(ctx.terminal_id),
        // ZVT's "AID" (3B) is the authorisation attribute: the issuer's approval code.
        aid: sale.authorization_code.as_ref().map(|a| a.chars().take(8).collect()),
        currency: ctx.currency,
        receipt_no: Some(receipt),
        card_type: t.card_type,
        card_name: card_name(sale),
        additional_text,
        turnover_no: None,
        end_of_day: None,
        tlv: ctx.tlv.then_some(TlvContainer(tlv)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_known_by_their_aid() {
        assert_eq!(card_type_of_aid("A0000000031010"), Some(10));
        assert_eq!(card_type_of_aid("a0000000041010"), Some(6));
        assert_eq!(card_type_of_aid("A0000000043060"), Some(46));
        assert_eq!(card_type_of_aid("A0000003591010028001"), Some(5));
        assert_eq!(card_type_of_aid("A0000000250101"), Some(8));
        assert_eq!(card_type_of_aid("A0000009999999"), None);
    }
}
