//! "What the register printed": the PT's receipts as lines when the ECR prints them via
//! 06 D1/06 D3 (config bit 80), otherwise a receipt the register builds itself from the
//! 04 0F fields [P15 §2.1 Table 1, §6.3] — plus the facts a test compares with
//! posagent's journal and the acquirer's ledger.

use crate::command::config;
use crate::outcome::Outcome;
use crate::status::StatusInfo;

/// One printed receipt and its key facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printed {
    /// The lines on paper.
    pub lines: Vec<String>,
    /// Amount in minor units (from 04 0F).
    pub amount: Option<u64>,
    /// Receipt number (87).
    pub receipt_no: Option<u16>,
    /// Trace number (0B).
    pub trace: Option<u32>,
    /// Card name (8B).
    pub card_name: Option<String>,
    /// The reference (3C additional text).
    pub reference: Option<String>,
}

fn facts(info: Option<&StatusInfo>) -> Printed {
    Printed {
        lines: Vec::new(),
        amount: info.and_then(|i| i.amount),
        receipt_no: info.and_then(|i| i.receipt_no),
        trace: info.and_then(|i| i.trace),
        card_name: info.and_then(|i| i.card_name.clone()),
        reference: info.and_then(|i| i.additional_text.clone()),
    }
}

/// The amount as printed: `12,34` (minor units, two decimals).
pub fn format_amount(minor: u64) -> String {
    format!("{},{:02}", minor / 100, minor % 100)
}

/// The lines a register builds from a status information (config bit 80 clear, §6.3's
/// minimum data).
pub fn build_from_status(info: &StatusInfo) -> Vec<String> {
    let mut lines = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            lines.push(format!("{label}: {value}"));
        }
    };
    push("Card", info.card_name.clone());
    push("Amount EUR", info.amount.map(format_amount));
    push("TID", info.terminal_id.clone());
    push("Date", info.date.clone());
    push("Time", info.time.clone());
    push("Trace", info.trace.map(|t| format!("{t:06}")));
    push("Receipt", info.receipt_no.map(|r| format!("{r:04}")));
    push("Result", info.result_code.map(|r| format!("{r:02X}")));
    push("Ref", info.additional_text.clone());
    lines
}

/// What a register with `config_byte` printed for `outcome`: nothing if it prints no
/// payment receipts (bit 02 clear), the PT's receipts (bit 80 set), or its own.
pub fn printed(outcome: &Outcome, config_byte: u8) -> Vec<Printed> {
    if config_byte & (config::ECR_PRINTS_PAYMENT | config::ECR_PRINTS_ADMIN) == 0 {
        return Vec::new();
    }
    let info = outcome.last_status();
    if config_byte & config::PRINT_LINES != 0 {
        return outcome.receipts.iter().map(|r| Printed { lines: r.lines.clone(), ..facts(info) }).collect();
    }
    info.map(|i| vec![Printed { lines: build_from_status(i), ..facts(Some(i)) }]).unwrap_or_default()
}
