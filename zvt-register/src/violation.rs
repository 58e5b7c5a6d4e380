//! Deviations from the specification the parser found in what the PT sent: recorded,
//! never quietly accepted, so a test can assert `transcript.violations()` is empty.

use std::fmt;

/// One deviation from the specification in one PT message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The control field of the message it was found in (`0x040F`).
    pub control: u16,
    /// What was wrong.
    pub kind: ViolationKind,
}

/// What was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A BMP not in [P15 §13]: its length is unknown, the rest of the message is unread.
    UnknownBmp(u8),
    /// A known BMP that the table for this message (e.g. [P15 §3.1.1]) does not list.
    BmpNotAllowed(u8),
    /// A BMP that comes before one it follows in the table of [P15 §3.1.1].
    OutOfTableOrder {
        /// The BMP that came too late.
        bmp: u8,
        /// The BMP before it that the table puts after it.
        after: u8,
    },
    /// The same BMP twice.
    DuplicateBmp(u8),
    /// A BCD field with a nibble that is not a digit (or not E/F where allowed).
    BadBcd(u8),
    /// An LLVAR/LLLVAR prefix that is not `Fx Fy [Fz]`.
    BadVarLength(u8),
    /// A field whose value runs past the end of the message.
    Truncated(u8),
    /// The TLV container (BMP 06) did not decode.
    BadTlv(String),
    /// A value of the right length whose content breaks the spec (e.g. 8B not
    /// null-terminated, BMP 60 of the wrong length).
    BadValue {
        /// The BMP (or 0 for a fixed field).
        bmp: u8,
        /// What was wrong with it.
        why: String,
    },
    /// A message shape the spec does not allow here (short data, a command the PT may
    /// not send now, bytes that are not an APDU on the serial line).
    Protocol(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [class, instr] = self.control.to_be_bytes();
        write!(f, "{class:02X} {instr:02X}: ")?;
        match &self.kind {
            ViolationKind::UnknownBmp(b) => write!(f, "unknown BMP {b:02X} (not in P15 §13); rest unread"),
            ViolationKind::BmpNotAllowed(b) => write!(f, "BMP {b:02X} is not in this message's table"),
            ViolationKind::OutOfTableOrder { bmp, after } => {
                write!(f, "BMP {bmp:02X} after {after:02X}, against the table order of P15 §3.1.1")
            }
            ViolationKind::DuplicateBmp(b) => write!(f, "BMP {b:02X} sent twice"),
            ViolationKind::BadBcd(b) => write!(f, "BMP {b:02X} is not valid BCD"),
            ViolationKind::BadVarLength(b) => write!(f, "BMP {b:02X} has a bad LLVAR/LLLVAR prefix"),
            ViolationKind::Truncated(b) => write!(f, "BMP {b:02X} runs past the end of the message"),
            ViolationKind::BadTlv(why) => write!(f, "TLV container: {why}"),
            ViolationKind::BadValue { bmp, why } => write!(f, "BMP {bmp:02X}: {why}"),
            ViolationKind::Protocol(why) => write!(f, "{why}"),
        }
    }
}
