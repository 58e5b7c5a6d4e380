//! Decodes what a receipt printer received into ESC/POS commands and text, from the
//! command lengths Epson documents (and docs/protocols.md lists), so a test can assert
//! the receipt byte by byte without posagent's encoder.

/// One piece of the printer's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A command with its parameters (and data), as received.
    Command(Vec<u8>),
    /// Printable text up to a line feed or a command.
    Text(Vec<u8>),
    /// A line feed.
    Feed,
}

impl Item {
    pub fn is(&self, prefix: &[u8]) -> bool {
        matches!(self, Item::Command(c) if c.starts_with(prefix))
    }
}

fn le16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*b.get(at)?) | usize::from(*b.get(at + 1)?) << 8)
}

/// The length of the command at the start of `b`, or None when it is cut short or
/// unknown.
fn command_len(b: &[u8]) -> Option<usize> {
    let (a, c) = (*b.first()?, *b.get(1)?);
    Some(match (a, c) {
        (0x10, 0x04) | (0x10, 0x05) => 3,
        (0x10, 0x14) => 5,
        (0x1b, b'@') | (0x1b, b'2') => 2,
        (0x1b, b'p') => 5,
        (0x1b, b'*') => 5 + le16(b, 3)? * if *b.get(2)? >= 32 { 3 } else { 1 },
        (0x1b, b't' | b'a' | b'E' | b'd' | b'!' | b'-' | b'M' | b'J' | b'3' | b'G' | b'R' | b'{' | b'=') => 3,
        (0x1d, b'V') => {
            if *b.get(2)? >= 65 {
                4
            } else {
                3
            }
        }
        (0x1d, b'(') => 5 + le16(b, 3)?,
        (0x1d, b'v') => 8 + le16(b, 4)? * le16(b, 6)?,
        (0x1d, b'!' | b'I' | b'r' | b'a' | b'B' | b'H' | b'h' | b'w' | b'f') => 3,
        (0x1d, b'L' | b'W') => 4,
        _ => return None,
    })
}

/// Splits the received bytes; panics on a command it does not know, naming it.
pub fn decode(bytes: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut text = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, 0x10 | 0x1b | 0x1c | 0x1d) || b == b'\n' {
            if !text.is_empty() {
                items.push(Item::Text(std::mem::take(&mut text)));
            }
            if b == b'\n' {
                items.push(Item::Feed);
                i += 1;
                continue;
            }
            let n = command_len(&bytes[i..]).unwrap_or_else(|| {
                panic!("unknown or cut-short command at byte {i}: {:02x?}", &bytes[i..bytes.len().min(i + 8)])
            });
            assert!(i + n <= bytes.len(), "command cut short at byte {i}: {:02x?}", &bytes[i..]);
            items.push(Item::Command(bytes[i..i + n].to_vec()));
            i += n;
        } else {
            text.push(b);
            i += 1;
        }
    }
    if !text.is_empty() {
        items.push(Item::Text(text));
    }
    items
}

/// The documents in the input: from each `ESC @` up to and including the next cut.
pub fn documents(items: &[Item]) -> Vec<&[Item]> {
    let mut docs = Vec::new();
    let mut start = None;
    for (i, item) in items.iter().enumerate() {
        if item.is(&[0x1b, b'@']) {
            start.get_or_insert(i);
        } else if item.is(&[0x1d, b'V']) {
            if let Some(s) = start.take() {
                docs.push(&items[s..=i]);
            }
        }
    }
    docs
}

/// The text lines of a document (PC858: ASCII as is, other bytes as `?`).
pub fn text_lines(doc: &[Item]) -> Vec<String> {
    let mut lines = vec![String::new()];
    for item in doc {
        match item {
            Item::Text(t) => {
                let last = lines.last_mut().unwrap();
                last.extend(t.iter().map(|&c| if c.is_ascii() { c as char } else { '?' }));
            }
            Item::Feed => lines.push(String::new()),
            Item::Command(_) => {}
        }
    }
    lines
}
