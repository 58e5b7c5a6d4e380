//! The fuzz corpus (`fuzz/corpus/zvt_apdu/`) and a few thousand pseudo-random inputs
//! (fixed seed) through every decoder: none may panic. A panic fails the test.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent_zvt::fuzz::zvt_apdu;

#[test]
fn corpus_replays_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/zvt_apdu");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        zvt_apdu(&bytes);
        count += 1;
    }
    assert!(count >= 5, "the seed corpus in {} has {count} files", dir.display());
}

/// Random bytes, and random mutations of valid messages (which get past the header checks).
#[test]
fn random_inputs_do_not_panic() {
    let mut rng = fastrand::Rng::with_seed(0x5A56_5400);
    let seeds: Vec<Vec<u8>> = [
        "06 00 06 12 34 56 BA 09 78",
        "06 01 0A 04 00 00 00 01 10 00 49 09 78",
        "04 0F 07 27 6C 29 29 00 10 06",
        "06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00",
        "06 D3 0F 06 0D 1F 07 01 02 25 07 09 01 00 07 02 4F 4B",
        "04 FF 09 0A 01 06 05 24 03 07 01 41",
        "10 02 80 00 00 10 03 F5 1F",
    ]
    .iter()
    .map(|h| posagent_zvt::hex_bytes(h).unwrap())
    .collect();
    for round in 0..6000 {
        let input = if round % 2 == 0 {
            let len = rng.usize(0..300);
            std::iter::repeat_with(|| rng.u8(..)).take(len).collect()
        } else {
            let mut input = seeds[rng.usize(..seeds.len())].clone();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..input.len());
                input[at] = rng.u8(..);
            }
            input
        };
        zvt_apdu(&input);
    }
}
