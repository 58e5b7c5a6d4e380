#![no_main]
//! cargo fuzz run card_reader_bytes   (nightly); the corpus is replayed on stable by tests/it/fuzz_corpus.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| posagent::fuzz_targets::card_reader_bytes(data));
