//! The terminal writes no Klarna wording of its own: no string the (simulated) acquirer
//! serves as Klarna's — headers, sub-headers, offers with their amounts — appears in the
//! daemon's sources, and no credit wording ("interest-free", instalment arithmetic) either.
//! On the screens and slips Klarna's strings are the acquirer's, byte for byte
//! (src/screens and tests/receipts_golden.rs show them as served).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn no_klarna_wording_and_no_credit_promotion_in_the_daemons_sources() {
    let mut files = vec![];
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 50, "the daemon's sources were not found");
    let locales = [
        "en-US", "en-GB", "de-DE", "de-AT", "sv-SE", "fr-FR", "nl-NL", "es-ES", "it-IT", "da-DK", "nb-NO", "fi-FI",
        "pl-PL",
    ];
    let mut klarna: Vec<String> = vec![];
    for l in locales {
        let d = posagent_sim::backend::klarna_wording(l, 123_450);
        klarna.extend([d.header, d.subheader]);
        klarna.extend(d.subheader_enriched);
    }
    // `{schedule}`: the old placeholder the terminal filled with its own instalment arithmetic.
    let credit = [
        "{schedule}",
        "interest-free",
        "zinsfrei",
        "räntefri",
        "sans frais",
        "renteloze",
        "sin intereses",
        "senza interessi",
    ];
    for (path, text) in &files {
        // Unit tests feed screens with strings as an acquirer serves them: not the daemon's.
        if path.ends_with("tests.rs") {
            continue;
        }
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        for phrase in klarna.iter().map(String::as_str).chain(credit) {
            // Comments may quote Klarna to explain a rule; code and texts may not.
            let in_code = text.lines().any(|line| {
                let code = line.split("//").next().unwrap_or("");
                code.contains(phrase)
            });
            assert!(!in_code, "{path} writes Klarna's or credit wording itself: {phrase:?}");
        }
    }
}
