//! Every amount posagent prints or shows is CLDR's: for every locale and currency it
//! formats (tools/cldr/locales.mjs), a spread of amounts — zero, one minor unit, grouping
//! edges, the int32 maximum, negatives — formatted by posagent and by ICU (Node.js's
//! `Intl.NumberFormat`, the reference implementation of CLDR, run by tools/cldr/oracle.mjs)
//! must be the same string, and no amount may hold a space a line can break at.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent::locale::format_amount;
use posagent_acquirer_api::Currency;
use posagent_drivers::printer::breaks_at;
use std::process::Command;

#[test]
fn every_amount_in_every_locale_and_currency_is_cldrs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("node")
        .arg(format!("{root}/tools/cldr/oracle.mjs"))
        .output()
        .expect("run node (Node.js, with its full ICU) for the CLDR oracle");
    assert!(out.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let oracle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let generated = include_str!("../../src/locale/cldr_data.rs");
    let icu = oracle["icu"].as_str().unwrap();
    let mut differ = vec![];
    let cases = oracle["cases"].as_array().unwrap();
    for case in cases {
        let (locale, code) = (case["locale"].as_str().unwrap(), case["currency"].as_str().unwrap());
        let minor = case["minor"].as_i64().unwrap();
        let expect = case["expect"].as_str().unwrap();
        let got = format_amount(minor, Currency::parse(code).unwrap(), locale);
        if got != expect {
            differ.push(format!("{locale} {code} {minor}: posagent {got:?}, ICU {expect:?}"));
        }
        assert!(!got.chars().any(breaks_at), "{locale} {code} {minor}: {got:?} could be split across lines");
    }
    assert!(cases.len() > 10_000, "only {} cases", cases.len());
    assert!(
        differ.is_empty(),
        "{} of {} amounts differ from ICU {icu} (tables generated from ICU {}; after an ICU update run \
         `node tools/cldr/generate.mjs`):\n{}",
        differ.len(),
        cases.len(),
        generated.lines().nth(1).unwrap_or_default(),
        differ.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
