//! The ZVT protocol codec (ECR-Interface ZVT: PA00P016 transport/application protocol,
//! PA00P015 commands, bitmaps, error messages) for posagent as the payment terminal.
//!
//! Pure: bytes in, typed messages out and back. No I/O; the session that reads the socket
//! or serial port, keeps the timers and runs the sale lives in the daemon. Every input is
//! decoded without panicking: malformed bytes are a [`DecodeError`] whose
//! [`DecodeError::nack_code`] is the negative answer the PT sends.
//!
//! - [`Apdu`], [`ApduReader`]: `CLASS INSTR LEN data` on a TCP stream [P16 §4, §5.2].
//! - [`decode_ecr`]: a command ([`Command`]) or the ECR's answer ([`EcrAnswer`]).
//! - [`PtMessage`]: what the PT sends, encoded (and decoded for tests and round trips).
//! - [`serial`]: the RS-232 block layer with its CRC [P16 §3].
//! - [`bmp`], [`tlv`], [`bcd`], [`text`]: the field formats.

pub mod apdu;
pub mod bcd;
pub mod bmp;
pub mod command;
pub mod completion;
pub mod ecr;
pub mod error;
pub mod fields;
pub mod fuzz;
pub mod pt;
pub mod receipt;
pub mod result_code;
pub mod serial;
pub mod status;
pub mod text;
pub mod tlv;

pub use apdu::{Apdu, ApduReader};
pub use command::{Authorization, Command, ConfigByte, Refund, Registration, Reversal};
pub use completion::Completion;
pub use ecr::{EcrAnswer, EcrMessage, decode_ecr};
pub use error::{DecodeError, EncodeError};
pub use fields::Password;
pub use pt::PtMessage;
pub use receipt::TextBlock;
pub use status::{EndOfDayTotals, StatusInformation};
pub use tlv::{TlvContainer, TlvObject, TlvValue};

/// The APDU bytes of a hex string (`"06 00 06 12 34 56"`, spaces optional); for tests,
/// fuzz seeds and documentation examples. `None` when it is not hex.
pub fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 == 1 {
        return None;
    }
    digits.chunks(2).map(|pair| std::str::from_utf8(pair).ok().and_then(|s| u8::from_str_radix(s, 16).ok())).collect()
}
