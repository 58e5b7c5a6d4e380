//! Both published contracts hold against the running programs: `.ci/schemathesis`
//! validates docs/ecr-api.yaml and docs/acquirer-api.yaml as OpenAPI 3.1
//! (openapi-spec-validator) and runs schemathesis with every check against this build's
//! daemon on the simulator and its simulated acquirer (pinned versions, fixed seed, a
//! bounded number of examples; one test per document, each with its own daemon, side by side). Any failure fails this test, with
//! schemathesis' report (the failing case and its curl line) in the output.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

/// One document fuzzed against its own daemon and simulator (the two tests run side by side).
fn schemathesis_passes(document: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/schemathesis");
    let out = std::process::Command::new(script)
        .arg(document)
        .env("POSAGENT_BIN", env!("CARGO_BIN_EXE_posagent"))
        .output()
        .expect("run .ci/schemathesis (needs python3 with venv and pip)");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().rev().take(400).collect::<Vec<_>>().into_iter().rev().collect();
    assert!(out.status.success(), "schemathesis found failures in {document}:\n{}", tail.join("\n"));
}

#[test]
fn schemathesis_finds_no_failure_against_the_ecr_document() {
    schemathesis_passes("ecr");
}

#[test]
fn schemathesis_finds_no_failure_against_the_acquirer_document() {
    schemathesis_passes("acquirer");
}
