//! A scripted in-memory transport for byte-exact tests: it expects the host's writes in
//! order, byte for byte, hands out the device's canned answers, injects a timeout or a
//! disconnect where the script says, and tells afterwards whether the script was played
//! to its end.
//!
//! ```
//! use posagent_drivers::transport::{ScriptedTransport, Transport};
//! use std::time::Duration;
//!
//! let mut t = ScriptedTransport::new("printer").expect_write(&[0x10, 0x04, 1]).reply(&[0x12]);
//! let script = t.script();
//! t.write_all(&[0x10, 0x04, 1]).unwrap();
//! let mut b = [0u8; 1];
//! t.read_exact(&mut b, Duration::from_millis(100)).unwrap();
//! assert_eq!(b, [0x12]);
//! script.check().unwrap();
//! ```

use super::{Transport, TransportError};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// The host writes these bytes (in one write or several); `at` are matched already.
    Write { bytes: Vec<u8>, at: usize },
    /// The device answers these bytes (over one read or several).
    Read(Vec<u8>),
    /// The next read or write fails with a timeout.
    Timeout,
    /// Every operation from here on fails: the device is gone.
    Disconnect,
    /// From here on every write is taken and reads are silent.
    Anything,
}

/// Why a script was not played as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScriptMismatch(String);

#[derive(Debug, Default)]
struct State {
    steps: VecDeque<Step>,
    written: Vec<u8>,
    writes: usize,
    disconnected: bool,
    anything: bool,
    mismatch: Option<String>,
}

/// A [`Transport`] that plays a script (see the module's documentation).
#[derive(Debug, Clone)]
pub struct ScriptedTransport {
    name: String,
    state: Arc<Mutex<State>>,
}

/// A handle on a [`ScriptedTransport`]'s script, kept by the test while the driver owns
/// the transport.
#[derive(Debug, Clone)]
pub struct Script {
    name: String,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl ScriptedTransport {
    /// An empty script: a write is a mismatch, a read times out.
    pub fn new(name: &str) -> Self {
        ScriptedTransport { name: format!("scripted {name}"), state: Arc::default() }
    }

    fn push(self, step: Step) -> Self {
        lock(&self.state).steps.push_back(step);
        self
    }

    /// The host is to write exactly `bytes` next.
    pub fn expect_write(self, bytes: &[u8]) -> Self {
        self.push(Step::Write { bytes: bytes.to_vec(), at: 0 })
    }

    /// The device answers `bytes` next (the host's reads take them).
    pub fn reply(self, bytes: &[u8]) -> Self {
        self.push(Step::Read(bytes.to_vec()))
    }

    /// The next read or write fails with [`TransportError::Timeout`].
    pub fn timeout(self) -> Self {
        self.push(Step::Timeout)
    }

    /// From here on every operation fails with [`TransportError::Closed`].
    pub fn disconnect(self) -> Self {
        self.push(Step::Disconnect)
    }

    /// From here on every write is taken (and recorded) and every read times out.
    pub fn then_anything(self) -> Self {
        self.push(Step::Anything)
    }

    /// The handle the test checks the script with.
    pub fn script(&self) -> Script {
        Script { name: self.name.clone(), state: self.state.clone() }
    }

    fn closed(&self) -> TransportError {
        TransportError::Closed { target: self.name.clone() }
    }

    fn mismatch(&self, s: &mut State, what: String) -> TransportError {
        let text = format!("{}: {what}", self.name);
        if s.mismatch.is_none() {
            s.mismatch = Some(text.clone());
        }
        TransportError::Io { target: self.name.clone(), source: std::io::Error::other(text) }
    }

    /// Takes an injected failure at the front of the script, if there is one.
    fn injected(&self, s: &mut State, timeout: Duration) -> Option<TransportError> {
        if s.disconnected {
            return Some(self.closed());
        }
        match s.steps.front() {
            Some(Step::Timeout) => {
                s.steps.pop_front();
                Some(TransportError::Timeout { target: self.name.clone(), timeout })
            }
            Some(Step::Disconnect) => {
                s.steps.pop_front();
                s.disconnected = true;
                Some(self.closed())
            }
            Some(Step::Anything) => {
                s.steps.pop_front();
                s.anything = true;
                None
            }
            _ => None,
        }
    }
}

impl Transport for ScriptedTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let mut s = lock(&self.state);
        if let Some(e) = self.injected(&mut s, Duration::ZERO) {
            return Err(e);
        }
        s.writes += 1;
        let (write_no, offset) = (s.writes, s.written.len());
        s.written.extend_from_slice(bytes);
        let mut rest = bytes;
        while !rest.is_empty() && !s.anything {
            if let Some(e) = self.injected(&mut s, Duration::ZERO) {
                return Err(e);
            }
            if s.anything {
                break;
            }
            let at_byte = offset + (bytes.len() - rest.len());
            let Some(Step::Write { bytes: want, at }) = s.steps.front_mut() else {
                let next = s.steps.front().map(describe_step).unwrap_or_else(|| "the end of the script".into());
                let what = format!(
                    "write {write_no} sent {} at byte {at_byte}, where the script has {next}",
                    hex(rest, 0, 16, false)
                );
                return Err(self.mismatch(&mut s, what));
            };
            let n = rest.len().min(want.len() - *at);
            if let Some(i) = (0..n).find(|&i| rest[i] != want[*at + i]) {
                let what = format!(
                    "write {write_no} differs from the script at byte {} (byte {} of its step):\n  expected: {}\n  written:  {}",
                    at_byte + i,
                    *at + i,
                    hex(want, *at + i, 8, true),
                    hex(rest, i, 8, true)
                );
                return Err(self.mismatch(&mut s, what));
            }
            *at += n;
            rest = &rest[n..];
            if *at == want.len() {
                s.steps.pop_front();
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let mut s = lock(&self.state);
        if let Some(e) = self.injected(&mut s, timeout) {
            return Err(e);
        }
        match s.steps.front_mut() {
            Some(Step::Read(answer)) if !buf.is_empty() => {
                let n = buf.len().min(answer.len());
                buf[..n].copy_from_slice(&answer[..n]);
                answer.drain(..n);
                if answer.is_empty() {
                    s.steps.pop_front();
                }
                Ok(n)
            }
            // The device waits for the host (or has nothing more to say): silence.
            _ => Err(TransportError::Timeout { target: self.name.clone(), timeout }),
        }
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        // Only a disconnect is taken here: a timeout is meant for a read or a write.
        let mut s = lock(&self.state);
        if s.steps.front() == Some(&Step::Disconnect) {
            s.steps.pop_front();
            s.disconnected = true;
        }
        if s.disconnected { Err(self.closed()) } else { Ok(()) }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

impl Script {
    /// Everything the host wrote, in order.
    pub fn written(&self) -> Vec<u8> {
        lock(&self.state).written.clone()
    }

    /// Whether the script was played to its end with every write as written; the
    /// error says where it went otherwise.
    pub fn check(&self) -> Result<(), ScriptMismatch> {
        let s = lock(&self.state);
        if let Some(m) = &s.mismatch {
            return Err(ScriptMismatch(m.clone()));
        }
        let left: Vec<String> = s.steps.iter().filter(|st| !matches!(st, Step::Anything)).map(describe_step).collect();
        if left.is_empty() {
            return Ok(());
        }
        Err(ScriptMismatch(format!("{}: the script was not played to its end; left: {}", self.name, left.join(", "))))
    }

    /// The device goes away now, wherever the script stands: every operation fails.
    pub fn unplug(&self) {
        lock(&self.state).disconnected = true;
    }

    /// Whether the device was disconnected (by the script or [`Self::unplug`]).
    pub fn disconnected(&self) -> bool {
        lock(&self.state).disconnected
    }
}

fn describe_step(step: &Step) -> String {
    match step {
        Step::Write { bytes, at } => format!("a write of {}", hex(bytes, *at, 16, false)),
        Step::Read(bytes) => format!("the device's answer {}", hex(bytes, 0, 16, false)),
        Step::Timeout => "a timeout".into(),
        Step::Disconnect => "a disconnect".into(),
        Step::Anything => "anything".into(),
    }
}

/// `bytes` in hex around `at`: up to 4 before it, then up to `after` from it (the byte
/// at `at` in brackets when `mark`).
fn hex(bytes: &[u8], at: usize, after: usize, mark: bool) -> String {
    let from = at.saturating_sub(4);
    let to = (at + after).min(bytes.len());
    let mut out = String::new();
    if from > 0 {
        out.push_str("… ");
    }
    for (i, b) in bytes.iter().enumerate().take(to).skip(from) {
        let _ = if mark && i == at { write!(out, "[{b:02x}] ") } else { write!(out, "{b:02x} ") };
    }
    if to < bytes.len() {
        out.push('…');
    }
    let trimmed = out.trim_end().to_string();
    if trimmed.is_empty() { "nothing".into() } else { format!("[{} bytes] {trimmed}", bytes.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(10);

    #[test]
    fn writes_match_across_chunks_and_answers_come_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = ScriptedTransport::new("dev").expect_write(b"hello").reply(b"ok").expect_write(b"!");
        let script = t.script();
        t.write_all(b"he")?;
        // The device waits for the rest of the write: silence.
        assert!(matches!(t.read(&mut [0; 4], WAIT), Err(TransportError::Timeout { .. })));
        t.write_all(b"llo")?;
        let mut b = [0u8; 1];
        t.read_exact(&mut b, WAIT)?;
        assert_eq!(b, *b"o");
        assert!(script.check().is_err(), "not played to its end yet");
        let mut k = [0u8; 4];
        assert_eq!(t.read(&mut k, WAIT)?, 1);
        assert_eq!(k[0], b'k');
        t.write_all(b"!")?;
        script.check()?;
        assert_eq!(script.written(), b"hello!");
        Ok(())
    }

    #[test]
    fn a_wrong_byte_is_named_with_where_it_differs() {
        let mut t = ScriptedTransport::new("printer").expect_write(&[0x1B, 0x40, 0x1B, 0x74, 0x13]);
        let script = t.script();
        let r = t.write_all(&[0x1B, 0x40, 0x1B, 0x74, 0x10]);
        assert!(matches!(r, Err(TransportError::Io { .. })));
        let e = script.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("differs from the script at byte 4"), "{e}");
        assert!(e.contains("expected: [5 bytes] 1b 40 1b 74 [13]"), "{e}");
        assert!(e.contains("written:  [5 bytes] 1b 40 1b 74 [10]"), "{e}");
    }

    #[test]
    fn a_write_the_script_does_not_have_is_a_mismatch() {
        let mut t = ScriptedTransport::new("panel").reply(&[0x06]);
        let script = t.script();
        assert!(t.write_all(&[1, 2]).is_err());
        let e = script.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("write 1 sent [2 bytes] 01 02 at byte 0, where the script has the device's answer"), "{e}");
        let mut t = ScriptedTransport::new("panel");
        assert!(t.write_all(&[1]).is_err());
        assert!(t.script().check().is_err_and(|e| e.to_string().contains("the end of the script")));
    }

    #[test]
    fn timeouts_and_disconnects_are_injected_where_the_script_says() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = ScriptedTransport::new("reader").timeout().reply(&[7]).disconnect();
        let script = t.script();
        assert!(matches!(t.read(&mut [0; 1], WAIT), Err(TransportError::Timeout { .. })));
        assert_eq!(t.read(&mut [0; 1], WAIT)?, 1);
        assert!(!script.disconnected());
        assert!(matches!(t.write_all(&[1]), Err(TransportError::Closed { .. })));
        // Gone for good.
        assert!(matches!(t.read(&mut [0; 1], WAIT), Err(TransportError::Closed { .. })));
        assert!(t.flush().is_err());
        assert!(script.disconnected());
        script.check()?;
        Ok(())
    }

    #[test]
    fn an_open_ended_script_takes_any_write() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = ScriptedTransport::new("printer").expect_write(&[1]).then_anything();
        let script = t.script();
        t.write_all(&[1, 2, 3])?;
        t.write_all(&[4])?;
        assert!(t.read(&mut [0; 1], WAIT).is_err());
        script.check()?;
        assert_eq!(script.written(), [1, 2, 3, 4]);
        Ok(())
    }
}
