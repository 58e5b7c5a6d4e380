//! Real-time status (`DLE EOT n`) replies parsed into what the cashier must know.

/// `DLE EOT 1` … `DLE EOT 4`: transmit printer / offline cause / error cause / paper sensor status.
pub const DLE_EOT: [u8; 2] = [0x10, 0x04];

/// The printer's state as read from its real-time status bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterStatus {
    /// The printer is offline (cover open, paper end, error, feed button).
    pub offline: bool,
    /// The cover is open.
    pub cover_open: bool,
    /// Printing stopped because the paper ran out.
    pub paper_out: bool,
    /// The paper roll is nearly empty.
    pub paper_low: bool,
    /// A mechanical, auto-cutter or unrecoverable error occurred.
    pub error: bool,
}

/// Parses the replies to `DLE EOT 1`, `2`, `3` and `4` (in that order) into a status.
///
/// Each reply byte has the fixed pattern `0xx1xx10`; anything else is `None` (a
/// protocol error: the byte was not a status reply).
pub fn parse_status(replies: [u8; 4]) -> Option<PrinterStatus> {
    if replies.iter().any(|b| b & 0b1001_0011 != 0b0001_0010) {
        return None;
    }
    let [printer, offline, error, paper] = replies;
    Some(PrinterStatus {
        offline: printer & 0x08 != 0,
        cover_open: offline & 0x04 != 0,
        paper_out: offline & 0x20 != 0 || paper & 0x60 != 0,
        paper_low: paper & 0x0C != 0,
        error: offline & 0x40 != 0 || error & 0x6C != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_printer_is_ok() {
        assert_eq!(parse_status([0x12, 0x12, 0x12, 0x12]), Some(PrinterStatus::default()));
    }

    #[test]
    fn paper_end_and_cover_open_are_read() {
        let s = parse_status([0x1A, 0x36, 0x12, 0x7E]);
        assert_eq!(
            s,
            Some(PrinterStatus { offline: true, cover_open: true, paper_out: true, paper_low: true, error: false })
        );
    }

    #[test]
    fn bytes_that_break_the_pattern_are_refused() {
        assert_eq!(parse_status([0x00, 0x12, 0x12, 0x12]), None);
        assert_eq!(parse_status([0x12, 0x12, 0x12, 0x93]), None);
    }
}
