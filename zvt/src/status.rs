//! Status information `04 0F` [P15 §3.1.1, §3.1.3]: the result of a payment, reversal,
//! refund or end of day, written in the table order of [P15 §3.1.1].

use crate::bcd;
use crate::bmp::{BmpWriter, Bmps};
use crate::error::{DecodeError, EncodeError};
use crate::fields;
use crate::text;
use crate::tlv::TlvContainer;

/// The fields of a `04 0F`; every one optional but the result code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusInformation {
    /// BMP 27 result code [P15 §10] (`00` when a decoded message has none).
    pub result: u8,
    /// BMP 04, minor units.
    pub amount: Option<u64>,
    /// BMP 0B, 6 digits.
    pub trace: Option<u32>,
    /// BMP 37: trace of the original transaction (reversal).
    pub original_trace: Option<u32>,
    /// BMP 0C (hours, minutes, seconds).
    pub time: Option<(u8, u8, u8)>,
    /// BMP 0D (month, day).
    pub date: Option<(u8, u8)>,
    /// BMP 0E (year, month).
    pub expiry: Option<(u8, u8)>,
    /// BMP 19.
    pub payment_type: Option<u8>,
    /// BMP 22: digits, `*` masked, `D` separator.
    pub masked_pan: Option<String>,
    /// BMP 29, 8 digits.
    pub terminal_id: Option<u32>,
    /// BMP 3B, up to 8 characters.
    pub aid: Option<String>,
    /// BMP 49.
    pub currency: Option<u16>,
    /// BMP 87, 4 digits.
    pub receipt_no: Option<u16>,
    /// BMP 8A, or `8A FF` plus TLV 41 above 255.
    pub card_type: Option<u16>,
    /// BMP 8B.
    pub card_name: Option<String>,
    /// BMP 3C.
    pub additional_text: Option<String>,
    /// BMP 88, 6 digits.
    pub turnover_no: Option<u32>,
    /// BMP 60 (end of day).
    pub end_of_day: Option<EndOfDayTotals>,
    /// BMP 06 (without a TLV 41 taken as `card_type`).
    pub tlv: Option<TlvContainer>,
}

/// BMP 60, the single totals of an end of day [P15 §3.1.3].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndOfDayTotals {
    /// First receipt number of the period.
    pub receipt_from: u16,
    /// Last receipt number of the period.
    pub receipt_to: u16,
    /// (count, total in minor units) for girocard, JCB, Eurocard, Amex, VISA, Diners, others.
    pub buckets: [(u8, u64); 7],
}

/// BMP 60's length: 2 + 2 receipt-number bytes and 7 × (1 + 6).
const END_OF_DAY_LEN: usize = 4 + 7 * 7;

impl EndOfDayTotals {
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = bcd::encode_number(u64::from(self.receipt_from), 2, "receipt number from")?;
        out.extend(bcd::encode_number(u64::from(self.receipt_to), 2, "receipt number to")?);
        for (count, total) in self.buckets {
            out.push(count);
            out.extend_from_slice(&bcd::encode_amount(total)?);
        }
        Ok(out)
    }

    fn decode(bytes: &[u8], offset: usize) -> Result<EndOfDayTotals, DecodeError> {
        if bytes.len() != END_OF_DAY_LEN {
            return Err(DecodeError::Invalid { what: "BMP 60", offset, reason: "single totals are not 53 bytes" });
        }
        let mut totals = EndOfDayTotals {
            receipt_from: bcd::decode_number(&bytes[0..2], "receipt number from", offset)? as u16,
            receipt_to: bcd::decode_number(&bytes[2..4], "receipt number to", offset + 2)? as u16,
            buckets: [(0, 0); 7],
        };
        for (i, bucket) in totals.buckets.iter_mut().enumerate() {
            let at = 4 + i * 7;
            *bucket = (bytes[at], bcd::decode_amount(&bytes[at + 1..at + 7], offset + at + 1)?);
        }
        Ok(totals)
    }
}

fn digits_of(value: &[u8], what: &'static str, offset: usize) -> Result<Vec<u8>, DecodeError> {
    value.iter().enumerate().map(|(i, &b)| bcd::decode_number(&[b], what, offset + i).map(|v| v as u8)).collect()
}

fn bcd_pairs(values: &[u8], what: &'static str) -> Result<Vec<u8>, EncodeError> {
    values.iter().map(|&v| bcd::encode_number(u64::from(v), 1, what).map(|b| b[0])).collect()
}

impl StatusInformation {
    /// The data block, fields in the order of the table of [P15 §3.1.1] (BMP 60 before 06).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = BmpWriter::new();
        w.fixed(0x27, &[self.result]);
        if let Some(amount) = self.amount {
            w.fixed(0x04, &bcd::encode_amount(amount)?);
        }
        if let Some(trace) = self.trace {
            w.bcd(0x0B, u64::from(trace), 3, "trace number")?;
        }
        if let Some(trace) = self.original_trace {
            w.bcd(0x37, u64::from(trace), 3, "original trace number")?;
        }
        if let Some((h, m, s)) = self.time {
            w.fixed(0x0C, &bcd_pairs(&[h, m, s], "time")?);
        }
        if let Some((month, day)) = self.date {
            w.fixed(0x0D, &bcd_pairs(&[month, day], "date")?);
        }
        if let Some((year, month)) = self.expiry {
            w.fixed(0x0E, &bcd_pairs(&[year, month], "expiry date")?);
        }
        if let Some(payment_type) = self.payment_type {
            w.fixed(0x19, &[payment_type]);
        }
        if let Some(pan) = &self.masked_pan {
            w.llvar(0x22, &fields::encode_pan(pan)?, "PAN (BMP 22)")?;
        }
        self.encode_rest(&mut w)?;
        Ok(w.finish())
    }

    fn encode_rest(&self, w: &mut BmpWriter) -> Result<(), EncodeError> {
        if let Some(tid) = self.terminal_id {
            w.bcd(0x29, u64::from(tid), 4, "terminal ID")?;
        }
        if let Some(aid) = &self.aid {
            w.fixed(0x3B, &fields::encode_aid(aid)?);
        }
        if let Some(cc) = self.currency {
            w.fixed(0x49, &bcd::encode_currency(cc)?);
        }
        if let Some(receipt) = self.receipt_no {
            w.bcd(0x87, u64::from(receipt), 2, "receipt number")?;
        }
        let mut tlv = self.tlv.clone();
        if let Some(card_type) = self.card_type {
            w.fixed(0x8A, &[fields::put_card_type(card_type, &mut tlv)]);
        }
        if let Some(text) = &self.additional_text {
            w.lllvar(0x3C, &text::encode_cp437(text), "additional text (BMP 3C)")?;
        }
        if let Some(turnover) = self.turnover_no {
            w.bcd(0x88, u64::from(turnover), 3, "turnover number")?;
        }
        if let Some(name) = &self.card_name {
            w.llvar(0x8B, &fields::encode_card_name(name), "card name (BMP 8B)")?;
        }
        if let Some(totals) = &self.end_of_day {
            w.lllvar(0x60, &totals.encode()?, "single totals (BMP 60)")?;
        }
        if let Some(tlv) = &tlv {
            w.tlv(tlv)?;
        }
        Ok(())
    }

    /// Decodes a data block; BMPs the struct has no field for (17, 2A, 8C, A0, …) are
    /// parsed and dropped.
    pub fn decode(data: &[u8]) -> Result<StatusInformation, DecodeError> {
        let bmps = Bmps::parse(data, 0)?;
        let mut tlv = bmps.tlv()?;
        let pairs = |n: u8, what| bmps.get(n).map(|b| digits_of(b.value, what, b.value_offset)).transpose();
        let text_of = |n: u8| bmps.get(n).map(|b| b.value);
        Ok(StatusInformation {
            result: bmps.byte(0x27).unwrap_or(0),
            amount: bmps.number(0x04, "amount")?,
            trace: bmps.number(0x0B, "trace number")?.map(|v| v as u32),
            original_trace: bmps.number(0x37, "original trace number")?.map(|v| v as u32),
            time: pairs(0x0C, "time")?.map(|d| (d[0], d[1], d[2])),
            date: pairs(0x0D, "date")?.map(|d| (d[0], d[1])),
            expiry: pairs(0x0E, "expiry date")?.map(|d| (d[0], d[1])),
            payment_type: bmps.byte(0x19),
            masked_pan: bmps.get(0x22).map(|b| fields::decode_pan(b.value, b.value_offset)).transpose()?,
            terminal_id: bmps.number(0x29, "terminal ID")?.map(|v| v as u32),
            aid: text_of(0x3B).map(fields::decode_aid),
            currency: bmps.number(0x49, "currency code")?.map(|v| v as u16),
            receipt_no: bmps.number(0x87, "receipt number")?.map(|v| v as u16),
            card_type: fields::take_card_type(bmps.byte(0x8A), &mut tlv),
            card_name: text_of(0x8B).map(fields::decode_card_name),
            additional_text: text_of(0x3C).map(text::decode_cp437),
            turnover_no: bmps.number(0x88, "turnover number")?.map(|v| v as u32),
            end_of_day: bmps.get(0x60).map(|b| EndOfDayTotals::decode(b.value, b.value_offset)).transpose()?,
            tlv,
        })
    }
}
