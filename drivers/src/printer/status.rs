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
    fn every_variable_bit_of_every_reply_is_read_as_the_reference_gives_it() {
        let ok = PrinterStatus::default();
        let offline = PrinterStatus { offline: true, ..ok };
        let cover = PrinterStatus { cover_open: true, ..ok };
        let out = PrinterStatus { paper_out: true, ..ok };
        let low = PrinterStatus { paper_low: true, ..ok };
        let error = PrinterStatus { error: true, ..ok };
        // (reply index, bit, expected): bits 0, 1, 4, 7 are the fixed pattern.
        let cases = [
            (0, 2, ok),      // drawer-kick connector pin 3
            (0, 3, offline), // offline
            (0, 5, ok),      // waiting for online recovery
            (0, 6, ok),      // paper feed button pressed
            (1, 2, cover),   // cover open
            (1, 3, ok),      // paper being fed by the button
            (1, 5, out),     // printing stopped: paper end
            (1, 6, error),   // an error occurred
            (2, 2, error),   // recoverable error
            (2, 3, error),   // autocutter error
            (2, 5, error),   // unrecoverable error
            (2, 6, error),   // auto-recoverable error
            (3, 2, low),     // roll paper near-end sensor
            (3, 3, low),     // (both bits of the near-end pair)
            (3, 5, out),     // roll paper end sensor
            (3, 6, out),     // (both bits of the end pair)
        ];
        for (reply, bit, expected) in cases {
            let mut replies = [0x12u8; 4];
            replies[reply] |= 1 << bit;
            assert_eq!(parse_status(replies), Some(expected), "reply {} bit {bit}", reply + 1);
        }
        for fixed in [0, 1, 4, 7] {
            for reply in 0..4 {
                let mut replies = [0x12u8; 4];
                replies[reply] ^= 1 << fixed;
                assert_eq!(parse_status(replies), None, "reply {} fixed bit {fixed} flipped", reply + 1);
            }
        }
    }

    #[test]
    fn bytes_that_break_the_pattern_are_refused() {
        assert_eq!(parse_status([0x00, 0x12, 0x12, 0x12]), None);
        assert_eq!(parse_status([0x12, 0x12, 0x12, 0x93]), None);
    }
}
