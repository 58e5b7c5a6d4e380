//! Receipts sent to the ECR: the text block `06 D3 06{1F07<type> 25{09<attr> 07<line> …}}`
//! [P15 §3.6, §9.4.2] (print lines `06 D1` are in [`crate::PtMessage::PrintLine`]).

use crate::error::{DecodeError, EncodeError};
use crate::text;
use crate::tlv::{TlvContainer, TlvObject};

/// TLV tag of the receipt type.
const TAG_RECEIPT_TYPE: u32 = 0x1F07;
/// TLV tag of the print texts container.
const TAG_PRINT_TEXTS: u32 = 0x25;
/// TLV tag of an attribute.
const TAG_ATTRIBUTE: u32 = 0x09;
/// TLV tag of a text line.
const TAG_TEXT_LINE: u32 = 0x07;

/// Receipt type `01` merchant receipt.
pub const RECEIPT_MERCHANT: u8 = 0x01;
/// Receipt type `02` customer receipt.
pub const RECEIPT_CUSTOMER: u8 = 0x02;
/// Receipt type `03` administration receipt.
pub const RECEIPT_ADMIN: u8 = 0x03;

/// One text block.
///
/// Each line carries its attribute; on the wire an attribute (`09`) is written when it
/// changes. A line with empty text and an end attribute (`1xxx xxxx`, not `80`/`FF`) is
/// the bare end-of-receipt marker `09 <attr>` with no text line [P15 §3.6].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextBlock {
    /// TLV 1F07: 01 merchant, 02 customer, 03 administration.
    pub receipt_type: u8,
    /// (attribute, text) per line.
    pub lines: Vec<(u8, String)>,
}

fn is_end_marker(attribute: u8, line: &str) -> bool {
    attribute & 0x80 != 0 && attribute != 0x80 && attribute != 0xFF && line.is_empty()
}

impl TextBlock {
    /// A block of `lines` closed by the end-of-receipt marker `09 81`.
    pub fn closed(receipt_type: u8, lines: Vec<(u8, String)>) -> Self {
        let mut lines = lines;
        lines.push((0x81, String::new()));
        TextBlock { receipt_type, lines }
    }

    /// The data block: `06 <len> {1F07 .. 25 {..}}`.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut texts = Vec::new();
        let mut current: Option<u8> = None;
        for (attribute, line) in &self.lines {
            if is_end_marker(*attribute, line) {
                texts.push(TlvObject::primitive(TAG_ATTRIBUTE, vec![*attribute]));
                current = None;
                continue;
            }
            if current != Some(*attribute) {
                texts.push(TlvObject::primitive(TAG_ATTRIBUTE, vec![*attribute]));
                current = Some(*attribute);
            }
            texts.push(TlvObject::primitive(TAG_TEXT_LINE, text::encode_cp437(line)));
        }
        TlvContainer::new(vec![
            TlvObject::primitive(TAG_RECEIPT_TYPE, vec![self.receipt_type]),
            TlvObject::constructed(TAG_PRINT_TEXTS, texts),
        ])
        .encode_bmp()
    }

    /// Decodes a data block; tags other than 09 and 07 inside 25 (barcodes E3) and
    /// other than 1F07 and 25 outside (14, 1F37) are dropped.
    pub fn decode(data: &[u8]) -> Result<TextBlock, DecodeError> {
        let bmps = crate::bmp::Bmps::parse(data, 0)?;
        if let Some(other) = bmps.0.iter().find(|b| b.number != 0x06) {
            return Err(DecodeError::Invalid {
                what: "Print Text-Block 06 D3",
                offset: other.offset,
                reason: "only BMP 06 allowed",
            });
        }
        let tlv =
            bmps.tlv()?.ok_or(DecodeError::Missing { command: "Print Text-Block 06 D3", what: "TLV container" })?;
        let receipt_type = tlv.find_bytes(TAG_RECEIPT_TYPE).and_then(|b| b.last().copied()).unwrap_or(0);
        let mut lines = Vec::new();
        let mut attribute = 0u8;
        let mut pending_attribute = false;
        let texts = tlv.find(TAG_PRINT_TEXTS).map(TlvObject::children).unwrap_or(&[]);
        for object in texts {
            match (object.tag, object.bytes()) {
                (TAG_ATTRIBUTE, Some(&[value])) => {
                    if pending_attribute && is_end_marker(attribute, "") {
                        lines.push((attribute, String::new()));
                    }
                    attribute = value;
                    pending_attribute = true;
                }
                (TAG_TEXT_LINE, Some(bytes)) => {
                    lines.push((attribute, text::decode_cp437(bytes)));
                    pending_attribute = false;
                }
                _ => {}
            }
        }
        if pending_attribute && is_end_marker(attribute, "") {
            lines.push((attribute, String::new()));
        }
        Ok(TextBlock { receipt_type, lines })
    }
}
