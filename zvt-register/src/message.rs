//! Everything a PT sends to an ECR, parsed strictly: answers `80 00` / `84 xx`
//! [P16 §5.2.3], `04 FF` [P15 §3.7], `04 0F` [§3.1], `06 0F` [§3.2], `06 1E` [§3.3],
//! `06 D1` [§3.5], `06 D3` [§3.6]. Deviations land in the caller's violation list.

use crate::apdu::Apdu;
use crate::bcd;
use crate::bmp::{self, Fields};
use crate::status::{self, StatusInfo, StatusKind};
use crate::text;
use crate::tlv::{self, Tlv};
use crate::violation::{Violation, ViolationKind};

/// A PT message, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtMessage {
    /// `80 00 [data]`: positive answer to the ECR's command.
    Positive(Vec<u8>),
    /// `84 xx [data]`: negative answer with its error id (`84 00` counts as positive
    /// for an ECR's answer, but a PT's `84 00` is reported as is).
    Negative(u8, Vec<u8>),
    /// `04 FF` intermediate status.
    Intermediate(IntermediateStatus),
    /// `04 0F` status information.
    Status(Box<StatusInfo>),
    /// `06 0F` completion.
    Completion(Completion),
    /// `06 1E` abort with its result code.
    Abort {
        /// The result code [P15 §10].
        result_code: u8,
        /// The currency sent with result code 6F [P15 §2.2.9].
        currency: Option<u16>,
        /// TLV 1F16/1F17.
        tlv: Vec<Tlv>,
    },
    /// `06 D1` one print line.
    PrintLine(PrintLine),
    /// `06 D3` a text block.
    TextBlock(TextBlock),
    /// Any other command (answered `84 83 00`, recorded as a violation).
    Other(Apdu),
}

/// `04 FF <status> [<timeout>] [06<TLV 24 {07 …}>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntermediateStatus {
    /// The intermediate status [P15 Table 17] (`FF`: text in TLV 24).
    pub status: u8,
    /// The new T4 in minutes.
    pub timeout_minutes: Option<u8>,
    /// The text lines of TLV 24.
    pub text: Vec<String>,
}

/// `06 0F` fields: `[27][0C][AA][19][29][49][06]`, or after a Status Enquiry
/// `<sw-version LLLVAR><terminal-status>[06]` [P15 §2.56.5].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// 27 result code.
    pub result_code: Option<u8>,
    /// 19 status byte (after Registration).
    pub status_byte: Option<u8>,
    /// 29 terminal id.
    pub terminal_id: Option<String>,
    /// 49 currency.
    pub currency: Option<u16>,
    /// Software version (Status Enquiry).
    pub software_version: Option<String>,
    /// Terminal status (Status Enquiry; `00` = ready [P15 §11]).
    pub terminal_status: Option<u8>,
    /// TLV objects (e.g. the echo of TLV 12).
    pub tlv: Vec<Tlv>,
    /// Every BMP field as sent.
    pub fields: Fields,
}

/// `06 D1 <attribute><text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintLine {
    /// The attribute [P15 Table 16].
    pub attribute: u8,
    /// The text (empty: a blank line); for attribute `FF` empty and `feeds` set.
    pub text: String,
    /// For attribute `FF`: the number of line feeds.
    pub feeds: Option<u8>,
}

impl PrintLine {
    /// Attribute `1xxx xxxx` (not 80, not FF): the last line of a receipt [P15 Table 16].
    pub fn is_last(&self) -> bool {
        is_last_attribute(self.attribute)
    }
}

/// Whether an attribute marks the last line of a receipt.
pub fn is_last_attribute(attribute: u8) -> bool {
    attribute & 0x80 != 0 && attribute != 0x80 && attribute != 0xFF
}

/// `06 D3 06{[1F07 type] 25{09 attr, 07 line …} [1F37] [14]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextBlock {
    /// 1F07: 01 merchant, 02 customer, 03 administration receipt.
    pub receipt_type: Option<u8>,
    /// The lines with the attribute in force for each.
    pub lines: Vec<(u8, String)>,
    /// Whether the block ends its receipt (last tag 09 with `1xxx xxxx` ≠ 80).
    pub ends_receipt: bool,
    /// The whole container.
    pub tlv: Vec<Tlv>,
}

/// What a parse needs to know about the exchange: which command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The ECR command this message belongs to (`0x0650`, `0x0501`, …).
    pub command: u16,
    /// Whether the §3.1.1 table order is enforced for `04 0F`.
    pub table_order: bool,
}

/// Parses one PT APDU.
pub fn parse(apdu: &Apdu, context: Context, violations: &mut Vec<Violation>) -> PtMessage {
    let control = apdu.control();
    let data = apdu.data.as_slice();
    match (apdu.class, apdu.instr) {
        (0x80, 0x00) => PtMessage::Positive(apdu.data.clone()),
        (0x84, code) => PtMessage::Negative(code, apdu.data.clone()),
        (0x04, 0xFF) => PtMessage::Intermediate(parse_intermediate(data, violations)),
        (0x04, 0x0F) => {
            let kind = if context.command == 0x0650 {
                StatusKind::EndOfDay
            } else {
                StatusKind::Transaction { ordered: context.table_order }
            };
            PtMessage::Status(Box::new(status::parse(data, kind, violations)))
        }
        (0x06, 0x0F) => PtMessage::Completion(parse_completion(data, context, violations)),
        (0x06, 0x1E) => parse_abort(data, violations),
        (0x06, 0xD1) => PtMessage::PrintLine(parse_print_line(data, violations)),
        (0x06, 0xD3) => PtMessage::TextBlock(parse_text_block(data, violations)),
        _ => {
            violations.push(protocol(control, format!("unexpected PT command {:02X} {:02X}", apdu.class, apdu.instr)));
            PtMessage::Other(apdu.clone())
        }
    }
}

fn protocol(control: u16, why: String) -> Violation {
    Violation { control, kind: ViolationKind::Protocol(why) }
}

fn tlv_after(control: u16, data: &[u8], violations: &mut Vec<Violation>) -> Vec<Tlv> {
    if data.is_empty() {
        return Vec::new();
    }
    let fields = bmp::read_fields(control, data, violations);
    bmp::check_table(control, &fields, &[0x06], true, violations);
    fields.tlv
}

fn parse_intermediate(data: &[u8], violations: &mut Vec<Violation>) -> IntermediateStatus {
    const CONTROL: u16 = 0x04FF;
    let Some((&status, rest)) = data.split_first() else {
        violations.push(protocol(CONTROL, "04 FF without an intermediate status byte".into()));
        return IntermediateStatus { status: 0, timeout_minutes: None, text: Vec::new() };
    };
    // [P15 §5.1]'s own example sends `06 <len> <TLV>` without the timeout: a 06 whose
    // length fits the rest exactly is read as the container, and flagged.
    let tlv_without_timeout = rest.len() >= 2 && rest[0] == 0x06 && usize::from(rest[1]) == rest.len() - 2;
    if tlv_without_timeout {
        violations.push(protocol(CONTROL, "TLV container without <timeout> (P15 §3.7 requires it)".into()));
    }
    let (timeout_minutes, rest) = match rest.split_first() {
        _ if tlv_without_timeout => (None, rest),
        Some((&t, rest)) => {
            if bcd::decode_number(&[t]).is_none() {
                violations.push(protocol(CONTROL, format!("timeout {t:02X} is not 1 byte BCD minutes")));
            }
            (Some(t), rest)
        }
        None => (None, rest),
    };
    let tlv = tlv_after(CONTROL, rest, violations);
    let mut lines = Vec::new();
    if let Some(container) = tlv::find_in(&tlv, 0x24) {
        lines = container.children.iter().filter(|t| t.tag == 0x07).map(|t| text::decode(&t.value)).collect();
    }
    if status == 0xFF && tlv::find_in(&tlv, 0x24).is_none() {
        violations.push(protocol(CONTROL, "status FF (no matching code) without TLV 24 text".into()));
    }
    let timeout_minutes = timeout_minutes.map(|t| bcd::decode_number(&[t]).unwrap_or(u64::from(t)) as u8);
    IntermediateStatus { status, timeout_minutes, text: lines }
}

fn parse_completion(data: &[u8], context: Context, violations: &mut Vec<Violation>) -> Completion {
    const CONTROL: u16 = 0x060F;
    let mut completion = Completion::default();
    let mut rest = data;
    if context.command == 0x0501 {
        // Status Enquiry: an LLLVAR version without a BMP (optional), then the status byte.
        if rest.first().is_some_and(|b| b >> 4 == 0xF) {
            let len = rest.get(..3).and_then(bcd::decode_var_length);
            match len.and_then(|len| rest.get(3..3 + len)) {
                Some(version) => {
                    completion.software_version = Some(text::decode(version));
                    rest = &rest[3 + version.len()..];
                }
                None => violations.push(protocol(CONTROL, "software version LLLVAR runs past the message".into())),
            }
        }
        match rest.split_first() {
            Some((&status, tail)) => {
                completion.terminal_status = Some(status);
                rest = tail;
            }
            None => violations.push(protocol(CONTROL, "Status Enquiry completion without terminal status".into())),
        }
    }
    let fields = bmp::read_fields(CONTROL, rest, violations);
    bmp::check_table(CONTROL, &fields, &[0x27, 0x0C, 0xAA, 0x19, 0x29, 0x49, 0x06], true, violations);
    completion.result_code = fields.get(0x27).and_then(|v| v.first().copied());
    completion.status_byte = fields.get(0x19).and_then(|v| v.first().copied());
    completion.terminal_id = fields.get(0x29).and_then(bcd::decode_digits);
    completion.currency = fields.get(0x49).and_then(bcd::decode_number).map(|n| n as u16);
    completion.tlv = fields.tlv.clone();
    completion.fields = fields;
    completion
}

fn parse_abort(data: &[u8], violations: &mut Vec<Violation>) -> PtMessage {
    const CONTROL: u16 = 0x061E;
    let Some((&result_code, mut rest)) = data.split_first() else {
        violations.push(protocol(CONTROL, "06 1E without a result code".into()));
        return PtMessage::Abort { result_code: 0, currency: None, tlv: Vec::new() };
    };
    let mut currency = None;
    // [P15 §2.2.9]: `<result-code> [<CC>]` (no BMP) only with result code 6F.
    if result_code == 0x6F && rest.len() >= 2 && rest.first() != Some(&0x06) {
        currency = bcd::decode_number(&rest[..2]).map(|n| n as u16);
        if currency.is_none() {
            violations.push(protocol(CONTROL, "currency after result code 6F is not BCD".into()));
        }
        rest = &rest[2..];
    }
    let tlv = tlv_after(CONTROL, rest, violations);
    PtMessage::Abort { result_code, currency, tlv }
}

fn parse_print_line(data: &[u8], violations: &mut Vec<Violation>) -> PrintLine {
    let Some((&attribute, rest)) = data.split_first() else {
        violations.push(protocol(0x06D1, "06 D1 without an attribute".into()));
        return PrintLine { attribute: 0, text: String::new(), feeds: None };
    };
    if attribute == 0xFF {
        // [P15 §3.5]: FF = line feeds, the count follows; without it one feed.
        return PrintLine { attribute, text: String::new(), feeds: Some(rest.first().copied().unwrap_or(1)) };
    }
    if rest.iter().any(|&b| b == b'\r' || b == b'\n') {
        violations.push(protocol(0x06D1, "print line contains CR/LF (P15 §3.5: the text contains no CR LF)".into()));
    }
    PrintLine { attribute, text: text::decode(rest), feeds: None }
}

fn parse_text_block(data: &[u8], violations: &mut Vec<Violation>) -> TextBlock {
    const CONTROL: u16 = 0x06D3;
    let fields = bmp::read_fields(CONTROL, data, violations);
    bmp::check_table(CONTROL, &fields, &[0x06], true, violations);
    if !fields.has_tlv {
        violations.push(protocol(CONTROL, "06 D3 without its TLV container".into()));
    }
    let mut block = TextBlock { tlv: fields.tlv.clone(), ..TextBlock::default() };
    block.receipt_type = tlv::find_in(&fields.tlv, 0x1F07).and_then(|t| t.value.first().copied());
    let Some(print_texts) = tlv::find_in(&fields.tlv, 0x25) else {
        violations.push(protocol(CONTROL, "06 D3 without tag 25 (print texts)".into()));
        return block;
    };
    let mut attribute = 0u8;
    let mut last_was_end = false;
    for object in &print_texts.children {
        match object.tag {
            0x09 => {
                attribute = object.value.first().copied().unwrap_or(0);
                last_was_end = is_last_attribute(attribute);
            }
            0x07 => {
                block.lines.push((attribute, text::decode(&object.value)));
                last_was_end = false;
            }
            _ => {}
        }
    }
    block.ends_receipt = last_was_end;
    block
}
