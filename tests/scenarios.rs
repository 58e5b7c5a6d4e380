//! Every shipped scenario (simulator/scenarios/*.toml) passes, and a wrong expectation fails.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_scenario_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulator/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut failures = String::new();
    for f in &files {
        let report = posagent::scenarios::run_isolated(f).await.unwrap();
        if !report.passed() {
            failures.push_str(&report.render());
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_fails_with_a_clear_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.toml");
    std::fs::write(
        &path,
        r#"name = "expects the wrong outcome"
[[steps]]
action = "create_sale"
amount = 4990
currency = "SEK"
[[steps]]
action = "wait_state"
state = "QR_SHOWN"
[[steps]]
action = "customer"
do = "decline"
[[steps]]
action = "expect_sale"
state = "APPROVED"
"#,
    )
    .unwrap();
    let report = posagent::scenarios::run_isolated(&path).await.unwrap();
    assert!(!report.passed());
    let text = report.render();
    assert!(text.starts_with("FAIL expects the wrong outcome"), "{text}");
    assert!(text.contains("FAIL  4 expect sale APPROVED: sale is \"DECLINED\""), "{text}");
    // An unknown step field is refused when the file is read.
    std::fs::write(
        &path,
        "name = \"x\"\n[[steps]]\naction = \"create_sale\"\namount = 1\ncurrency = \"SEK\"\namout = 2\n",
    )
    .unwrap();
    assert!(posagent::scenarios::run_isolated(&path).await.is_err());
}
