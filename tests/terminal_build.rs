//! The terminal package's build links no simulator: the package is built without default
//! features (`[package.metadata.deb]`), and in that build `cargo tree` of posagent's
//! normal dependencies has neither posagent-sim nor the QR decoder only the simulated
//! customer uses (rqrr); the default build has both, so the check is not vacuous.
//! `cargo tree --offline --locked` resolves from Cargo.lock and builds nothing (about a
//! second). That nothing of the simulator is linked was also checked once with `nm` on
//! the stripped release binary (docs/performance.md).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// What only the simulator brings in.
const SIMULATOR_ONLY: [&str; 2] = ["posagent-sim v", "rqrr v"];

/// posagent's normal (not dev, not build) dependencies, one package per line.
fn normal_dependencies(extra: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "posagent", "-e", "normal", "--offline", "--locked", "--prefix", "none"])
        .args(["--format", "{p}"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_terminal_build_has_no_simulator_dependency() {
    let terminal = normal_dependencies(&["--no-default-features"]);
    assert!(terminal.contains("posagent-drivers v"), "not posagent's tree: {terminal}");
    for name in SIMULATOR_ONLY {
        assert!(!terminal.lines().any(|l| l.starts_with(name)), "{name}… in the terminal build:\n{terminal}");
    }
    let default = normal_dependencies(&[]);
    for name in SIMULATOR_ONLY {
        assert!(default.lines().any(|l| l.starts_with(name)), "{name}… missing from the default build:\n{default}");
    }
}

#[test]
fn the_package_is_the_terminal_build() {
    let manifest: toml::Table = include_str!("../Cargo.toml").parse().unwrap();
    let default = &manifest["features"]["default"];
    assert!(default.as_array().unwrap().iter().any(|f| f.as_str() == Some("simulator")), "{default}");
    let deb = &manifest["package"]["metadata"]["deb"];
    assert_eq!(deb.get("default-features").and_then(toml::Value::as_bool), Some(false), "{deb}");
    let features = deb.get("features").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    for dev_only in ["simulator", "fuzz-targets"] {
        assert!(!features.iter().any(|f| f.as_str() == Some(dev_only)), "{dev_only}: {deb}");
    }
}

#[test]
fn the_fuzzers_link_no_simulator() {
    let manifest: toml::Table = include_str!("../fuzz/Cargo.toml").parse().unwrap();
    let posagent = &manifest["dependencies"]["posagent"];
    assert_eq!(posagent.get("default-features").and_then(toml::Value::as_bool), Some(false), "{posagent}");
    let features = posagent.get("features").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    assert_eq!(features, [toml::Value::from("fuzz-targets")], "{posagent}");
}

/// The ZVT register the ZVT tests drive posagent with is an independent counterpart:
/// written from the specification, it depends on none of posagent's crates (not the
/// codec it tests), and the terminal build does not link it.
#[test]
fn the_zvt_register_is_independent_of_posagent() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "posagent-zvt-register", "-e", "normal,build", "--offline", "--locked"])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    let ours: Vec<&str> =
        tree.lines().filter(|l| l.starts_with("posagent") && !l.starts_with("posagent-zvt-register v")).collect();
    assert!(ours.is_empty(), "the register depends on {ours:?}");
    let terminal = normal_dependencies(&["--no-default-features"]);
    assert!(terminal.lines().any(|l| l.starts_with("posagent-zvt v")), "the terminal build has the ZVT codec");
    assert!(!terminal.lines().any(|l| l.starts_with("posagent-zvt-register v")), "and not the register");
}
