#![no_main]
//! cargo fuzz run ecr_sale_request   (nightly); the corpus is replayed on stable by tests/it/fuzz_corpus.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| posagent::fuzz_targets::ecr_sale_request(data));
