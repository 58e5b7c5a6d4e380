//! What an ECR sends: a command, or its answer (`80 00` / `84 xx`) to a PT message
//! [P16 §5.2.3, P15 §3.1.1].

use crate::apdu::Apdu;
use crate::bcd;
use crate::bmp::Bmps;
use crate::command::Command;
use crate::error::{DecodeError, EncodeError};

/// One APDU from the ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcrMessage {
    /// A command.
    Command(Command),
    /// An answer to the PT's last message.
    Answer(EcrAnswer),
}

/// The ECR's answer to a PT message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcrAnswer {
    /// `80 00` or `84 00`: positive [P16 §5.2.3].
    Ack,
    /// `84 9C`: send the status information again after 2 s [P15 §3.1.1].
    PleaseWait,
    /// `84 9D 07 04<amount>`: only goods for this amount were issued [P15 §2.2.6 d)].
    PartialIssue {
        /// Minor units.
        amount: u64,
    },
    /// `84 xx`, any other xx: negative (for `04 0F`: goods not issued, reverse).
    Nack(u8),
}

impl EcrAnswer {
    /// The answer's APDU.
    pub fn to_apdu(&self) -> Result<Apdu, EncodeError> {
        Ok(match *self {
            EcrAnswer::Ack => Apdu::new(0x80, 0x00, Vec::new()),
            EcrAnswer::PleaseWait => Apdu::new(0x84, 0x9C, Vec::new()),
            EcrAnswer::PartialIssue { amount } => {
                let mut data = vec![0x04];
                data.extend_from_slice(&bcd::encode_amount(amount)?);
                Apdu::new(0x84, 0x9D, data)
            }
            EcrAnswer::Nack(code) => Apdu::new(0x84, code, Vec::new()),
        })
    }
}

/// Decodes an APDU from the ECR: `80 00` and `84 xx` are answers, everything else a
/// command ([`Command::Unsupported`] when posagent does not implement it).
pub fn decode_ecr(apdu: &Apdu) -> Result<EcrMessage, DecodeError> {
    match (apdu.class, apdu.instr) {
        (0x80, 0x00) | (0x84, 0x00) => Ok(EcrMessage::Answer(EcrAnswer::Ack)),
        (0x84, 0x9C) => Ok(EcrMessage::Answer(EcrAnswer::PleaseWait)),
        (0x84, 0x9D) => {
            let bmps = Bmps::parse(&apdu.data, 0)?;
            let amount = bmps
                .number(0x04, "amount")?
                .ok_or(DecodeError::Missing { command: "partial issue 84 9D", what: "amount (BMP 04)" })?;
            Ok(EcrMessage::Answer(EcrAnswer::PartialIssue { amount }))
        }
        (0x84, code) => Ok(EcrMessage::Answer(EcrAnswer::Nack(code))),
        _ => Command::decode(apdu).map(EcrMessage::Command),
    }
}
