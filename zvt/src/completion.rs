//! Completion `06 0F` in its three shapes: after a registration `[19][29][49][06]`
//! [P15 §2.1], after a status enquiry `[<sw-version LLLVAR>]<terminal-status>[06]`
//! [P15 §2.56.5], and the plain `06 0F 00` [P15 §2.2.9].

use crate::bcd;
use crate::bmp::{self, BmpWriter, Bmps};
use crate::error::{DecodeError, EncodeError};
use crate::text;
use crate::tlv::TlvContainer;

/// The fields of a `06 0F`; use the constructors for the three shapes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// BMP 19: the PT's status byte [P15 §2.1 Table 3] (registration shape).
    pub status_byte: Option<u8>,
    /// BMP 29 (registration shape).
    pub terminal_id: Option<u32>,
    /// BMP 49 (registration shape).
    pub currency: Option<u16>,
    /// The software version, LLLVAR (status-enquiry shape).
    pub software_version: Option<String>,
    /// The terminal status code [P15 §11] (present exactly in the status-enquiry shape).
    pub terminal_status: Option<u8>,
    /// BMP 06 (either shape).
    pub tlv: Option<TlvContainer>,
}

impl Completion {
    /// `06 0F 00`: the end of a payment, reversal, refund, end of day, repeat receipt.
    pub fn plain() -> Self {
        Completion::default()
    }

    /// The completion of a registration: `[19<status>][29<TID>][49<CC>][06<TLV>]`.
    pub fn registration(
        status_byte: Option<u8>,
        terminal_id: Option<u32>,
        currency: Option<u16>,
        tlv: Option<TlvContainer>,
    ) -> Self {
        Completion { status_byte, terminal_id, currency, tlv, ..Completion::default() }
    }

    /// The completion of a status enquiry: `[<sw-version>]<terminal-status>[06<TLV>]`.
    pub fn status_enquiry(software_version: Option<String>, terminal_status: u8, tlv: Option<TlvContainer>) -> Self {
        Completion { software_version, terminal_status: Some(terminal_status), tlv, ..Completion::default() }
    }

    /// The data block.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = BmpWriter::new();
        match self.terminal_status {
            Some(status) => {
                if self.status_byte.is_some() || self.terminal_id.is_some() || self.currency.is_some() {
                    return Err(EncodeError::Invalid {
                        what: "Completion",
                        reason: "terminal status (status enquiry) mixed with registration fields",
                    });
                }
                if let Some(version) = &self.software_version {
                    let bytes = text::encode_cp437(version);
                    w.raw(&bmp::var_prefix(bytes.len(), 3, "software version")?).raw(&bytes);
                }
                w.raw(&[status]);
            }
            None => {
                if self.software_version.is_some() {
                    return Err(EncodeError::Invalid {
                        what: "Completion",
                        reason: "software version without terminal status",
                    });
                }
                if let Some(status) = self.status_byte {
                    w.fixed(0x19, &[status]);
                }
                if let Some(tid) = self.terminal_id {
                    w.bcd(0x29, u64::from(tid), 4, "terminal ID")?;
                }
                if let Some(cc) = self.currency {
                    w.fixed(0x49, &bcd::encode_currency(cc)?);
                }
            }
        }
        if let Some(tlv) = &self.tlv {
            w.tlv(tlv)?;
        }
        Ok(w.finish())
    }

    /// Decodes a data block, telling the shapes apart: empty is plain; a first byte `Fx`
    /// starts a software version; one byte alone is a terminal status; otherwise BMPs,
    /// and if they do not parse, a terminal status followed by BMP 06.
    pub fn decode(data: &[u8]) -> Result<Completion, DecodeError> {
        if data.is_empty() {
            return Ok(Completion::plain());
        }
        if data.len() == 1 {
            return Ok(Completion::status_enquiry(None, data[0], None));
        }
        if data[0] & 0xF0 == 0xF0 {
            if let Ok(completion) = decode_with_version(data) {
                return Ok(completion);
            }
            return decode_status_then_tlv(data, None, 0);
        }
        decode_bmps(data).or_else(|bmp_error| decode_status_then_tlv(data, None, 0).map_err(|_| bmp_error))
    }
}

fn decode_bmps(data: &[u8]) -> Result<Completion, DecodeError> {
    let bmps = Bmps::parse(data, 0)?;
    Ok(Completion::registration(
        bmps.byte(0x19),
        bmps.number(0x29, "terminal ID")?.map(|v| v as u32),
        bmps.number(0x49, "currency code")?.map(|v| v as u16),
        bmps.tlv()?,
    ))
}

fn decode_with_version(data: &[u8]) -> Result<Completion, DecodeError> {
    let len = bmp::var_length(0x0F, data, 3, 0)?;
    let version = data.get(3..3 + len).ok_or(DecodeError::Truncated {
        what: "software version",
        offset: 0,
        needed: len,
        available: data.len().saturating_sub(3),
    })?;
    decode_status_then_tlv(&data[3 + len..], Some(text::decode_cp437(version)), 3 + len)
}

fn decode_status_then_tlv(rest: &[u8], version: Option<String>, base: usize) -> Result<Completion, DecodeError> {
    let status = *rest.first().ok_or(DecodeError::Missing { command: "Completion 06 0F", what: "terminal status" })?;
    let bmps = Bmps::parse(&rest[1..], base + 1)?;
    if let Some(other) = bmps.0.iter().find(|b| b.number != 0x06) {
        return Err(DecodeError::Invalid {
            what: "Completion 06 0F",
            offset: other.offset,
            reason: "only BMP 06 may follow the terminal status",
        });
    }
    Ok(Completion::status_enquiry(version, status, bmps.tlv()?))
}
