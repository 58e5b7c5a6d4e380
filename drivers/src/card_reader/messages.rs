//! Commands to and events from the card reader (protocol v2, `docs/card-reader-protocol.md`
//! §3–§5): payloads, the transaction id every event carries, the ERROR code table.

use zeroize::Zeroizing;

/// Command codes (host → reader).
pub mod cmd {
    /// Wait for a card for an amount (opens a transaction).
    pub const ENABLE: u8 = 0x10;
    /// End a transaction; the reader forgets any read of it.
    pub const CANCEL: u8 = 0x11;
    /// Beep `n` times.
    pub const BEEP: u8 = 0x12;
    /// Set the LED.
    pub const LED: u8 = 0x13;
    /// Protocol version, firmware version and model.
    pub const INFO: u8 = 0x14;
    /// Keep-alive; answered with STATUS.
    pub const PING: u8 = 0x16;
    /// The sale's outcome for the read of a transaction.
    pub const OUTCOME: u8 = 0x17;
}

/// Event codes (reader → host).
pub mod evt {
    /// A card was presented (entry mode follows).
    pub const CARD_PRESENTED: u8 = 0x81;
    /// The encrypted card read (TLV).
    pub const CARD_READ: u8 = 0x82;
    /// The card was removed.
    pub const CARD_REMOVED: u8 = 0x83;
    /// The reader failed (code, text).
    pub const ERROR: u8 = 0x84;
    /// A transaction ended (reason).
    pub const IDLE: u8 = 0x86;
    /// Answer to INFO.
    pub const INFO: u8 = 0x87;
    /// Answer to PING.
    pub const STATUS: u8 = 0x88;
}

/// TLV tags of a card read.
pub mod tag {
    /// Masked PAN, ASCII (`411111******1111`).
    pub const MASKED_PAN: u8 = 0x01;
    /// AES DUKPT key serial number, 12 bytes.
    pub const KSN: u8 = 0x02;
    /// Encrypted card data.
    pub const PAYLOAD: u8 = 0x03;
    /// Entry mode, one byte.
    pub const ENTRY_MODE: u8 = 0x04;
    /// Encrypted PIN block (ISO 9564 format 4), 16 bytes.
    pub const PIN_BLOCK: u8 = 0x05;
    /// Cardholder verification performed, one byte.
    pub const CVM: u8 = 0x06;
    /// AID of the application read (EMV 4F), 5–16 bytes; chip and contactless only.
    pub const AID: u8 = 0x07;
    /// Application label (EMV 50), 1–16 printable ASCII; chip and contactless only.
    pub const APPLICATION_LABEL: u8 = 0x08;
}

/// The protocol version this host speaks.
pub const PROTOCOL_MAJOR: u8 = 2;
/// Minor version.
pub const PROTOCOL_MINOR: u8 = 0;

/// ENABLE flag: chip and online PIN only.
pub const ENABLE_PIN: u8 = 0x01;
/// ENABLE flag: a swipe is refused (ERROR `USE_CHIP`).
pub const ENABLE_NO_SWIPE: u8 = 0x02;

/// How the card was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryMode {
    /// Chip inserted.
    Chip,
    /// Tapped.
    Contactless,
    /// Swiped.
    Swipe,
}

impl EntryMode {
    /// Wire byte.
    pub fn code(self) -> u8 {
        match self {
            EntryMode::Chip => 1,
            EntryMode::Contactless => 2,
            EntryMode::Swipe => 3,
        }
    }

    /// From the wire byte.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(EntryMode::Chip),
            2 => Some(EntryMode::Contactless),
            3 => Some(EntryMode::Swipe),
            _ => None,
        }
    }

    /// Name used by the acquirer API and the store config.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryMode::Chip => "CHIP",
            EntryMode::Contactless => "CONTACTLESS",
            EntryMode::Swipe => "SWIPE",
        }
    }
}

/// The cardholder verification the reader performed (tag 0x06).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cvm {
    /// None (e.g. contactless under the CVM limit).
    None,
    /// PIN to be verified online by the issuer (the read has a PIN block).
    OnlinePin,
    /// PIN verified offline by the chip.
    OfflinePin,
    /// Signature.
    Signature,
    /// Verified on the customer's phone or watch.
    ConsumerDevice,
}

impl Cvm {
    /// From the wire byte.
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => Cvm::None,
            1 => Cvm::OnlinePin,
            2 => Cvm::OfflinePin,
            3 => Cvm::Signature,
            4 => Cvm::ConsumerDevice,
            _ => return None,
        })
    }

    /// Wire byte.
    pub fn code(self) -> u8 {
        match self {
            Cvm::None => 0,
            Cvm::OnlinePin => 1,
            Cvm::OfflinePin => 2,
            Cvm::Signature => 3,
            Cvm::ConsumerDevice => 4,
        }
    }

    /// Name for the journal and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Cvm::None => "NONE",
            Cvm::OnlinePin => "ONLINE_PIN",
            Cvm::OfflinePin => "OFFLINE_PIN",
            Cvm::Signature => "SIGNATURE",
            Cvm::ConsumerDevice => "CONSUMER_DEVICE",
        }
    }
}

/// An encrypted card read. Holds no clear card number; the encrypted parts are zeroed
/// when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    /// Masked PAN.
    pub masked_pan: String,
    /// Key serial number (12 bytes).
    pub ksn: Vec<u8>,
    /// Encrypted card data.
    pub payload: Zeroizing<Vec<u8>>,
    /// How it was read.
    pub entry_mode: EntryMode,
    /// Encrypted PIN block, if a PIN was entered online.
    pub pin_block: Option<Zeroizing<Vec<u8>>>,
    /// The verification the reader performed.
    pub cvm: Cvm,
    /// AID of the application read (chip and contactless), for the receipt.
    pub aid: Option<Vec<u8>>,
    /// Application label (chip and contactless), for the receipt.
    pub application_label: Option<String>,
}

impl CardRead {
    /// The AID in upper-case hex, as receipts print it (`A0000000031010`).
    pub fn aid_hex(&self) -> Option<String> {
        self.aid.as_ref().map(|a| a.iter().map(|b| format!("{b:02X}")).collect())
    }
}

impl std::fmt::Debug for CardRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardRead")
            .field("masked_pan", &self.masked_pan)
            .field("entry_mode", &self.entry_mode)
            .field("cvm", &self.cvm)
            .field("aid", &self.aid_hex())
            .field("application_label", &self.application_label)
            .finish_non_exhaustive()
    }
}

/// What an ERROR code means for the sale (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The customer tries again; the reader keeps waiting.
    Retryable,
    /// The transaction is over (IDLE FAILED follows).
    EndsTransaction,
    /// The command was not executed.
    CommandRefused,
    /// The reader is out of service until repaired.
    OutOfService,
}

/// A reader ERROR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// Card unreadable (retryable).
    pub const CARD_UNREADABLE: ErrorCode = ErrorCode(0x01);
    /// Insert the chip (retryable).
    pub const USE_CHIP: ErrorCode = ErrorCode(0x03);
    /// The customer canceled the PIN entry.
    pub const PIN_CANCELED: ErrorCode = ErrorCode(0x10);
    /// Unknown command or bad length.
    pub const BAD_COMMAND: ErrorCode = ErrorCode(0x20);
    /// Tamper detected.
    pub const TAMPER: ErrorCode = ErrorCode(0x32);

    /// Its class; unknown codes by their range.
    pub fn class(self) -> ErrorClass {
        match self.0 {
            0x00..=0x0F => ErrorClass::Retryable,
            0x20 => ErrorClass::CommandRefused,
            0x10..=0x2F => ErrorClass::EndsTransaction,
            _ => ErrorClass::OutOfService,
        }
    }

    /// The code's name from the table, or `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x01 => "CARD_UNREADABLE",
            0x02 => "CARD_REMOVED_EARLY",
            0x03 => "USE_CHIP",
            0x04 => "MULTIPLE_CARDS",
            0x05 => "USE_OTHER_INTERFACE",
            0x10 => "PIN_CANCELED",
            0x11 => "PIN_TRIES_EXCEEDED",
            0x12 => "CARD_DECLINED_OFFLINE",
            0x13 => "NO_PIN_PAD",
            0x14 => "CURRENCY_NOT_SUPPORTED",
            0x20 => "BAD_COMMAND",
            0x30 => "KEYS_MISSING",
            0x31 => "KEYS_EXHAUSTED",
            0x32 => "TAMPER",
            0x33 => "INTERNAL",
            _ => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:#04x})", self.name(), self.0)
    }
}

/// Why a transaction ended (IDLE reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdleReason {
    /// CANCEL.
    Canceled,
    /// No card in time.
    TimedOut,
    /// OUTCOME shown.
    Completed,
    /// The chip declined after the host approved: reverse the authorization.
    CardDeclined,
    /// A new ENABLE.
    Superseded,
    /// CANCEL/OUTCOME for a transaction that was not open.
    NotOpen,
    /// The reader heard nothing from the host for 10 s.
    HostLost,
    /// An ERROR ended it.
    Failed,
    /// No OUTCOME within 120 s of the read.
    OutcomeTimeout,
    /// A reason this host does not know.
    Other(u8),
}

impl IdleReason {
    /// From the wire byte.
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => IdleReason::Canceled,
            1 => IdleReason::TimedOut,
            2 => IdleReason::Completed,
            3 => IdleReason::CardDeclined,
            4 => IdleReason::Superseded,
            5 => IdleReason::NotOpen,
            6 => IdleReason::HostLost,
            7 => IdleReason::Failed,
            8 => IdleReason::OutcomeTimeout,
            other => IdleReason::Other(other),
        }
    }
}

/// The reader's state in STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderState {
    /// No transaction open.
    Idle,
    /// Waiting for a card.
    Waiting,
    /// A read was delivered; waiting for OUTCOME.
    ReadDelivered,
    /// The customer is typing the PIN.
    PinEntry,
    /// Out of service.
    OutOfService,
    /// A state this host does not know.
    Other(u8),
}

/// What the reader answered to INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// Protocol major version.
    pub major: u8,
    /// Protocol minor version.
    pub minor: u8,
    /// Capability bits (chip, contactless, swipe, PIN pad).
    pub capabilities: u8,
    /// Firmware version, e.g. `2.4.1`.
    pub firmware: String,
    /// Model name.
    pub model: String,
}

impl ReaderInfo {
    /// Capability bit 3: the reader has a PIN pad.
    pub fn has_pin_pad(&self) -> bool {
        self.capabilities & 0x08 != 0
    }
}

/// An event from the reader. `txn` is the transaction it belongs to (0: none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Card presented.
    CardPresented {
        /// Transaction.
        txn: u32,
        /// How.
        mode: EntryMode,
    },
    /// Card read.
    CardRead {
        /// Transaction.
        txn: u32,
        /// The encrypted read.
        read: CardRead,
    },
    /// Card removed.
    CardRemoved {
        /// Transaction.
        txn: u32,
    },
    /// Reader error.
    Error {
        /// Transaction, 0 if none.
        txn: u32,
        /// Code.
        code: ErrorCode,
        /// Reader's text (for the log).
        text: String,
    },
    /// A transaction ended.
    Idle {
        /// Transaction.
        txn: u32,
        /// Why.
        reason: IdleReason,
    },
    /// Answer to INFO.
    Info(ReaderInfo),
    /// Answer to PING.
    Status {
        /// What the reader is doing.
        state: ReaderState,
        /// Its open transaction, 0 if none.
        txn: u32,
        /// The ERROR code that put it out of service, 0 if none.
        fault: u8,
    },
}

impl Event {
    /// The transaction the event names (0 for INFO, STATUS and transaction-less ones).
    pub fn txn(&self) -> u32 {
        match self {
            Event::CardPresented { txn, .. }
            | Event::CardRead { txn, .. }
            | Event::CardRemoved { txn }
            | Event::Error { txn, .. }
            | Event::Idle { txn, .. } => *txn,
            Event::Info(_) | Event::Status { .. } => 0,
        }
    }
}

/// An event payload that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed card reader event {code:#04x} (transaction {txn}): {why}")]
pub struct EventError {
    /// Event code.
    pub code: u8,
    /// The transaction it named, 0 if unknown.
    pub txn: u32,
    /// What is wrong.
    pub why: &'static str,
}

/// An ENABLE command (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enable {
    /// Transaction id, not 0.
    pub txn: u32,
    /// Amount in minor units.
    pub amount: u32,
    /// ISO 4217 alpha code.
    pub currency: [u8; 3],
    /// Minor-unit digits.
    pub exponent: u8,
    /// Seconds to wait, 1–255.
    pub timeout_secs: u8,
    /// [`ENABLE_PIN`], [`ENABLE_NO_SWIPE`].
    pub flags: u8,
}

impl Enable {
    /// The 14-byte payload.
    pub fn payload(&self) -> Vec<u8> {
        let mut d = self.txn.to_be_bytes().to_vec();
        d.extend_from_slice(&self.amount.to_be_bytes());
        d.extend_from_slice(&self.currency);
        d.extend_from_slice(&[self.exponent, self.timeout_secs.max(1), self.flags]);
        d
    }
}

/// The sale's outcome sent to the reader (OUTCOME result byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Approved.
    Approved,
    /// Declined.
    Declined,
    /// Not completed (failed, canceled, unknown).
    NotCompleted,
}

/// The OUTCOME payload: txn, result, issuer data (BER-TLV, may be empty).
pub fn outcome_payload(txn: u32, outcome: Outcome, issuer_data: &[u8]) -> Vec<u8> {
    let mut d = txn.to_be_bytes().to_vec();
    d.push(match outcome {
        Outcome::Approved => 0,
        Outcome::Declined => 1,
        Outcome::NotCompleted => 2,
    });
    let issuer = &issuer_data[..issuer_data.len().min(512)];
    d.extend_from_slice(&(issuer.len() as u16).to_be_bytes());
    d.extend_from_slice(issuer);
    d
}

/// The INFO command's payload: the host's protocol version.
pub fn info_request() -> Vec<u8> {
    vec![PROTOCOL_MAJOR, PROTOCOL_MINOR]
}
