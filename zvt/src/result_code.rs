//! Result codes of BMP 27, `06 1E` and `84 xx` [P15 §10], terminal status codes [P15 §11]
//! and intermediate status codes of `04 FF` [P15 §3.7 Table 17].

/// `00` no error.
pub const SUCCESS: u8 = 0x00;
/// `05`: a host code (01–63) posagent uses for "declined by the acquirer".
pub const DECLINED: u8 = 0x05;
/// `64` card not readable.
pub const CARD_NOT_READABLE: u8 = 0x64;
/// `6B` function deactivated (PT not registered).
pub const NOT_REGISTERED: u8 = 0x6B;
/// `6C` abort via timeout or abort key.
pub const ABORTED: u8 = 0x6C;
/// `6F` wrong currency.
pub const WRONG_CURRENCY: u8 = 0x6F;
/// `83` function not possible.
pub const FUNCTION_NOT_POSSIBLE: u8 = 0x83;
/// `9A` ZVT protocol error (parsing error, mandatory element missing).
pub const PROTOCOL_ERROR: u8 = 0x9A;
/// `9C` please wait.
pub const PLEASE_WAIT: u8 = 0x9C;
/// `9D` partial issue of goods (ECR answer to `04 0F`).
pub const PARTIAL_ISSUE: u8 = 0x9D;
/// `A3` no connection.
pub const NO_CONNECTION: u8 = 0xA3;
/// `B4` already reversed.
pub const ALREADY_REVERSED: u8 = 0xB4;
/// `B5` reversal not possible.
pub const REVERSAL_NOT_POSSIBLE: u8 = 0xB5;
/// `C3` maximum amount exceeded.
pub const MAX_AMOUNT_EXCEEDED: u8 = 0xC3;
/// `C5` payment method not supported.
pub const PAYMENT_METHOD_NOT_SUPPORTED: u8 = 0xC5;
/// `C8` amount too small.
pub const AMOUNT_TOO_SMALL: u8 = 0xC8;
/// `CC` printer not ready (ECR answer to `06 D1`/`06 D3`).
pub const PRINTER_NOT_READY: u8 = 0xCC;
/// `E2` card reader does not answer / defective.
pub const CARD_READER_DEFECTIVE: u8 = 0xE2;
/// `FF` system error (see TLV 1F16/1F17).
pub const SYSTEM_ERROR: u8 = 0xFF;

/// Terminal status `00` PT ready [P15 §11].
pub const TERMINAL_READY: u8 = 0x00;
/// Terminal status `DF` out of order [P15 §11].
pub const TERMINAL_OUT_OF_ORDER: u8 = 0xDF;

/// Intermediate status codes of `04 FF` [P15 §3.7 Table 17].
pub mod intermediate {
    /// `04` PT is waiting for response from FEP (the host).
    pub const WAITING_FOR_HOST: u8 = 0x04;
    /// `05` PT is sending auto-reversal.
    pub const AUTO_REVERSAL: u8 = 0x05;
    /// `0A` insert card.
    pub const INSERT_CARD: u8 = 0x0A;
    /// `0B` please remove card.
    pub const REMOVE_CARD: u8 = 0x0B;
    /// `0E` please wait (processing).
    pub const PROCESSING: u8 = 0x0E;
    /// `17` please wait.
    pub const PLEASE_WAIT: u8 = 0x17;
    /// `1C` approved, please take goods.
    pub const APPROVED: u8 = 0x1C;
    /// `1D` declined.
    pub const DECLINED: u8 = 0x1D;
    /// `FF` no matching code: the text is in TLV 24/07 (and a timeout must be sent).
    pub const SEE_TEXT: u8 = 0xFF;
}
