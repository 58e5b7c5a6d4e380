//! What one exchange produced: the answer, every intermediate status and status
//! information, the receipts as text lines, how it ended, and the raw transcript.

use crate::message::{Completion, IntermediateStatus, PrintLine, PtMessage, TextBlock};
use crate::status::StatusInfo;
use crate::transcript::Transcript;

/// Which timer ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// T3: no answer to the command.
    T3,
    /// T4: no completion.
    T4,
}

/// How the exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `06 0F` (or `80 00` for a command without completion: Log-Off, idle Abort).
    Completed,
    /// `06 1E <rc>`.
    Aborted(u8),
    /// `84 <code>` as the answer to the command.
    Refused(u8),
    /// The PT closed the connection.
    ConnectionClosed,
    /// The register closed it ([`crate::StatusAnswer::Close`]).
    ClosedByRegister,
    /// A timer ran out.
    TimedOut(Timer),
    /// Serial: a block was not acknowledged after two repeats; or another I/O error.
    LinkFailed(String),
}

/// One receipt as the PT sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// 06 D3 1F07: 01 merchant, 02 customer, 03 administration (None for 06 D1).
    pub receipt_type: Option<u8>,
    /// The text lines (line feeds as empty lines).
    pub lines: Vec<String>,
    /// Whether the PT closed it with a last-line attribute.
    pub complete: bool,
}

/// The result of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The PT's answer to the command (`80 00` / `84 xx`).
    pub first_answer: Option<PtMessage>,
    /// The PT's answer to a `06 B0` sent during the exchange.
    pub abort_answer: Option<PtMessage>,
    /// Every 04 FF.
    pub intermediate: Vec<IntermediateStatus>,
    /// Every 04 0F.
    pub status: Vec<StatusInfo>,
    /// The receipts, in order.
    pub receipts: Vec<Receipt>,
    /// The 06 0F.
    pub completion: Option<Completion>,
    /// How it ended.
    pub end: End,
    /// The result code: of 06 1E, else 27 of the last 04 0F, else 00 for a completion.
    pub result_code: Option<u8>,
    /// Everything on the line, with the violations.
    pub transcript: Transcript,
}

impl Outcome {
    /// The last status information.
    pub fn last_status(&self) -> Option<&StatusInfo> {
        self.status.last()
    }
}

/// Collects receipt lines from 06 D1 / 06 D3 into receipts.
#[derive(Debug, Default)]
pub(crate) struct ReceiptCollector {
    pub done: Vec<Receipt>,
    current: Option<Receipt>,
}

impl ReceiptCollector {
    fn current(&mut self) -> &mut Receipt {
        self.current.get_or_insert_with(Receipt::default)
    }

    pub fn line(&mut self, line: &PrintLine) {
        match line.feeds {
            Some(n) => self.current().lines.extend(std::iter::repeat_n(String::new(), usize::from(n))),
            None => self.current().lines.push(line.text.clone()),
        }
        if line.is_last() {
            self.close(true);
        }
    }

    pub fn block(&mut self, block: &TextBlock) {
        let receipt = self.current();
        if receipt.receipt_type.is_none() {
            receipt.receipt_type = block.receipt_type;
        }
        receipt.lines.extend(block.lines.iter().map(|(_, text)| text.clone()));
        if block.ends_receipt {
            self.close(true);
        }
    }

    pub fn close(&mut self, complete: bool) {
        if let Some(mut receipt) = self.current.take() {
            receipt.complete = complete;
            self.done.push(receipt);
        }
    }
}
