//! The emulated USB printer (`tests/usb/emulated_printer.c`) as a child process: built
//! with `cc` into the test's temp dir, driven by commands on its stdin, its event lines
//! collected from its stdout, and what it received read back from its output file.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Why the emulation cannot run here: umockdev (or a C compiler) is missing.
pub fn missing_tools() -> Option<String> {
    let pc = Command::new("pkg-config").args(["--exists", "umockdev-1.0"]).status();
    if !matches!(pc, Ok(s) if s.success()) {
        return Some("pkg-config finds no umockdev-1.0 (libumockdev-dev)".into());
    }
    if preload_library().is_none() {
        return Some("libumockdev-preload.so.0 is not installed (umockdev)".into());
    }
    None
}

/// The umockdev preload library, by its path (the loader's search path may not have it).
pub fn preload_library() -> Option<PathBuf> {
    let out = Command::new("pkg-config").args(["--variable=libdir", "umockdev-1.0"]).output().ok()?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    [libdir.as_str(), "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"]
        .iter()
        .map(|d| Path::new(d).join("libumockdev-preload.so.0"))
        .find(|p| p.exists())
}

/// Compiles C files of `tests/usb/` into `dir/name`; `shared` for a preload library.
pub fn compile(dir: &Path, name: &str, sources: &[&str], shared: bool) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/usb");
    let out = dir.join(name);
    let mut cc = Command::new("cc");
    cc.args(["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-o"]).arg(&out);
    cc.args(sources.iter().map(|s| src.join(s)));
    if shared {
        cc.args(["-shared", "-fPIC", "-ldl"]);
    } else {
        let flags = Command::new("pkg-config").args(["--cflags", "--libs", "umockdev-1.0"]).output().unwrap();
        assert!(flags.status.success(), "pkg-config umockdev-1.0 failed");
        cc.args(String::from_utf8(flags.stdout).unwrap().split_whitespace());
    }
    let built = cc.output().unwrap_or_else(|e| panic!("cannot run cc: {e}"));
    assert!(built.status.success(), "cc {sources:?} failed:\n{}", String::from_utf8_lossy(&built.stderr));
    out
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    closed: bool,
}

/// A running emulated printer.
pub struct Printer {
    child: Child,
    stdin: ChildStdin,
    lines: Arc<(Mutex<Lines>, Condvar)>,
    /// Every byte the printer received on bulk OUT.
    pub output: PathBuf,
    /// The testbed the host process must be given as `UMOCKDEV_DIR`.
    pub umockdev_dir: PathBuf,
}

impl Printer {
    pub fn start(binary: &Path, dir: &Path) -> Printer {
        let output = dir.join("printed.bin");
        let mut child = Command::new(binary)
            .arg("--out")
            .arg(&output)
            .env("TMPDIR", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("emulator.log")).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new((Mutex::new(Lines::default()), Condvar::new()));
        let shared = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let (m, cv) = &*shared;
                m.lock().unwrap().lines.push(line);
                cv.notify_all();
            }
            let (m, cv) = &*shared;
            m.lock().unwrap().closed = true;
            cv.notify_all();
        });
        let mut p = Printer { child, stdin, lines, output, umockdev_dir: PathBuf::new() };
        let line = p.wait_line(|l| l.starts_with("UMOCKDEV_DIR="), Duration::from_secs(10));
        p.umockdev_dir = PathBuf::from(line.trim_start_matches("UMOCKDEV_DIR="));
        p
    }

    /// Waits for a line of the printer's (seen before or after the call) and returns it.
    pub fn wait_line(&self, pred: impl Fn(&str) -> bool, within: Duration) -> String {
        self.wait_lines(|lines| lines.iter().find(|l| pred(l)).cloned(), within, "the line")
    }

    /// Waits until `pred` finds something in all the lines so far.
    fn wait_lines<T>(&self, pred: impl Fn(&[String]) -> Option<T>, within: Duration, what: &str) -> T {
        let deadline = Instant::now() + within;
        let (m, cv) = &*self.lines;
        let mut g = m.lock().unwrap();
        loop {
            if let Some(found) = pred(&g.lines) {
                return found;
            }
            assert!(!g.closed, "the emulated printer exited before {what}; its lines: {:?}", g.lines);
            let now = Instant::now();
            assert!(now < deadline, "the emulated printer never printed {what}; its lines: {:?}", g.lines);
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// How many of the printer's lines so far are `line`.
    pub fn count(&self, line: &str) -> usize {
        self.lines.0.lock().unwrap().lines.iter().filter(|l| *l == line).count()
    }

    /// Sends a command (`paper out`, `unplug`, ...) and waits for its `ok`.
    pub fn command(&mut self, cmd: &str) {
        let ok = format!("ok {cmd}");
        let before = self.count(&ok);
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        let seen = |lines: &[String]| (lines.iter().filter(|l| **l == ok).count() > before).then_some(());
        self.wait_lines(seen, Duration::from_secs(5), &format!("`{ok}`"));
    }

    /// Every byte received on bulk OUT so far.
    pub fn received(&self) -> Vec<u8> {
        std::fs::read(&self.output).unwrap_or_default()
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
