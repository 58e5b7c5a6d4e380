//! Both published contracts hold against the running programs: `.ci/schemathesis`
//! validates docs/ecr-api.yaml and docs/acquirer-api.yaml as OpenAPI 3.1
//! (openapi-spec-validator) and runs schemathesis with every check against this build's
//! daemon on the simulator and its simulated acquirer (pinned versions, fixed seed, a
//! bounded number of examples; about three minutes). Any failure fails this test, with
//! schemathesis' report (the failing case and its curl line) in the output.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[test]
fn schemathesis_finds_no_failure_against_either_document() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/schemathesis");
    let out = std::process::Command::new(script)
        .env("POSAGENT_BIN", env!("CARGO_BIN_EXE_posagent"))
        .output()
        .expect("run .ci/schemathesis (needs python3 with venv and pip)");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().rev().take(400).collect::<Vec<_>>().into_iter().rev().collect();
    assert!(out.status.success(), "schemathesis found failures:\n{}", tail.join("\n"));
}
