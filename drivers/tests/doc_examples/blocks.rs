//! The documents' machine-readable parts: ```` ```example <kind> ```` blocks of
//! `key: value` lines (the bytes on a `sender→receiver:` line, hex, continued on the
//! hex-only lines below it) and `| Bytes | Meaning |`-style markdown tables.

use std::cell::RefCell;

/// One example block; every key must be read by the test ([`Example::finish`]).
pub struct Example {
    pub kind: String,
    /// The document and line it starts on, for messages.
    pub at: String,
    fields: Vec<(String, String)>,
    used: RefCell<Vec<bool>>,
}

impl Example {
    /// The value of `key`, if the block has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        let i = self.fields.iter().position(|(k, _)| k == key)?;
        self.used.borrow_mut()[i] = true;
        Some(self.fields[i].1.as_str())
    }

    /// The value of `key`; the block must have it.
    pub fn req(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| panic!("{}: no `{key}:`", self.at))
    }

    /// The block's description (empty when it has none; [`Example::finish`] fails then).
    pub fn description(&self) -> &str {
        self.get("description").unwrap_or("")
    }

    /// A number (`0x2A` or `42`).
    pub fn num(&self, key: &str) -> u64 {
        number(self.req(key)).unwrap_or_else(|| panic!("{}: `{key}` is not a number", self.at))
    }

    /// A `0xNN NAME` value: the code and the name.
    pub fn code(&self, key: &str) -> (u8, String) {
        let v = self.req(key);
        let (n, name) = v.split_once(' ').unwrap_or_else(|| panic!("{}: `{key}: {v}` is not `0xNN NAME`", self.at));
        let n = number(n).and_then(|n| u8::try_from(n).ok()).unwrap_or_else(|| panic!("{}: bad code {v}", self.at));
        (n, name.trim().to_string())
    }

    /// Hex bytes (empty for an empty value).
    pub fn hex(&self, key: &str) -> Vec<u8> {
        hex(self.req(key)).unwrap_or_else(|| panic!("{}: `{key}` is not hex", self.at))
    }

    /// The bytes line: its direction (`host→reader`) and the bytes.
    pub fn bytes(&self) -> (String, Vec<u8>) {
        let i = self.fields.iter().position(|(k, _)| k.contains('→'));
        let i = i.unwrap_or_else(|| panic!("{}: no `sender→receiver:` bytes line", self.at));
        self.used.borrow_mut()[i] = true;
        let (dir, v) = &self.fields[i];
        (dir.clone(), hex(v).unwrap_or_else(|| panic!("{}: the bytes are not hex", self.at)))
    }

    /// Every key was checked: a key the test does not know is an error, not ignored.
    pub fn finish(&self) {
        assert!(self.get("description").is_some_and(|d| !d.is_empty()), "{}: no description", self.at);
        let unread: Vec<&str> = self
            .fields
            .iter()
            .zip(self.used.borrow().iter())
            .filter(|(_, used)| !**used)
            .map(|((k, _), _)| k.as_str())
            .collect();
        assert!(unread.is_empty(), "{}: keys no check reads: {unread:?}", self.at);
    }
}

/// `0x..` hex or decimal.
pub fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Space-separated two-digit hex bytes.
pub fn hex(s: &str) -> Option<Vec<u8>> {
    s.split_whitespace().map(|t| if t.len() == 2 { u8::from_str_radix(t, 16).ok() } else { None }).collect()
}

/// Bytes as the documents write them.
pub fn show(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// Every example block of `doc` (named `name` in messages).
pub fn examples(name: &str, doc: &str) -> Vec<Example> {
    let mut out = vec![];
    let mut cur: Option<Example> = None;
    for (n, line) in doc.lines().enumerate() {
        if let Some(ex) = cur.as_mut() {
            if line.trim() == "```" {
                out.extend(cur.take());
            } else if !line.contains(':') && hex(line).is_some_and(|b| !b.is_empty()) {
                let last = ex.fields.last_mut().unwrap_or_else(|| panic!("{}: hex before any key", ex.at));
                last.1.push(' ');
                last.1.push_str(line.trim());
            } else {
                let (k, v) = line.split_once(':').unwrap_or_else(|| panic!("{name}:{}: not `key: value`", n + 1));
                assert!(!ex.fields.iter().any(|(key, _)| key == k.trim()), "{name}:{}: `{k}` twice", n + 1);
                ex.fields.push((k.trim().to_string(), v.trim().to_string()));
                ex.used.borrow_mut().push(false);
            }
        } else if let Some(kind) = line.strip_prefix("```example ") {
            let at = format!("{name}:{}", n + 1);
            cur = Some(Example { kind: kind.trim().to_string(), at, fields: vec![], used: RefCell::new(vec![]) });
        }
    }
    assert!(cur.is_none(), "{name}: an example block is not closed");
    out
}

/// The first lines of fenced blocks that are not ```` ```example ```` blocks but hold a
/// line of at least three two-digit hex bytes (an example the test would not run).
pub fn unmarked_byte_blocks(doc: &str) -> Vec<usize> {
    let mut found = vec![];
    let mut open: Option<(usize, bool)> = None; // (first line, is an example)
    for (n, line) in doc.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match open {
            None if fence => open = Some((n + 1, line.trim_start().starts_with("```example "))),
            Some(_) if line.trim() == "```" => open = None,
            Some((at, false)) if !found.contains(&at) => {
                let hex_run = line.split_whitespace().filter(|t| hex(t).is_some_and(|b| b.len() == 1)).count();
                let digits = line.split_whitespace().all(|t| hex(t).is_some()) && hex_run >= 3;
                if digits || line.split_once(':').is_some_and(|(_, v)| hex(v).is_some_and(|b| b.len() >= 3)) {
                    found.push(at);
                }
            }
            _ => {}
        }
    }
    found
}

/// The rows (cells, trimmed) of the first table after the heading `section` whose
/// header row starts with `first_column`.
pub fn table(doc: &str, section: &str, first_column: &str) -> Vec<Vec<String>> {
    let at = doc.find(section).unwrap_or_else(|| panic!("no section {section}"));
    let mut lines = doc[at..].lines().skip_while(|l| !l.starts_with(&format!("| {first_column} |")));
    assert!(lines.next().is_some(), "{section}: no table starting with `{first_column}`");
    lines
        .skip(1) // |---|
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect()
}

/// A table cell's byte template, `1B 74 n` → `[Some(0x1B), Some(0x74), None]`: lower-case
/// names are one parameter byte each; a trailing `…` name (`d…`) or `+ 20 bytes` is the
/// rest, returned as how many more bytes (None: any).
pub fn template(cell: &str) -> (Vec<Option<u8>>, Option<Option<usize>>) {
    let inner = cell.split('`').nth(1).unwrap_or_else(|| panic!("`{cell}` has no bytes in backquotes"));
    let after = cell.split('`').nth(2).unwrap_or("");
    let mut bytes = vec![];
    let mut rest = None;
    for t in inner.split_whitespace() {
        if t.ends_with('…') {
            rest = Some(None);
        } else if t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()) {
            bytes.push(u8::from_str_radix(t, 16).ok());
        } else {
            assert!(t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == 'L' || c == 'H'), "{t}");
            bytes.push(None);
        }
    }
    if let Some(n) = after.trim().strip_prefix("+ ").and_then(|a| a.strip_suffix(" bytes")) {
        rest = Some(Some(n.parse().unwrap_or_else(|_| panic!("`{cell}`: bad byte count"))));
    }
    (bytes, rest)
}

/// Where `template` occurs in `out`, with the parameter bytes it bound.
pub fn find(out: &[u8], template: &[Option<u8>]) -> Option<(usize, Vec<u8>)> {
    (0..=out.len().checked_sub(template.len())?).find_map(|i| {
        let w = &out[i..i + template.len()];
        w.iter()
            .zip(template)
            .all(|(b, t)| t.is_none_or(|t| t == *b))
            .then(|| (i, w.iter().zip(template).filter(|(_, t)| t.is_none()).map(|(b, _)| *b).collect()))
    })
}

/// `CardDeclined` (a `Debug` name) → `CARD_DECLINED` (the documents' name).
pub fn screaming(debug: &str) -> String {
    let mut s = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_uppercase());
    }
    s
}
