//! Secure card readers speaking posagent's serial framing (`docs/card-reader-protocol.md`):
//! commands to enable for an amount, cancel, beep, ask for the firmware; events card presented / read (encrypted,
//! masked PAN only) / removed / error.

mod driver;
mod frame;
mod messages;

pub use driver::{ACK_TIMEOUT, CardReader, CardReaderError, MAX_RETRANSMIT};
pub use frame::{ACK, Decoded, ETX, MAX_LEN, NAK, STX, decode, encode};
pub use messages::{
    CardRead, ENABLE_PIN, EntryMode, Event, EventError, card_read_tlv, cmd, enable, enable_with, evt, info_payload,
    parse_event, tag,
};
