//! A receipt for the register's printer: the terminal's receipt document (the same one
//! its own printer prints) as lines of the register's width, each with its ZVT attribute
//! [P15 §3.5 Table 16: `01xx nnnn` centred, `0x1x` double width, `0xx1` double height],
//! sent as one Print Text-Block (06 D3) when the register takes them, else as Print
//! Lines (06 D1), each receipt closed by the end-of-receipt attribute.

use posagent_drivers::printer::{Align, Block, Document, wrap};
use posagent_zvt::{PtMessage, TextBlock};

/// End of a receipt (and switch between customer and merchant receipt).
const END_OF_RECEIPT: u8 = 0x81;

/// Which receipt (TLV 1F07).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    /// The store's copy.
    Merchant = 1,
    /// The customer's.
    Customer = 2,
    /// An administration receipt (end of day).
    Admin = 3,
}

/// The lines of `doc` at `width` characters, with their attributes.
pub fn lines(doc: &Document, width: usize) -> Vec<(u8, String)> {
    let count = |s: &str| s.chars().count();
    let mut out = vec![];
    for block in &doc.blocks {
        match block {
            Block::Line { text, style, align } => {
                let mut attribute = if *align == Align::Center { 0x40 } else { 0x00 };
                let mut cols = width;
                if style.double {
                    attribute |= 0x30;
                    cols = width / 2;
                }
                out.extend(wrap(text, cols, count).into_iter().map(|l| (attribute, l)));
            }
            Block::Columns { left, right, .. } => {
                let gap = width.saturating_sub(count(left) + count(right)).max(1);
                let line = format!("{left}{}{right}", " ".repeat(gap));
                out.extend(wrap(&line, width, count).into_iter().map(|l| (0x00, l)));
            }
            Block::Rule => out.push((0x00, "-".repeat(width))),
            Block::Feed(n) => out.extend((0..*n).map(|_| (0x00, String::new()))),
            // A QR code or a logo cannot go as text; the cut ends the receipt.
            _ => {}
        }
    }
    while out.last().is_some_and(|(_, l)| l.is_empty()) {
        out.pop();
    }
    // The no-break spaces inside amounts (CLDR) are plain spaces on a register's printer,
    // whose code page may lack them.
    for (_, line) in &mut out {
        if line.contains(['\u{a0}', '\u{202f}']) {
            *line = line.replace(['\u{a0}', '\u{202f}'], " ");
        }
    }
    out
}

/// The print commands of one receipt: a text block, or its lines one by one.
pub fn print_commands(doc: &Document, kind: ReceiptKind, width: usize, text_blocks: bool) -> Vec<PtMessage> {
    let lines = lines(doc, width);
    if text_blocks {
        return vec![PtMessage::TextBlock(TextBlock::closed(kind as u8, lines))];
    }
    let mut commands: Vec<PtMessage> =
        lines.into_iter().map(|(attribute, text)| PtMessage::PrintLine { attribute, text }).collect();
    commands.push(PtMessage::PrintLine { attribute: END_OF_RECEIPT, text: String::new() });
    commands
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use posagent_drivers::printer::TextStyle;

    #[test]
    fn a_document_becomes_lines_of_the_width_with_their_attributes() {
        let mut doc = Document::default();
        doc.styled("Klarna", TextStyle { bold: true, double: true }, Align::Center);
        doc.columns("Total", "12,34 €", false);
        doc.blocks.push(Block::Rule);
        doc.line("a long line that has to be wrapped at the width");
        doc.blocks.push(Block::Cut);
        let got = lines(&doc, 20);
        assert_eq!(got[0], (0x70, "Klarna".to_string()));
        assert_eq!(got[1], (0x00, format!("Total{}12,34 €", " ".repeat(8))));
        assert_eq!(got[2], (0x00, "-".repeat(20)));
        assert_eq!(got[3], (0x00, "a long line that has".to_string()));
        let lines_sent = print_commands(&doc, ReceiptKind::Customer, 20, false);
        assert_eq!(lines_sent.len(), got.len() + 1);
        assert_eq!(lines_sent.last(), Some(&PtMessage::PrintLine { attribute: 0x81, text: String::new() }));
        let block = print_commands(&doc, ReceiptKind::Customer, 20, true);
        assert!(
            matches!(&block[..], [PtMessage::TextBlock(b)] if b.receipt_type == 2 && b.lines.len() == got.len() + 1)
        );
    }
}
