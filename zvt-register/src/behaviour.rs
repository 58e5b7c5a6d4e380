//! How the register answers, per call: the faults of real registers (negative or missing
//! answers, slow answers, split writes, garbage) and its timers.

use std::time::Duration;

use crate::link::{SerialFaults, WriteFaults};

/// The answer to a `04 0F` status information [P15 §3.1.1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusAnswer {
    /// `80 00 00`.
    #[default]
    Ack,
    /// `84 00 00` (also positive).
    Positive84,
    /// `84 9C 00` (please repeat after 2 s) this many times, then `80 00 00`.
    PleaseWait(u8),
    /// `84 <code> 00`: goods not issued, the PT reverses.
    Negative(u8),
    /// No answer at all (the PT's BMP 01 timeout runs).
    Silent,
    /// Close the connection instead of answering.
    Close,
}

/// The answer to a `06 D1` / `06 D3` receipt command [P15 §3.5].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiptAnswer {
    /// `80 00 00`.
    #[default]
    Ack,
    /// `84 CC 00` (printer not ready).
    PrinterNotReady,
    /// No answer.
    Silent,
}

/// The register's behaviour for one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// Answer to 04 0F.
    pub status_answer: StatusAnswer,
    /// Answer to 06 D1 / 06 D3.
    pub receipt_answer: ReceiptAnswer,
    /// Wait this long before every answer.
    pub answer_delay: Duration,
    /// Write the command one byte per write.
    pub split_command: bool,
    /// Bytes sent before the command.
    pub garbage_before_command: Vec<u8>,
    /// Serial faults (ignored on TCP).
    pub serial: SerialFaults,
    /// T3: time for the first answer (5 s) [P16 §5.2.5].
    pub t3: Duration,
    /// T4: time between PT messages until the completion (180 s), re-armed by 04 FF and
    /// 04 0F, set by the 04 FF `<timeout>` [P16 §5.2.6, P15 §3.7].
    pub t4: Duration,
    /// Enforce the table order of [P15 §3.1.1] in 04 0F (a violation otherwise).
    pub table_order: bool,
    /// Also re-arm T4 on other PT messages (06 D1, 06 D3); the spec names only 04 FF/04 0F.
    pub rearm_t4_on_every_message: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            status_answer: StatusAnswer::Ack,
            receipt_answer: ReceiptAnswer::Ack,
            answer_delay: Duration::ZERO,
            split_command: false,
            garbage_before_command: Vec::new(),
            serial: SerialFaults::default(),
            t3: Duration::from_secs(5),
            t4: Duration::from_secs(180),
            table_order: true,
            rearm_t4_on_every_message: false,
        }
    }
}

impl Behaviour {
    pub(crate) fn command_faults(&self) -> WriteFaults {
        WriteFaults { byte_by_byte: self.split_command, garbage_before: self.garbage_before_command.clone() }
    }
}
