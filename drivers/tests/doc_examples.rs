//! The published protocol documents are true: every byte example in
//! docs/card-reader-protocol.md and docs/protocols.md (```` ```example <kind> ```` blocks)
//! is encoded from its meaning by the drivers' codecs and compared byte for byte, and
//! decoded and compared with its meaning; every row of their code and command tables is
//! checked against the codec. A document in which no example is found fails.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "doc_examples/blocks.rs"]
mod blocks;
#[path = "doc_examples/card_reader.rs"]
mod card_reader;
#[path = "doc_examples/devices.rs"]
mod devices;

fn read(name: &str) -> String {
    let path = format!("{}/../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs every example of a document and returns them. Every fenced block that holds
/// bytes must be a marked example (none escapes the test), and every marked block
/// must be found by the parser.
fn run_all(name: &str, run: fn(&blocks::Example)) -> Vec<blocks::Example> {
    let doc = read(name);
    let examples = blocks::examples(name, &doc);
    assert!(!examples.is_empty(), "{name}: no example found (is the parser broken?)");
    let marked = doc.lines().filter(|l| l.starts_with("```example ")).count();
    assert_eq!(examples.len(), marked, "{name}: {marked} example blocks, the parser found {}", examples.len());
    let unmarked = blocks::unmarked_byte_blocks(&doc);
    assert!(unmarked.is_empty(), "{name}: byte examples outside ```example blocks, at lines {unmarked:?}");
    for ex in &examples {
        run(ex);
    }
    examples
}

#[test]
fn card_reader_protocol_examples_are_the_codecs() {
    let examples = run_all("card-reader-protocol.md", card_reader::run);
    card_reader::coverage(&examples);
    let n = examples.len();
    let rows = card_reader::tables(&read("card-reader-protocol.md"));
    println!("docs/card-reader-protocol.md: {n} examples and {rows} table rows executed");
}

#[test]
fn device_protocol_examples_are_the_drivers() {
    let examples = run_all("protocols.md", devices::run);
    devices::coverage(&examples);
    let n = examples.len();
    let doc = read("protocols.md");
    let rows = devices::line_display_table(&doc) + devices::escpos_table(&doc) + devices::status_bits_table(&doc);
    println!("docs/protocols.md: {n} examples and {rows} table rows executed");
}
