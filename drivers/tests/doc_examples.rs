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

/// Runs every example of a document and returns how many there were.
fn run_all(name: &str, run: fn(&blocks::Example)) -> usize {
    let doc = read(name);
    let examples = blocks::examples(name, &doc);
    assert!(!examples.is_empty(), "{name}: no example found (is the parser broken?)");
    for ex in &examples {
        run(ex);
    }
    examples.len()
}

#[test]
fn card_reader_protocol_examples_are_the_codecs() {
    let n = run_all("card-reader-protocol.md", card_reader::run);
    let rows = card_reader::tables(&read("card-reader-protocol.md"));
    println!("docs/card-reader-protocol.md: {n} examples and {rows} table rows executed");
}

#[test]
fn device_protocol_examples_are_the_drivers() {
    let n = run_all("protocols.md", devices::run);
    let doc = read("protocols.md");
    let rows = devices::line_display_table(&doc) + devices::escpos_table(&doc) + devices::status_bits_table(&doc);
    println!("docs/protocols.md: {n} examples and {rows} table rows executed");
}
