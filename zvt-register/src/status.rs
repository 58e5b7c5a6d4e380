//! Status information `04 0F` [P15 §3.1]: after a payment, reversal or refund (table of
//! §3.1.1, whose order old ECRs rely on) and after End-of-Day (§3.1.3, BMP 60).

use crate::bcd;
use crate::bmp::{self, Fields};
use crate::text;
use crate::tlv::{self, Tlv};
use crate::violation::{Violation, ViolationKind};

/// The BMPs of [P15 §3.1.1] in the table's order, with `27` before and `06` after.
pub const TRANSACTION_TABLE: [u8; 25] = [
    0x27, 0x04, 0x0B, 0x37, 0x0C, 0x0D, 0x0E, 0x17, 0x19, 0x22, 0x29, 0x3B, 0x49, 0x4C, 0x87, 0x8A, 0x8C, 0x9A, 0xBA,
    0x2A, 0x3C, 0xA0, 0x88, 0x8B, 0x06,
];

/// The BMPs of [P15 §3.1.3] (End-of-Day; order arbitrary), with `49` (its note) and `06`.
pub const END_OF_DAY_TABLE: [u8; 9] = [0x27, 0x04, 0x60, 0x0B, 0x0C, 0x0D, 0x9A, 0x49, 0x06];

/// Which table a status information is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// After Authorization, Reversal, Refund [P15 §3.1.1]: table order enforced when
    /// `ordered` (the spec says "order arbitrary" but warns old ECRs rely on it).
    Transaction {
        /// Whether the table order is enforced.
        ordered: bool,
    },
    /// After End-of-Day [P15 §3.1.3].
    EndOfDay,
}

/// One card-scheme bucket of BMP 60: the count and the total in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    /// Number of transactions (1 byte binary).
    pub count: u8,
    /// Their total (6 bytes BCD).
    pub total: u64,
}

/// BMP 60 single totals [P15 §3.1.3]: receipt numbers from/to and 7 buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SingleTotals {
    /// First receipt number.
    pub receipt_from: u16,
    /// Last receipt number.
    pub receipt_to: u16,
    /// girocard, JCB, Eurocard, Amex, VISA, Diners, others — in that order.
    pub buckets: [Bucket; 7],
}

impl SingleTotals {
    /// The names of the buckets, as the spec lists them.
    pub const NAMES: [&'static str; 7] = ["girocard", "JCB", "Eurocard", "Amex", "VISA", "Diners", "others"];

    /// The "remaining cards" bucket (posagent: Klarna).
    pub fn others(&self) -> Bucket {
        self.buckets[6]
    }
}

/// A parsed status information; every field optional as in the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusInfo {
    /// 27 result code.
    pub result_code: Option<u8>,
    /// 04 amount (minor units) or End-of-Day total.
    pub amount: Option<u64>,
    /// 0B trace number.
    pub trace: Option<u32>,
    /// 37 original trace number (reversal).
    pub original_trace: Option<u32>,
    /// 0C time `HHMMSS`.
    pub time: Option<String>,
    /// 0D date `MMDD`.
    pub date: Option<String>,
    /// 0E expiry `YYMM`.
    pub expiry: Option<String>,
    /// 17 card sequence number.
    pub card_sequence: Option<u16>,
    /// 19 payment type (40 offline, 50 checked, 60 online, 70 PIN).
    pub payment_type: Option<u8>,
    /// 22 PAN, masked digits as `*`.
    pub pan: Option<String>,
    /// 29 terminal id, 8 digits.
    pub terminal_id: Option<String>,
    /// 3B authorisation attribute, trailing zero bytes removed.
    pub aid: Option<String>,
    /// 49 currency (ISO 4217 number).
    pub currency: Option<u16>,
    /// 87 receipt number.
    pub receipt_no: Option<u16>,
    /// 8A ZVT card type (`FF` = see TLV 41).
    pub card_type: Option<u8>,
    /// 8C network operator card type.
    pub network_card_type: Option<u8>,
    /// 2A VU number.
    pub vu_number: Option<String>,
    /// 3C additional text.
    pub additional_text: Option<String>,
    /// A0 host result code.
    pub host_result: Option<u8>,
    /// 88 turnover number.
    pub turnover_no: Option<u32>,
    /// 8B card name, without its terminating NUL.
    pub card_name: Option<String>,
    /// 60 End-of-Day single totals.
    pub single_totals: Option<SingleTotals>,
    /// 06 TLV objects.
    pub tlv: Vec<Tlv>,
    /// Every field as sent, in order (also 4C, 9A, BA, unknown-to-this-struct ones).
    pub fields: Fields,
}

impl StatusInfo {
    /// The ZVT card-type id: 8A, or TLV 41 (big-endian binary) when 8A is `FF` or absent.
    pub fn zvt_card_type(&self) -> Option<u32> {
        match self.card_type {
            Some(id) if id != 0xFF => Some(u32::from(id)),
            _ => tlv::find_in(&self.tlv, 0x41).map(|t| t.value.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))),
        }
    }

    /// The receipt number mirrored in TLV 1F1F (binary, as posagent sends the BCD bytes).
    pub fn tlv_1f1f(&self) -> Option<&[u8]> {
        tlv::find_in(&self.tlv, 0x1F1F).map(|t| t.value.as_slice())
    }
}

fn number(fields: &Fields, bmp: u8) -> Option<u64> {
    fields.get(bmp).and_then(bcd::decode_number)
}

fn digits(fields: &Fields, bmp: u8) -> Option<String> {
    fields.get(bmp).and_then(bcd::decode_digits)
}

/// Parses the data block of a `04 0F`, recording deviations.
pub fn parse(data: &[u8], kind: StatusKind, violations: &mut Vec<Violation>) -> StatusInfo {
    const CONTROL: u16 = 0x040F;
    let fields = bmp::read_fields(CONTROL, data, violations);
    match kind {
        StatusKind::Transaction { ordered } => {
            bmp::check_table(CONTROL, &fields, &TRANSACTION_TABLE, ordered, violations)
        }
        StatusKind::EndOfDay => bmp::check_table(CONTROL, &fields, &END_OF_DAY_TABLE, false, violations),
    }
    let mut flag = |bmp: u8, why: &str| {
        violations.push(Violation { control: CONTROL, kind: ViolationKind::BadValue { bmp, why: why.to_owned() } })
    };
    let byte = |bmp: u8| fields.get(bmp).and_then(|v| v.first().copied());
    let pan = fields.get(0x22).and_then(|v| {
        let pan = bcd::decode_masked_pan(v);
        if pan.is_none() {
            flag(0x22, "PAN nibbles must be digits, E (masked) or a final F (padding)");
        }
        pan
    });
    let card_name = fields.get(0x8B).map(|v| match v.split_last() {
        Some((0, name)) => text::decode(name),
        _ => {
            flag(0x8B, "card name is not null-terminated (P15 §3.1.1)");
            text::decode(v)
        }
    });
    let single_totals = fields.get(0x60).and_then(|v| {
        let totals = parse_single_totals(v);
        if totals.is_none() {
            flag(0x60, "single totals must be 2+2 bytes BCD receipt numbers and 7 × (1 byte count, 6 bytes BCD)");
        }
        totals
    });
    StatusInfo {
        result_code: byte(0x27),
        amount: number(&fields, 0x04),
        trace: number(&fields, 0x0B).map(|n| n as u32),
        original_trace: number(&fields, 0x37).map(|n| n as u32),
        time: digits(&fields, 0x0C),
        date: digits(&fields, 0x0D),
        expiry: digits(&fields, 0x0E),
        card_sequence: number(&fields, 0x17).map(|n| n as u16),
        payment_type: byte(0x19),
        pan,
        terminal_id: digits(&fields, 0x29),
        aid: fields.get(0x3B).map(|v| text::decode(v).trim_end_matches('\0').to_owned()),
        currency: number(&fields, 0x49).map(|n| n as u16),
        receipt_no: number(&fields, 0x87).map(|n| n as u16),
        card_type: byte(0x8A),
        network_card_type: byte(0x8C),
        vu_number: fields.get(0x2A).map(text::decode),
        additional_text: fields.get(0x3C).map(text::decode),
        host_result: byte(0xA0),
        turnover_no: number(&fields, 0x88).map(|n| n as u32),
        card_name,
        single_totals,
        tlv: fields.tlv.clone(),
        fields,
    }
}

/// BMP 60's value (without its LLLVAR prefix): exactly 4 + 7 × 7 bytes.
pub fn parse_single_totals(value: &[u8]) -> Option<SingleTotals> {
    if value.len() != 53 {
        return None;
    }
    let mut totals = SingleTotals {
        receipt_from: bcd::decode_number(&value[0..2])? as u16,
        receipt_to: bcd::decode_number(&value[2..4])? as u16,
        ..SingleTotals::default()
    };
    for (bucket, chunk) in totals.buckets.iter_mut().zip(value[4..].chunks(7)) {
        *bucket = Bucket { count: chunk[0], total: bcd::decode_number(&chunk[1..])? };
    }
    Some(totals)
}
