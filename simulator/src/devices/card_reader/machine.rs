//! The reader's transaction state machine (docs/card-reader-protocol.md §3–§5): ENABLE,
//! CANCEL, OUTCOME, BEEP, LED, INFO and PING in; CARD_PRESENTED, CARD_READ, CARD_REMOVED,
//! ERROR, IDLE, INFO and STATUS out; the waiting, PIN-entry, outcome and host-lost timers
//! and out-of-service faults. Pure logic: time comes in as `Instant`s and events go out as
//! [`Outgoing`] frames for the link to number and send.

use super::cards::{self, Presentation, TestCard};
use super::link::Outgoing;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Host → reader: ENABLE.
pub const ENABLE: u8 = 0x10;
/// Host → reader: CANCEL.
pub const CANCEL: u8 = 0x11;
/// Host → reader: BEEP.
pub const BEEP: u8 = 0x12;
/// Host → reader: LED.
pub const LED: u8 = 0x13;
/// Host → reader: INFO.
pub const INFO: u8 = 0x14;
/// Host → reader: PING.
pub const PING: u8 = 0x16;
/// Host → reader: OUTCOME.
pub const OUTCOME: u8 = 0x17;
/// Reader → host: CARD_PRESENTED.
pub const CARD_PRESENTED: u8 = 0x81;
/// Reader → host: CARD_READ.
pub const CARD_READ: u8 = 0x82;
/// Reader → host: CARD_REMOVED.
pub const CARD_REMOVED: u8 = 0x83;
/// Reader → host: ERROR.
pub const ERROR: u8 = 0x84;
/// Reader → host: IDLE.
pub const IDLE: u8 = 0x86;
/// Reader → host: INFO.
pub const INFO_REPLY: u8 = 0x87;
/// Reader → host: STATUS.
pub const STATUS: u8 = 0x88;

/// ENABLE flag: chip and online PIN only.
pub const FLAG_PIN: u8 = 0x01;
/// ENABLE flag: no swipe.
pub const FLAG_NO_SWIPE: u8 = 0x02;

/// IDLE reasons (§3.1), by code.
pub const IDLE_REASONS: [&str; 9] = [
    "CANCELED",
    "TIMED_OUT",
    "COMPLETED",
    "CARD_DECLINED",
    "SUPERSEDED",
    "NOT_OPEN",
    "HOST_LOST",
    "FAILED",
    "OUTCOME_TIMEOUT",
];
const CANCELED: u8 = 0;
const TIMED_OUT: u8 = 1;
const COMPLETED: u8 = 2;
const CARD_DECLINED: u8 = 3;
const SUPERSEDED: u8 = 4;
const NOT_OPEN: u8 = 5;
const HOST_LOST: u8 = 6;
const FAILED: u8 = 7;
const OUTCOME_TIMED_OUT: u8 = 8;

/// ERROR codes (§5) by name.
pub const ERROR_CODES: &[(&str, u8)] = &[
    ("CARD_UNREADABLE", 0x01),
    ("CARD_REMOVED_EARLY", 0x02),
    ("USE_CHIP", 0x03),
    ("MULTIPLE_CARDS", 0x04),
    ("USE_OTHER_INTERFACE", 0x05),
    ("PIN_CANCELED", 0x10),
    ("PIN_TRIES_EXCEEDED", 0x11),
    ("CARD_DECLINED_OFFLINE", 0x12),
    ("NO_PIN_PAD", 0x13),
    ("CURRENCY_NOT_SUPPORTED", 0x14),
    ("BAD_COMMAND", 0x20),
    ("KEYS_MISSING", 0x30),
    ("KEYS_EXHAUSTED", 0x31),
    ("TAMPER", 0x32),
    ("INTERNAL", 0x33),
];
const CARD_UNREADABLE: u8 = 0x01;
const USE_CHIP: u8 = 0x03;
const CURRENCY_NOT_SUPPORTED: u8 = 0x14;
const BAD_COMMAND: u8 = 0x20;
const KEYS_EXHAUSTED: u8 = 0x31;

/// The name of an ERROR code, or `"UNKNOWN"`.
pub fn error_name(code: u8) -> &'static str {
    ERROR_CODES.iter().find(|(_, c)| *c == code).map_or("UNKNOWN", |(n, _)| n)
}

/// Protocol version the reader speaks.
pub const PROTOCOL: (u8, u8) = (2, 0);
/// Capabilities: chip, contactless, swipe, PIN pad.
pub const CAPABILITIES: u8 = 0x0F;
/// Model name in INFO.
pub const MODEL: &str = "posagent-sim reader";
/// How long the simulated customer takes to type the PIN.
pub const PIN_ENTRY: Duration = Duration::from_millis(300);
/// READ with no OUTCOME for this long ends the transaction.
pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(120);
/// No frame from the host for this long: the host is gone (§2.5).
pub const HOST_LOST_AFTER: Duration = Duration::from_secs(10);
/// How long the simulated customer takes to pull an inserted card out when asked.
pub const CARD_REMOVAL: Duration = Duration::from_millis(500);
/// How long a read is held for a CANCEL to cross it (fault `read_then_ignore_cancel`).
pub const DEFAULT_HOLD: Duration = Duration::from_millis(1000);

/// The reader's state as STATUS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No transaction open.
    Idle,
    /// WAITING(t): a card can be presented.
    Waiting,
    /// READ(t): the read went out; waits for OUTCOME or CANCEL.
    Read,
    /// The customer types the PIN.
    Pin,
    /// An out-of-service fault is set.
    OutOfService,
}

#[path = "machine_reads.rs"]
mod reads;
use reads::Read;
pub use reads::{Crypto, ReadStats};

#[derive(Debug)]
struct Txn {
    id: u32,
    amount: u32,
    currency: String,
    numeric: u16,
    flags: u8,
    phase: Phase,
    deadline: Instant,
    pin_done: Option<(Instant, TestCard)>,
    outcome_deadline: Option<Instant>,
    held: Option<(Instant, Read)>,
    card_in: bool,
}

/// Faults armed for the next presentation or outcome.
#[derive(Debug, Default, Clone)]
pub struct Armed {
    /// Hold the next read until a CANCEL crosses it, at most this long.
    pub hold_read: Option<Duration>,
    /// The chip declines in the second GENERATE AC after an approved OUTCOME.
    pub chip_declines: bool,
}

/// The reader's transactions.
#[derive(Debug)]
pub struct Machine {
    txn: Option<Txn>,
    removal: Option<(Instant, u32)>,
    fault: Option<u8>,
    last_ended: Option<u32>,
    last_enable: Option<(u32, u16)>,
    last_frame_at: Instant,
    counter: u32,
    crypto: Crypto,
    /// LED colour (0 off, 1 green, 2 red, 3 amber).
    pub led: u8,
    /// Beeps sounded.
    pub beeps: u32,
    /// The last IDLE sent: txn and reason code.
    pub last_idle: Option<(u32, u8)>,
    /// The host's protocol version from its last INFO.
    pub host_version: Option<(u8, u8)>,
    /// Faults armed.
    pub armed: Armed,
    /// Read counters.
    pub stats: ReadStats,
}

fn be32(b: &[u8]) -> u32 {
    b.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes).unwrap_or(0)
}

fn frame(cmd: u8, txn: u32, rest: &[u8]) -> Outgoing {
    let mut data = txn.to_be_bytes().to_vec();
    data.extend_from_slice(rest);
    Outgoing { cmd, data }
}

fn idle(txn: u32, reason: u8) -> Outgoing {
    frame(IDLE, txn, &[reason])
}

fn error(txn: u32, code: u8, text: &str) -> Outgoing {
    let mut rest = vec![code];
    rest.extend_from_slice(&text.as_bytes()[..text.len().min(64)]);
    frame(ERROR, txn, &rest)
}

const NOT_WAITING: &str = "the card reader is not waiting for a card";

impl Machine {
    /// A reader just powered up, with `crypto` for its reads.
    pub fn new(crypto: Crypto, now: Instant) -> Self {
        Machine {
            txn: None,
            removal: None,
            fault: None,
            last_ended: None,
            last_enable: None,
            last_frame_at: now,
            counter: 0,
            crypto,
            led: 0,
            beeps: 0,
            last_idle: None,
            host_version: None,
            armed: Armed::default(),
            stats: ReadStats::default(),
        }
    }

    /// A power cycle: the open transaction and armed faults are forgotten without an IDLE.
    /// An out-of-service fault and the DUKPT counter survive (they are non-volatile).
    pub fn reboot(&mut self, now: Instant) {
        let (fault, counter, crypto, stats) = (self.fault, self.counter, self.crypto, std::mem::take(&mut self.stats));
        *self = Machine { fault, counter, stats, ..Machine::new(crypto, now) };
    }

    /// The STATUS state.
    pub fn phase(&self) -> Phase {
        match (&self.fault, &self.txn) {
            (Some(_), _) => Phase::OutOfService,
            (None, Some(t)) => t.phase,
            (None, None) => Phase::Idle,
        }
    }

    /// The open transaction's txn.
    pub fn open_txn(&self) -> Option<u32> {
        self.txn.as_ref().map(|t| t.id)
    }

    /// The out-of-service fault code.
    pub fn fault(&self) -> Option<u8> {
        self.fault
    }

    /// (amount, currency) while a card can be presented.
    pub fn waiting_for(&self) -> Option<(u32, String)> {
        self.txn
            .as_ref()
            .filter(|t| t.phase == Phase::Waiting && t.held.is_none())
            .map(|t| (t.amount, t.currency.clone()))
    }

    /// Whether the open transaction asks for the PIN (ENABLE flag).
    pub fn pin_requested(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.flags & FLAG_PIN != 0)
    }

    /// Whether the open transaction refuses swipes.
    pub fn no_swipe(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.flags & FLAG_NO_SWIPE != 0)
    }

    /// Whether a card is inserted (for the open transaction, or not yet taken out after
    /// the last one).
    pub fn card_inserted(&self) -> bool {
        self.removal.is_some() || self.txn.as_ref().is_some_and(|t| t.card_in)
    }

    /// CARD_REMOVED for a card taken out (after its transaction ended).
    fn take_out(&mut self, out: &mut Vec<Outgoing>) {
        if let Some((_, txn)) = self.removal.take() {
            out.push(frame(CARD_REMOVED, txn, &[]));
        }
    }

    /// Ends the open transaction with IDLE; an inserted card is taken out by the
    /// simulated customer [`CARD_REMOVAL`] later (CARD_REMOVED follows then).
    fn end(&mut self, reason: u8, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(t) = self.txn.take() else { return };
        if t.card_in {
            self.removal = Some((now + CARD_REMOVAL, t.id));
        }
        out.push(idle(t.id, reason));
        self.last_ended = Some(t.id);
        self.last_idle = Some((t.id, reason));
    }

    /// An intact frame (new or duplicate) arrived: the host is there.
    pub fn saw_frame(&mut self, now: Instant) {
        self.last_frame_at = now;
    }

    /// Acts on a new frame from the host.
    pub fn command(&mut self, cmd: u8, data: &[u8], now: Instant) -> Vec<Outgoing> {
        self.last_frame_at = now;
        let mut out = vec![];
        let txn_of = |d: &[u8]| if d.len() >= 4 { be32(d) } else { 0 };
        let bad = |txn: u32, why: &str| vec![error(txn, BAD_COMMAND, why)];
        match cmd {
            ENABLE => return self.enable(data, now),
            CANCEL if data.len() != 4 || be32(data) == 0 => return bad(txn_of(data), "CANCEL: bad txn or length"),
            CANCEL => self.cancel(be32(data), now, &mut out),
            OUTCOME => return self.outcome(data, now),
            BEEP if data.len() != 1 || data[0] > 5 => return bad(0, "BEEP: count 0-5"),
            BEEP => self.beeps += u32::from(data[0]),
            LED if data.len() != 1 || data[0] > 3 => return bad(0, "LED: colour 0-3"),
            LED => self.led = data[0],
            INFO if data.len() != 2 => return bad(0, "INFO: two bytes"),
            INFO => {
                self.host_version = Some((data[0], data[1]));
                out.push(self.info());
            }
            PING if !data.is_empty() => return bad(0, "PING: no data"),
            PING => out.push(self.status()),
            _ => return bad(0, "unknown command"),
        }
        out
    }

    /// The INFO event (the answer to INFO, and the reader's first frame at power-up).
    pub fn info(&self) -> Outgoing {
        let mut data = vec![PROTOCOL.0, PROTOCOL.1, CAPABILITIES];
        data.extend_from_slice(super::FIRMWARE.as_bytes());
        data.push(0);
        data.extend_from_slice(MODEL.as_bytes());
        Outgoing { cmd: INFO_REPLY, data }
    }

    /// The STATUS event.
    pub fn status(&self) -> Outgoing {
        let state = match self.phase() {
            Phase::Idle => 0,
            Phase::Waiting => 1,
            Phase::Read => 2,
            Phase::Pin => 3,
            Phase::OutOfService => 0xFF,
        };
        let txn = self.txn.as_ref().map_or(0, |t| t.id);
        let mut data = vec![state];
        data.extend_from_slice(&txn.to_be_bytes());
        data.push(self.fault.unwrap_or(0));
        Outgoing { cmd: STATUS, data }
    }

    fn enable(&mut self, d: &[u8], now: Instant) -> Vec<Outgoing> {
        if d.len() != 14 {
            return vec![error(if d.len() >= 4 { be32(d) } else { 0 }, BAD_COMMAND, "ENABLE: 14 bytes")];
        }
        let (txn, amount) = (be32(d), be32(&d[4..]));
        let (currency, exponent, timeout, flags) = (&d[8..11], d[11], d[12], d[13]);
        let letters = currency.iter().all(u8::is_ascii_uppercase);
        if txn == 0 || flags & !(FLAG_PIN | FLAG_NO_SWIPE) != 0 || timeout == 0 || exponent > 4 || !letters {
            return vec![error(txn, BAD_COMMAND, "ENABLE: bad txn, flags, timeout, exponent or currency")];
        }
        let currency = String::from_utf8_lossy(currency).into_owned();
        let mut out = vec![];
        self.end(SUPERSEDED, now, &mut out);
        let numeric = cards::currency_numeric(&currency);
        self.last_enable = Some((amount, numeric.unwrap_or(752)));
        let refusal = match (self.fault, numeric) {
            (Some(code), _) => Some((code, "out of service")),
            (None, None) => Some((CURRENCY_NOT_SUPPORTED, "currency not supported")),
            (None, Some(_)) => None,
        };
        if let Some((code, text)) = refusal {
            out.push(error(txn, code, text));
            out.push(idle(txn, FAILED));
            self.last_ended = Some(txn);
            self.last_idle = Some((txn, FAILED));
            return out;
        }
        self.txn = Some(Txn {
            id: txn,
            amount,
            currency,
            numeric: numeric.unwrap_or(0),
            flags,
            phase: Phase::Waiting,
            deadline: now + Duration::from_secs(u64::from(timeout)),
            pin_done: None,
            outcome_deadline: None,
            held: None,
            card_in: false,
        });
        out
    }

    fn cancel(&mut self, txn: u32, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(t) = self.txn.as_mut().filter(|t| t.id == txn) else {
            out.push(idle(txn, NOT_OPEN));
            return;
        };
        // A held read crosses the CANCEL: it goes out first, then is forgotten.
        if let Some((_, read)) = t.held.take() {
            out.push(self.sent(read));
        }
        self.end(CANCELED, now, out);
    }

    fn outcome(&mut self, d: &[u8], now: Instant) -> Vec<Outgoing> {
        let txn = if d.len() >= 4 { be32(d) } else { 0 };
        let issuer_len = d.get(5..7).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        if txn == 0 || d.len() < 7 || d[4] > 2 || issuer_len != Some(d.len() - 7) {
            return vec![error(txn, BAD_COMMAND, "OUTCOME: bad txn, result or length")];
        }
        let result = d[4];
        let mut out = vec![];
        let Some(t) = self.txn.as_mut().filter(|t| t.id == txn) else {
            out.push(idle(txn, NOT_OPEN));
            return out;
        };
        if t.phase != Phase::Read {
            out.push(error(txn, BAD_COMMAND, "OUTCOME: no read delivered"));
            return out;
        }
        let chip = t.card_in;
        (self.led, self.beeps) = if result == 0 { (1, self.beeps + 1) } else { (2, self.beeps + 2) };
        let declines = chip && result == 0 && std::mem::take(&mut self.armed.chip_declines);
        self.end(if declines { CARD_DECLINED } else { COMPLETED }, now, &mut out);
        out
    }

    /// ERROR `code` for the open transaction (or txn 0), with what the code's kind implies.
    pub fn inject_error(&mut self, code: u8, text: &str, now: Instant) -> Result<Vec<Outgoing>, &'static str> {
        if code == 0 {
            return Err("ERROR code 0 does not exist");
        }
        let txn = self.open_txn().unwrap_or(0);
        let mut out = vec![error(txn, code, text)];
        match code {
            0x01..=0x0F => {
                if let Some(t) = self.txn.as_mut().filter(|t| t.phase == Phase::Pin) {
                    // The card came out during PIN entry: back to waiting for one.
                    (t.phase, t.pin_done, t.card_in) = (Phase::Waiting, None, false);
                }
            }
            BAD_COMMAND => {}
            0x10..=0x2F => self.end(FAILED, now, &mut out),
            _ => {
                self.end(FAILED, now, &mut out);
                self.fault = Some(code);
            }
        }
        Ok(out)
    }

    /// Clears an out-of-service fault.
    pub fn repair(&mut self) {
        self.fault = None;
    }

    /// The link gave up on a CARD_READ: the read is forgotten and its transaction is over
    /// (no IDLE: the host learns it from STATUS).
    pub fn read_lost(&mut self, txn: u32, now: Instant) {
        if self.open_txn() == Some(txn) {
            if let Some(t) = self.txn.take() {
                self.last_ended = Some(t.id);
                if t.card_in {
                    self.removal = Some((now + CARD_REMOVAL, t.id));
                }
            }
        }
    }

    /// Host-lost and transaction timers; events they cause.
    pub fn tick(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut out = vec![];
        if self.removal.is_some_and(|(at, _)| now >= at) {
            self.take_out(&mut out);
        }
        let Some(t) = self.txn.as_mut() else { return out };
        if now.saturating_duration_since(self.last_frame_at) >= HOST_LOST_AFTER {
            if let Some(t) = self.txn.as_mut() {
                t.held = None;
            }
            self.end(HOST_LOST, now, &mut out);
            return out;
        }
        if let Some((_, card)) = t.pin_done.take_if(|(at, _)| now >= *at) {
            match self.deliver(card, Presentation::Insert, now) {
                Ok(o) => out.extend(o),
                Err(e) => {
                    tracing::error!(error = %e, "simulated card reader: the read could not be encrypted");
                    let id = self.open_txn().unwrap_or(0);
                    if let Some(t) = self.txn.as_mut() {
                        (t.phase, t.card_in) = (Phase::Waiting, false);
                    }
                    out.push(error(id, CARD_UNREADABLE, "simulator: encryption failed"));
                }
            }
            return out;
        }
        self.tick_deadlines(now, &mut out);
        out
    }

    fn tick_deadlines(&mut self, now: Instant, out: &mut Vec<Outgoing>) {
        let Some(t) = self.txn.as_mut() else { return };
        if let Some((_, read)) = t.held.take_if(|(at, _)| now >= *at) {
            t.phase = Phase::Read;
            t.outcome_deadline = Some(now + OUTCOME_TIMEOUT);
            let f = self.sent(read);
            out.push(f);
            return;
        }
        let timed_out = t.phase == Phase::Waiting && t.held.is_none() && now >= t.deadline;
        let no_outcome = t.phase == Phase::Read && t.outcome_deadline.is_some_and(|d| now >= d);
        if timed_out {
            self.end(TIMED_OUT, now, out);
        } else if no_outcome {
            self.end(OUTCOME_TIMED_OUT, now, out);
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
pub(super) mod tests;
