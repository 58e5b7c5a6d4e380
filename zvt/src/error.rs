//! The codec's errors: what did not decode, where, and the negative answer it earns.

use thiserror::Error;

/// A byte string that is not a well-formed ZVT APDU or message.
///
/// Offsets count from the first byte of the APDU's data block (after CLASS, INSTR and
/// the length field) unless the variant says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes than the APDU header (CLASS INSTR LEN, or LEN FF lo hi) needs.
    #[error("APDU header truncated: {len} bytes, at least {needed} needed")]
    TruncatedHeader {
        /// Bytes present.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The length field does not match the bytes that follow it.
    #[error("APDU length field says {declared} data bytes, {actual} follow")]
    LengthMismatch {
        /// The length the APDU declares.
        declared: usize,
        /// The data bytes actually present.
        actual: usize,
    },
    /// A BMP number the length table of [P15 §13] does not know: its length cannot be skipped.
    #[error("unknown BMP {bmp:02X} at offset {offset}: its length is unknown, the rest cannot be parsed")]
    UnknownBmp {
        /// The BMP number.
        bmp: u8,
        /// Where it starts.
        offset: usize,
    },
    /// The same BMP twice in one message.
    #[error("BMP {bmp:02X} given twice (second at offset {offset})")]
    DuplicateBmp {
        /// The BMP number.
        bmp: u8,
        /// Where the second one starts.
        offset: usize,
    },
    /// A field whose length runs past the end of the data.
    #[error("{what} at offset {offset} needs {needed} bytes, {available} left")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left in the data.
        available: usize,
    },
    /// A BCD field with a nibble that is not a decimal digit.
    #[error("{what} at offset {offset} is not BCD (byte {byte:02X})")]
    NotBcd {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// An LLVAR/LLLVAR length whose bytes are not of the form `Fx` with x a digit.
    #[error("BMP {bmp:02X} at offset {offset}: variable length not in F-form ({bytes:02X?})")]
    BadVarLength {
        /// The BMP number.
        bmp: u8,
        /// Where the BMP starts.
        offset: usize,
        /// The length bytes.
        bytes: Vec<u8>,
    },
    /// A TLV container that does not decode [P15 §9.3].
    #[error("TLV at offset {offset}: {reason}")]
    Tlv {
        /// Offset within the TLV container's bytes.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A field the command requires is absent.
    #[error("{command}: mandatory {what} missing")]
    Missing {
        /// The command or message.
        command: &'static str,
        /// The field.
        what: &'static str,
    },
    /// A field is present but its value is not allowed there.
    #[error("{what} at offset {offset}: {reason}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Bytes left after the last field a fixed-layout message can hold.
    #[error("{command}: {count} unexpected bytes at offset {offset}")]
    TrailingData {
        /// The command or message.
        command: &'static str,
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// An APDU that is not one of the messages a PT sends.
    #[error("APDU {class:02X} {instr:02X} is not a PT message this codec knows")]
    NotAPtMessage {
        /// CLASS byte.
        class: u8,
        /// INSTR byte.
        instr: u8,
    },
}

impl DecodeError {
    /// The error ID of the negative answer `84 xx 00` the PT sends for this error.
    ///
    /// Every malformed APDU is a ZVT protocol error `9A` [P15 §10], except an unknown BMP,
    /// which the BMP summary asks PTs to answer with `83` ("respond to unknown bitmaps with an
    /// error: 84 83 00" [P15 §13]).
    pub fn nack_code(&self) -> u8 {
        match self {
            DecodeError::UnknownBmp { .. } => crate::result_code::FUNCTION_NOT_POSSIBLE,
            _ => crate::result_code::PROTOCOL_ERROR,
        }
    }
}

/// A message that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A number with more digits than its BCD field holds.
    #[error("{what} = {value} does not fit in {digits} BCD digits")]
    NumberTooLarge {
        /// The field.
        what: &'static str,
        /// The value.
        value: u64,
        /// Digits the field holds.
        digits: usize,
    },
    /// A text or byte field longer than its format allows.
    #[error("{what} is {len} bytes, at most {max} allowed")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A value a field's format cannot represent.
    #[error("{what}: {reason}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}
