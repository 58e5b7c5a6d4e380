//! Replays the fuzzers' corpus (fuzz/corpus/<target>/*) through the same entry points
//! on stable Rust: none may panic. New crashes found by `cargo fuzz` go into the corpus.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

type Target = fn(&[u8]);

#[test]
fn the_fuzz_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let targets: [(&str, Target); 3] = [
        ("card_reader_bytes", posagent::fuzz_targets::card_reader_bytes),
        ("printer_status_bytes", posagent::fuzz_targets::printer_status_bytes),
        ("ecr_sale_request", posagent::fuzz_targets::ecr_sale_request),
    ];
    for (name, target) in targets {
        let dir = root.join(name);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            target(&bytes);
            // Every prefix too: truncated input is the commonest bad input.
            for cut in 0..bytes.len() {
                target(&bytes[..cut]);
            }
            n += 1;
        }
        assert!(n >= 3, "{name}: only {n} corpus files");
    }
}
