//! The shipped unit as systemd reads it: `systemd-analyze verify` finds nothing, the
//! sandbox scores at most 2.0 in `systemd-analyze security --offline=yes`, and what the
//! devices need is there — netlink for libusb, raw USB device nodes (major 189) beside
//! the printer-class ones (major 180) — with readiness, a watchdog, and no start before
//! the acquirer key exists.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const UNIT: &str = include_str!("../../packaging/posagent.service");

/// The unit with ExecStart pointing at this build (verify checks the binary exists).
fn unit_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("posagent.service");
    std::fs::write(&path, UNIT.replace("/usr/bin/posagent", env!("CARGO_BIN_EXE_posagent"))).unwrap();
    path
}

fn analyze(args: &[&str], unit: &std::path::Path) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze (Debian package systemd; .ci/run installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_unit_verifies_and_its_sandbox_scores_two_or_better() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_file(dir.path());
    let (ok, text) = analyze(&["verify"], &unit);
    assert!(ok && !text.contains("Unknown"), "systemd-analyze verify: {text}");
    let (ok, text) = analyze(&["security", "--offline=yes", "--threshold=20"], &unit);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for posagent.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in: {text}"));
    assert!(ok && score <= 2.0, "exposure {score}:\n{text}");
}

#[test]
fn the_unit_lets_the_devices_work_and_waits_for_its_configuration() {
    let lines: Vec<&str> = UNIT.lines().map(str::trim).collect();
    let has = |l: &str| lines.contains(&l);
    let families = lines.iter().find(|l| l.starts_with("RestrictAddressFamilies=")).unwrap();
    assert!(families.contains("AF_NETLINK"), "libusb opens a netlink socket at init: {families}");
    assert!(has("DeviceAllow=char-usb_device rw"), "raw USB printers live under /dev/bus/usb (major 189)");
    assert!(has("DeviceAllow=char-usb rw"), "printer-class nodes /dev/usb/lp* (major 180)");
    assert!(has("ConditionPathExists=/etc/posagent/acquirer.key"), "no start before store IT configured it");
    assert!(has("Type=notify") && lines.iter().any(|l| l.starts_with("WatchdogSec=")), "readiness and watchdog");
}
