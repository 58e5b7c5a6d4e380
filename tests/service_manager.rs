//! The daemon as systemd runs it: readiness, the watchdog and stopping told over
//! `NOTIFY_SOCKET` (a datagram socket this test binds, as systemd does), log lines with
//! the syslog priority journald reads, and a fatal start-up error in the chosen log
//! format.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon process, killed if the test fails before it stopped it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn posagent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_posagent"))
}

/// Datagrams on `socket` until one contains `want` (10 s at most).
fn wait_for(socket: &UnixDatagram, want: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            seen.push(text.clone());
            if text.lines().any(|l| l == want) {
                return;
            }
        }
    }
    panic!("no {want} from the daemon; it sent {seen:?}");
}

#[test]
fn readiness_watchdog_and_stopping_reach_the_service_manager() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    // systemd names the watched process: the shell's pid, which exec hands to posagent.
    let mut daemon = Running(
        Command::new("sh")
            .arg("-c")
            .arg(r#"WATCHDOG_PID=$$ exec "$0" run --simulator --listen 127.0.0.1:0 --data-dir "$1""#)
            .arg(env!("CARGO_BIN_EXE_posagent"))
            .arg(dir.path().join("data"))
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "600000")
            .env("POSAGENT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut seen = vec![];
    wait_for(&socket, "READY=1", &mut seen);
    assert!(seen.iter().any(|m| m.contains("STATUS=serving the ECR API on")), "{seen:?}");
    // Fed every third of WatchdogSec while the journal answers.
    wait_for(&socket, "WATCHDOG=1", &mut seen);
    wait_for(&socket, "WATCHDOG=1", &mut seen);
    kill_term(daemon.0.id());
    wait_for(&socket, "STOPPING=1", &mut seen);
    assert!(daemon.0.wait().unwrap().success());
}

fn kill_term(pid: u32) {
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn log_lines_carry_their_priority_for_journald_and_a_fatal_error_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    // journald: the syslog priority first (3 = error), no colour, no time stamp.
    let out = posagent().args(["--log-format", "journald", "run", "--config"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("posagent cannot run")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.starts_with("<3>") && !line.contains('\u{1b}'), "{line}");
    // JSON: the fatal error is a JSON line too, naming the file.
    let out = posagent().args(["--log-format", "json", "run", "--config"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fatal: serde_json::Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no JSON error line: {stderr}"));
    assert!(fatal["fields"]["error"].as_str().unwrap().contains("missing.toml"), "{fatal}");
    // Text into a pipe has no colour codes.
    let out = posagent().args(["run", "--config"]).arg(&missing).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}
