//! The raw record of an exchange: every APDU and every serial ACK/NAK or stray byte,
//! with its direction and time, and the spec violations found in what the PT sent.

use std::time::Duration;

use crate::violation::Violation;

/// Who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The register (this crate) sent it.
    EcrToPt,
    /// The PT sent it.
    PtToEcr,
}

/// What travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A whole APDU (on serial: the frame's content).
    Apdu,
    /// A serial ACK (`06`).
    Ack,
    /// A serial NAK (`15`).
    Nak,
    /// Bytes that are no APDU: garbage the register sent on purpose, noise received, a
    /// frame with a bad CRC.
    Noise,
}

/// One transcript entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Time since the link was opened.
    pub at: Duration,
    /// Who sent it.
    pub direction: Direction,
    /// What it was.
    pub kind: EntryKind,
    /// The bytes (APDU encoding for [`EntryKind::Apdu`]).
    pub bytes: Vec<u8>,
}

/// The transcript of one exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Everything sent and received, in order.
    pub entries: Vec<Entry>,
    /// Deviations from the spec in what the PT sent.
    pub violations: Vec<Violation>,
}

impl Transcript {
    /// The deviations found (a conforming PT leaves this empty).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The APDUs in one direction, as bytes.
    pub fn apdus(&self, direction: Direction) -> Vec<&[u8]> {
        self.entries
            .iter()
            .filter(|e| e.direction == direction && e.kind == EntryKind::Apdu)
            .map(|e| e.bytes.as_slice())
            .collect()
    }

    /// A hex dump, one entry per line (`+0.012s ECR→PT 06 01 …`), for test failures.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let arrow = if e.direction == Direction::EcrToPt { "ECR→PT" } else { "PT→ECR" };
            let hex: Vec<String> = e.bytes.iter().map(|b| format!("{b:02X}")).collect();
            out.push_str(&format!("+{:.3}s {arrow} {:?} {}\n", e.at.as_secs_f64(), e.kind, hex.join(" ")));
        }
        for v in &self.violations {
            out.push_str(&format!("violation: {v}\n"));
        }
        out
    }
}
