//! Secure card readers speaking posagent's card reader protocol v2
//! (`docs/card-reader-protocol.md`): sequenced, CRC-checked frames; transactions opened
//! by ENABLE whose id every event carries; encrypted reads with a masked PAN only.

mod driver;
mod frame;
mod messages;
mod parse;

pub use driver::{
    ACK_TIMEOUT, CardReader, CardReaderError, Inbound, KEEP_ALIVE, LinkStats, MAX_RETRANSMIT, MAX_SENDS, NAK_RESEND_GAP,
};
pub use frame::{
    ACK, Damage, ETX, Frame, INTER_BYTE_TIMEOUT, MAX_DATA, MAX_LEN, NAK, Received, Receiver, STX, ack, crc16, encode,
};
pub use messages::{
    CardRead, Cvm, ENABLE_NO_SWIPE, ENABLE_PIN, Enable, EntryMode, ErrorClass, ErrorCode, Event, EventError,
    IdleReason, Outcome, PROTOCOL_MAJOR, PROTOCOL_MINOR, ReaderInfo, ReaderState, cmd, evt, info_request,
    outcome_payload, tag,
};
pub use parse::{card_read_tlv, masked_pan_is_valid, parse_event};
