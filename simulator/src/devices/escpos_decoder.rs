//! Decoder of the ESC/POS byte stream the simulated printer receives: commands in,
//! events out. Also turns a receipt's events into plain text.

use posagent_drivers::printer::CodePage;

/// One decoded command or run of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `ESC @`.
    Init,
    /// Printable text (already decoded from the code page).
    Text(String),
    /// `LF`.
    LineFeed,
    /// `ESC a n`.
    Align(u8),
    /// `ESC E n`.
    Bold(bool),
    /// `GS ! n`.
    Size(u8),
    /// `ESC t n`.
    CodeTable(u8),
    /// `ESC d n`.
    Feed(u8),
    /// `GS ( k` store data: the QR payload.
    QrData(Vec<u8>),
    /// `GS ( k` print.
    QrPrint,
    /// Other `GS ( k` functions (model, size, error correction).
    QrSetting,
    /// `GS v 0` raster image.
    Raster {
        /// Width in bytes.
        width_bytes: usize,
        /// Height in dots.
        height: usize,
        /// Bits.
        data: Vec<u8>,
    },
    /// `GS V`.
    Cut,
    /// `DLE EOT n`: the host asks for status `n`.
    StatusRequest(u8),
    /// `GS I n`: the host asks for printer information `n` (65: firmware version).
    IdRequest(u8),
    /// `ESC p m t1 t2`: pulse drawer-kick pin `m` (0: pin 2, 1: pin 5).
    DrawerKick(u8),
    /// A command this decoder skips (bytes kept for diagnostics).
    Unknown(Vec<u8>),
}

/// A command that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed ESC/POS at byte {0:#04x}")]
pub struct DecodeError(pub u8);

/// Decodes the first event of `buf`: `Ok(None)` if more bytes are needed.
pub fn decode(buf: &[u8], page: CodePage) -> Result<Option<(Event, usize)>, DecodeError> {
    let Some(&b0) = buf.first() else { return Ok(None) };
    match b0 {
        0x0A => Ok(Some((Event::LineFeed, 1))),
        0x1B => Ok(decode_esc(buf)),
        0x1D => decode_gs(buf),
        0x10 => decode_dle(buf),
        b if b < 0x20 => Ok(Some((Event::Unknown(vec![b]), 1))),
        _ => {
            let end = buf.iter().position(|&b| b < 0x20).unwrap_or(buf.len());
            Ok(Some((Event::Text(buf[..end].iter().map(|&b| page.decode_byte(b)).collect()), end)))
        }
    }
}

/// An `ESC …` command (`buf[0]` is ESC); `None` until it is complete.
fn decode_esc(buf: &[u8]) -> Option<(Event, usize)> {
    let need = |n: usize| buf.len() >= n;
    let ev = match *buf.get(1)? {
        b'@' => (Event::Init, 2),
        b'a' | b'E' | b't' | b'd' if !need(3) => return None,
        b'a' => (Event::Align(buf[2]), 3),
        b'E' => (Event::Bold(buf[2] & 1 == 1), 3),
        b't' => (Event::CodeTable(buf[2]), 3),
        b'd' => (Event::Feed(buf[2]), 3),
        b'p' if !need(5) => return None,
        b'p' => (Event::DrawerKick(buf[2] & 1), 5),
        _ if !need(3) => return None,
        _ => (Event::Unknown(buf[..3].to_vec()), 3),
    };
    Some(ev)
}

/// A `GS …` command (`buf[0]` is GS): size, id, cut, QR code, raster image.
fn decode_gs(buf: &[u8]) -> Result<Option<(Event, usize)>, DecodeError> {
    let need = |n: usize| buf.len() >= n;
    let Some(&b1) = buf.get(1) else { return Ok(None) };
    let ev = match b1 {
        b'!' if need(3) => (Event::Size(buf[2]), 3),
        b'I' if need(3) => (Event::IdRequest(buf[2]), 3),
        // GS V m, or GS V m n for m = 65/66.
        b'V' if need(3) && buf[2] < 65 => (Event::Cut, 3),
        b'V' if need(4) => (Event::Cut, 4),
        b'(' if need(5) && buf[2] == b'k' => {
            let len = usize::from(buf[3]) | usize::from(buf[4]) << 8;
            if !need(5 + len) {
                return Ok(None);
            }
            let ev = match &buf[5..5 + len] {
                [0x31, 0x50, 0x30, data @ ..] => Event::QrData(data.to_vec()),
                [0x31, 0x51, 0x30] => Event::QrPrint,
                [0x31, ..] => Event::QrSetting,
                _ => Event::Unknown(buf[..5 + len].to_vec()),
            };
            (ev, 5 + len)
        }
        b'v' if need(8) => {
            if buf[2] != b'0' {
                return Err(DecodeError(buf[2]));
            }
            let wb = usize::from(buf[4]) | usize::from(buf[5]) << 8;
            let h = usize::from(buf[6]) | usize::from(buf[7]) << 8;
            if !need(8 + wb * h) {
                return Ok(None);
            }
            (Event::Raster { width_bytes: wb, height: h, data: buf[8..8 + wb * h].to_vec() }, 8 + wb * h)
        }
        b'!' | b'V' | b'(' | b'v' => return Ok(None),
        _ if !need(3) => return Ok(None),
        _ => (Event::Unknown(buf[..3].to_vec()), 3),
    };
    Ok(Some(ev))
}

/// A `DLE EOT n` real-time status request (`buf[0]` is DLE).
fn decode_dle(buf: &[u8]) -> Result<Option<(Event, usize)>, DecodeError> {
    if buf.len() < 3 {
        return Ok(None);
    }
    if buf[1] != 0x04 {
        return Err(DecodeError(buf[1]));
    }
    Ok(Some((Event::StatusRequest(buf[2]), 3)))
}

/// Plain-text rendering of one receipt's events on paper `columns` wide, as the printer
/// lays it out: a double-width character takes two columns, and text reaching the edge
/// of the paper goes on at the start of the next line (the printer wraps where it must,
/// mid-word included).
pub fn render_text(events: &[Event], columns: usize) -> String {
    render(events, columns).0
}

/// The lines the printer had to wrap because they were wider than the paper (text as
/// sent, between line feeds). A receipt laid out right has none.
pub fn overflowing_lines(events: &[Event], columns: usize) -> Vec<String> {
    render(events, columns).1
}

fn render(events: &[Event], columns: usize) -> (String, Vec<String>) {
    let columns = columns.max(1);
    let mut out = String::new();
    let mut overflowed = vec![];
    // The line on paper, its width in columns, and the text since the last line feed.
    let (mut line, mut width, mut sent) = (String::new(), 0usize, String::new());
    let (mut align, mut scale) = (0u8, 1usize);
    let mut qr: Option<String> = None;
    let flush = |out: &mut String, line: &mut String, width: &mut usize, align: u8| {
        let pad = match align {
            1 => columns.saturating_sub(*width) / 2,
            2 => columns.saturating_sub(*width),
            _ => 0,
        };
        out.push_str(&" ".repeat(pad));
        out.push_str(line.trim_end());
        out.push('\n');
        line.clear();
        *width = 0;
    };
    for ev in events {
        match ev {
            Event::Text(t) => {
                sent.push_str(t);
                for c in t.chars() {
                    if width + scale > columns {
                        flush(&mut out, &mut line, &mut width, align);
                    }
                    line.push(c);
                    width += scale;
                }
            }
            Event::LineFeed => {
                if sent.chars().count() * scale > columns {
                    overflowed.push(std::mem::take(&mut sent));
                }
                sent.clear();
                flush(&mut out, &mut line, &mut width, align);
            }
            Event::Align(a) => align = *a,
            Event::Size(n) => scale = usize::from((n >> 4) & 7) + 1,
            Event::Feed(n) => (0..*n).for_each(|_| out.push('\n')),
            Event::QrData(d) => qr = Some(String::from_utf8_lossy(d).into_owned()),
            // Images stand in as one text mark, as wide as the mark (never wrapped).
            Event::QrPrint => {
                let mark = format!("[QR {}]", qr.take().unwrap_or_default());
                width += mark.chars().count();
                line.push_str(&mark);
            }
            Event::Raster { width_bytes, height, .. } => {
                let mark = format!("[image {}x{}]", width_bytes * 8, height);
                width += mark.chars().count();
                line.push_str(&mark);
            }
            Event::Cut => out.push_str("--- cut ---\n"),
            _ => {}
        }
    }
    if !line.is_empty() {
        flush(&mut out, &mut line, &mut width, align);
    }
    (out, overflowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_drivers::printer::{Align, Block, Document, PrinterProfile, TextStyle, encode_document};

    fn decode_all(mut bytes: &[u8]) -> Vec<Event> {
        let mut evs = vec![];
        while let Ok(Some((ev, n))) = decode(bytes, CodePage::Pc858) {
            evs.push(ev);
            bytes = &bytes[n..];
        }
        assert!(bytes.is_empty(), "undecoded tail {bytes:02x?}");
        evs
    }

    #[test]
    fn decodes_what_the_driver_encodes() {
        let mut doc = Document::default();
        doc.styled("Café", TextStyle { bold: true, double: false }, Align::Center);
        doc.columns("Total", "9,90 €", true);
        doc.push(Block::Qr { data: "https://k.test/p".into(), module_dots: 6 });
        doc.push(Block::Cut);
        let bytes = encode_document(&doc, &PrinterProfile { columns: 20, ..PrinterProfile::default() });
        let evs = decode_all(&bytes);
        assert!(evs.contains(&Event::QrData(b"https://k.test/p".to_vec())));
        assert_eq!(evs.last(), Some(&Event::Cut));
        let text = render_text(&evs, 20);
        assert_eq!(text, "        Café\nTotal         9,90 €\n[QR https://k.test/p]\n--- cut ---\n");
    }

    #[test]
    fn partial_commands_wait_for_more_bytes() {
        assert_eq!(decode(&[0x1D, b'(', b'k', 5, 0, 0x31], CodePage::Pc858), Ok(None));
        assert_eq!(decode(&[0x1B], CodePage::Pc858), Ok(None));
        assert_eq!(decode(&[0x10, 0x04, 2], CodePage::Pc858), Ok(Some((Event::StatusRequest(2), 3))));
    }
}
