//! What the PT sends [P15 §3]: acknowledgements, intermediate status `04 FF`, status
//! information `04 0F`, completion `06 0F`, abort `06 1E`, print line `06 D1`, text
//! block `06 D3`.

use crate::apdu::{Apdu, MAX_DATA_LEN};
use crate::bcd;
use crate::bmp::{BmpWriter, Bmps};
use crate::completion::Completion;
use crate::error::{DecodeError, EncodeError};
use crate::receipt::TextBlock;
use crate::status::StatusInformation;
use crate::text;
use crate::tlv::{TlvContainer, TlvObject};

/// TLV tag of the display texts container of `04 FF` [P15 §9.4.2].
const TAG_DISPLAY_TEXTS: u32 = 0x24;
/// TLV tag of one text line.
const TAG_TEXT_LINE: u32 = 0x07;
/// TLV tag of the extended error text [P15 §9.4.2].
const TAG_EXTENDED_ERROR_TEXT: u32 = 0x1F17;

/// One message from the PT.
// The shape is the session's API; a message is built, encoded and dropped, so the size of
// the status-information variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtMessage {
    /// `80 00 00`.
    Ack,
    /// `84 xx 00`.
    Nack(u8),
    /// `04 FF <status>[<timeout BCD minutes>][06 24{07 line …}]` [P15 §3.7].
    Intermediate {
        /// The intermediate status [P15 §3.7 Table 17].
        status: u8,
        /// Sets the ECR's T4, minutes (0–99); required with `text`.
        timeout_minutes: Option<u8>,
        /// Display text, one `07` per line (`\n` separates lines).
        text: Option<String>,
    },
    /// `04 0F` [P15 §3.1].
    StatusInformation(StatusInformation),
    /// `06 0F` [P15 §3.2].
    Completion(Completion),
    /// `06 1E <result>[06{1F17 text}]` [P15 §3.3].
    Abort {
        /// The result code [P15 §10].
        result: u8,
        /// TLV 1F17, the extended error text.
        extended_text: Option<String>,
    },
    /// `06 D1 <attribute><text>` [P15 §3.5], text in CP437.
    PrintLine {
        /// The attribute [P15 §3.5 Table 16].
        attribute: u8,
        /// The line (for attribute `FF`: one character whose code is the number of feeds).
        text: String,
    },
    /// `06 D3` [P15 §3.6].
    TextBlock(TextBlock),
}

impl PtMessage {
    /// The message's APDU; refuses fields the format cannot hold.
    pub fn to_apdu(&self) -> Result<Apdu, EncodeError> {
        let (class, instr, data) = match self {
            PtMessage::Ack => (0x80, 0x00, Vec::new()),
            PtMessage::Nack(code) => (0x84, *code, Vec::new()),
            PtMessage::Intermediate { status, timeout_minutes, text } => {
                (0x04, 0xFF, encode_intermediate(*status, *timeout_minutes, text.as_deref())?)
            }
            PtMessage::StatusInformation(info) => (0x04, 0x0F, info.encode()?),
            PtMessage::Completion(completion) => (0x06, 0x0F, completion.encode()?),
            PtMessage::Abort { result, extended_text } => {
                (0x06, 0x1E, encode_abort(*result, extended_text.as_deref())?)
            }
            PtMessage::PrintLine { attribute, text } => {
                let mut data = vec![*attribute];
                data.extend(text::encode_cp437(text));
                (0x06, 0xD1, data)
            }
            PtMessage::TextBlock(block) => (0x06, 0xD3, block.encode()?),
        };
        if data.len() > MAX_DATA_LEN {
            return Err(EncodeError::TooLong { what: "APDU data", len: data.len(), max: MAX_DATA_LEN });
        }
        Ok(Apdu::new(class, instr, data))
    }

    /// Decodes a PT message (an ECR or test reading what a PT sent).
    pub fn decode(apdu: &Apdu) -> Result<PtMessage, DecodeError> {
        let data = &apdu.data;
        match (apdu.class, apdu.instr) {
            (0x80, 0x00) => Ok(PtMessage::Ack),
            (0x84, code) => Ok(PtMessage::Nack(code)),
            (0x04, 0xFF) => decode_intermediate(data),
            (0x04, 0x0F) => StatusInformation::decode(data).map(PtMessage::StatusInformation),
            (0x06, 0x0F) => Completion::decode(data).map(PtMessage::Completion),
            (0x06, 0x1E) => decode_abort(data),
            (0x06, 0xD1) => {
                let attribute =
                    *data.first().ok_or(DecodeError::Missing { command: "Print Line 06 D1", what: "attribute" })?;
                Ok(PtMessage::PrintLine { attribute, text: text::decode_cp437(&data[1..]) })
            }
            (0x06, 0xD3) => TextBlock::decode(data).map(PtMessage::TextBlock),
            (class, instr) => Err(DecodeError::NotAPtMessage { class, instr }),
        }
    }

    /// `84 1E <len> 6F [<CC>]`: the registration's answer to a wrong currency, as printed
    /// in [P15 §2.1] (an APDU, not a message this enum decodes).
    pub fn wrong_currency_answer(currency: Option<u16>) -> Result<Apdu, EncodeError> {
        let mut data = vec![crate::result_code::WRONG_CURRENCY];
        if let Some(cc) = currency {
            data.extend_from_slice(&bcd::encode_currency(cc)?);
        }
        Ok(Apdu::new(0x84, 0x1E, data))
    }
}

fn encode_intermediate(status: u8, timeout: Option<u8>, display: Option<&str>) -> Result<Vec<u8>, EncodeError> {
    let mut w = BmpWriter::new();
    w.raw(&[status]);
    match (timeout, display) {
        (None, Some(_)) => {
            return Err(EncodeError::Invalid {
                what: "Intermediate status 04 FF",
                reason: "a text needs a timeout [P15 §3.7]",
            });
        }
        (Some(minutes), _) => {
            w.raw(&bcd::encode_number(u64::from(minutes), 1, "timeout minutes")?);
        }
        (None, None) => {}
    }
    if let Some(display) = display {
        let lines = display.split('\n').map(|l| TlvObject::primitive(TAG_TEXT_LINE, text::encode_cp437(l))).collect();
        w.tlv(&TlvContainer::new(vec![TlvObject::constructed(TAG_DISPLAY_TEXTS, lines)]))?;
    }
    Ok(w.finish())
}

fn decode_intermediate(data: &[u8]) -> Result<PtMessage, DecodeError> {
    let status = *data.first().ok_or(DecodeError::Missing { command: "Intermediate status 04 FF", what: "status" })?;
    let timeout_minutes =
        data.get(1).map(|&b| bcd::decode_number(&[b], "timeout minutes", 1).map(|v| v as u8)).transpose()?;
    let rest = data.get(2..).unwrap_or(&[]);
    let bmps = Bmps::parse(rest, 2)?;
    if let Some(other) = bmps.0.iter().find(|b| b.number != 0x06) {
        return Err(DecodeError::Invalid {
            what: "Intermediate status 04 FF",
            offset: other.offset,
            reason: "only BMP 06 may follow the timeout",
        });
    }
    let text = bmps.tlv()?.and_then(|tlv| tlv.find(TAG_DISPLAY_TEXTS).map(display_lines));
    Ok(PtMessage::Intermediate { status, timeout_minutes, text })
}

fn display_lines(container: &TlvObject) -> String {
    let lines: Vec<String> = container
        .children()
        .iter()
        .filter(|o| o.tag == TAG_TEXT_LINE)
        .filter_map(|o| o.bytes().map(text::decode_cp437))
        .collect();
    lines.join("\n")
}

fn encode_abort(result: u8, extended_text: Option<&str>) -> Result<Vec<u8>, EncodeError> {
    let mut w = BmpWriter::new();
    w.raw(&[result]);
    if let Some(message) = extended_text {
        let object = TlvObject::primitive(TAG_EXTENDED_ERROR_TEXT, text::encode_cp437(message));
        w.tlv(&TlvContainer::new(vec![object]))?;
    }
    Ok(w.finish())
}

fn decode_abort(data: &[u8]) -> Result<PtMessage, DecodeError> {
    let result = *data.first().ok_or(DecodeError::Missing { command: "Abort 06 1E", what: "result code" })?;
    // With result 6F the PT's currency code may follow, without a BMP number [P15 §2.2.9].
    let skip = if result == crate::result_code::WRONG_CURRENCY && data.len() >= 3 && data[1] != 0x06 { 3 } else { 1 };
    let bmps = Bmps::parse(&data[skip..], skip)?;
    let extended_text = bmps.tlv()?.and_then(|tlv| tlv.find_bytes(TAG_EXTENDED_ERROR_TEXT).map(text::decode_cp437));
    Ok(PtMessage::Abort { result, extended_text })
}
