#![no_main]
//! cargo fuzz run zvt_apdu   (nightly); the corpus is replayed on stable by zvt/tests/no_panic.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| posagent_zvt::fuzz::zvt_apdu(data));
