//! The simulated card reader: protocol v2 (docs/card-reader-protocol.md) on a real
//! pseudo-terminal, written from the specification alone. [`SimCardReader`] is the device
//! and its control API; `link.rs` is the framing, `machine.rs` the transactions, `cards.rs`
//! the test cards and what a read holds, `faults.rs` the faults it plays on command and
//! `port.rs` the PTY behind a stable path.

mod cards;
mod faults;
mod link;
mod machine;
mod port;

pub use cards::{Presentation, TestCard};
pub use faults::{FrameDamage, ReaderFault};
pub use machine::Phase as ReaderPhase;

pub use link::LinkCounters;
use link::{Link, Outgoing};
use machine::{Crypto, Machine};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The firmware version the reader reports in INFO.
pub const FIRMWARE: &str = "SIM-RDR 2.4.1";
/// How often the reader's thread looks at its timers when nothing arrives.
const TICK: Duration = Duration::from_millis(5);

/// What the reader is doing, for `/sim/state` and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderState {
    /// (amount in minor units, currency) while a card can be presented.
    pub waiting_for: Option<(u32, String)>,
    /// Whether the open transaction asks for the PIN (ENABLE flag: chip and PIN only).
    pub pin: bool,
    /// Whether the reader's cable is in.
    pub plugged: bool,
    /// The open transaction's txn.
    pub transaction_id: Option<u32>,
    /// `idle`, `waiting`, `read`, `pin` or `out_of_service` (STATUS state).
    pub state: ReaderPhase,
    /// The out-of-service ERROR code, if any.
    pub fault: Option<u8>,
    /// Whether it is hung (fault `dead`).
    pub dead: bool,
    /// Whether the open transaction refuses swipes.
    pub no_swipe: bool,
    /// Whether a card is inserted for the open transaction.
    pub card_inserted: bool,
    /// LED colour: `off`, `green`, `red` or `amber`.
    pub led: &'static str,
    /// Beeps sounded since it started.
    pub beeps: u32,
    /// The last IDLE sent: txn and reason (`COMPLETED`, `CANCELED`, …).
    pub last_idle: Option<(u32, &'static str)>,
    /// The protocol version of the host's last INFO.
    pub host_version: Option<(u8, u8)>,
    /// The SEQ of the reader's next new frame.
    pub next_seq: u8,
    /// Whether a frame of the reader waits for its ACK.
    pub unacknowledged: bool,
    /// Frames queued behind it.
    pub queued: usize,
    /// ACK delay in ms (fault `slow_acks`).
    pub slow_acks_ms: u64,
}

/// What the reader counted (since it started; reboots and replugs do not reset these).
#[derive(Debug, Clone, Serialize)]
pub struct ReaderStats {
    /// The link's counters (frames, duplicates, damage, NAKs, resends, drops).
    #[serde(flatten)]
    pub link: LinkCounters,
    /// The host's ACK latencies, µs from the last byte of a reader frame written to its
    /// ACK read; the last 10 000.
    pub host_ack_latencies_us: Vec<u32>,
    /// CARD_READ events sent (stray reads included).
    pub reads_sent: u64,
    /// The KSN of the last read.
    pub last_ksn: Option<[u8; 12]>,
    /// The PIN block of the last read that carried one.
    pub last_pin_block: Option<[u8; 16]>,
    /// The encrypted card data (tag 0x03) of the last read.
    pub last_card_data: Option<Vec<u8>>,
}

/// [`ReaderStats`] without the card data, PIN block or latency samples (for `/sim/state`).
#[derive(Debug, Clone, Serialize)]
pub struct StatsSummary {
    /// The link's counters.
    #[serde(flatten)]
    pub link: LinkCounters,
    /// See [`ReaderStats`].
    pub reads_sent: u64,
    /// Host ACK latency samples held.
    pub ack_samples: usize,
    /// Their median, µs.
    pub ack_p50_us: Option<u32>,
    /// Their 99th percentile, µs.
    pub ack_p99_us: Option<u32>,
    /// Their maximum, µs.
    pub ack_max_us: Option<u32>,
}

impl ReaderStats {
    /// The counters and latency percentiles.
    pub fn summary(&self) -> StatsSummary {
        let mut l = self.host_ack_latencies_us.clone();
        l.sort_unstable();
        let pct = |p: usize| (!l.is_empty()).then(|| l[((l.len() - 1) * p) / 100]);
        StatsSummary {
            link: self.link,
            reads_sent: self.reads_sent,
            ack_samples: l.len(),
            ack_p50_us: pct(50),
            ack_p99_us: pct(99),
            ack_max_us: l.last().copied(),
        }
    }
}

/// Link, transactions and power of the reader: everything but the port.
struct Core {
    link: Link,
    machine: Machine,
    plugged: bool,
    dead: bool,
}

impl Core {
    fn new(crypto: Crypto, now: Instant) -> Self {
        Core { link: Link::default(), machine: Machine::new(crypto, now), plugged: true, dead: false }
    }

    fn send_all(&mut self, out: Vec<Outgoing>) {
        out.into_iter().for_each(|o| self.link.send(o));
    }

    /// A power cycle: state forgotten, SEQ from 1, and INFO sent unasked as the first
    /// frame (§2.5), so the host knows the reader restarted.
    fn reboot(&mut self, now: Instant) {
        self.link.reboot();
        self.machine.reboot(now);
        self.dead = false;
        let hello = self.machine.info();
        self.link.send(hello);
    }

    /// Takes the bytes read at `now`, runs the timers; gives the bytes to write.
    fn step(&mut self, input: &[u8], now: Instant) -> Vec<Vec<u8>> {
        if !self.plugged || self.dead {
            return vec![];
        }
        let rx = self.link.receive(input, now);
        if rx.intact > 0 {
            self.machine.saw_frame(now);
        }
        for f in rx.frames {
            let out = self.machine.command(f.cmd, &f.data, now);
            self.send_all(out);
        }
        let out = self.machine.tick(now);
        self.send_all(out);
        let (writes, dropped) = self.link.poll(now);
        for d in dropped.iter().filter(|d| d.cmd == machine::CARD_READ) {
            self.machine.read_lost(d.txn(), now);
        }
        writes
    }

    fn state(&self) -> ReaderState {
        let m = &self.machine;
        ReaderState {
            waiting_for: m.waiting_for(),
            pin: m.pin_requested(),
            plugged: self.plugged,
            transaction_id: m.open_txn(),
            state: m.phase(),
            fault: m.fault(),
            dead: self.dead,
            no_swipe: m.no_swipe(),
            card_inserted: m.card_inserted(),
            led: ["off", "green", "red", "amber"].get(usize::from(m.led)).copied().unwrap_or("off"),
            beeps: m.beeps,
            last_idle: m.last_idle.map(|(t, r)| (t, machine::IDLE_REASONS.get(usize::from(r)).copied().unwrap_or("?"))),
            host_version: m.host_version,
            next_seq: self.link.next_seq(),
            unacknowledged: self.link.unacknowledged(),
            queued: self.link.queued(),
            slow_acks_ms: u64::try_from(self.link.ack_delay.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn stats(&self) -> ReaderStats {
        let (l, r) = (&self.link.stats, &self.machine.stats);
        ReaderStats {
            link: l.counters,
            host_ack_latencies_us: l.ack_latencies_us.iter().copied().collect(),
            reads_sent: r.reads_sent,
            last_ksn: r.last_ksn,
            last_pin_block: r.last_pin_block,
            last_card_data: r.last_card_data.clone(),
        }
    }
}

struct Shared {
    core: Mutex<Core>,
    pty: Mutex<Option<port::Pty>>,
    cable: port::Cable,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The simulated card reader on a pseudo-terminal, answering on its own thread.
pub struct SimCardReader {
    /// The path the daemon opens: a symlink to the current PTY slave, the same for the
    /// reader's whole life (absent while unplugged).
    pub path: String,
    shared: Arc<Shared>,
}

impl SimCardReader {
    /// Opens a PTY, points the reader's path at it and answers on it until `cancel` fires
    /// (or the reader is dropped); then removes the path.
    pub fn start(cancel: CancellationToken) -> std::io::Result<Arc<Self>> {
        Self::start_with(cancel, Crypto::real())
    }

    fn start_with(cancel: CancellationToken, crypto: Crypto) -> std::io::Result<Arc<Self>> {
        let cable = port::Cable::new()?;
        let pty = match cable.plug() {
            Ok(p) => p,
            Err(e) => {
                cable.remove();
                return Err(e);
            }
        };
        let path = cable.path().to_string_lossy().into_owned();
        let shared = Arc::new(Shared {
            core: Mutex::new(Core::new(crypto, Instant::now())),
            pty: Mutex::new(Some(pty)),
            cable,
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::Builder::new().name("sim-card-reader".into()).spawn(move || run(&s, &cancel))?;
        Ok(Arc::new(SimCardReader { path, shared }))
    }

    /// What the reader is doing.
    pub fn state(&self) -> ReaderState {
        lock(&self.shared.core).state()
    }

    /// What the reader counted, with the last read's card data and PIN block.
    pub fn stats(&self) -> ReaderStats {
        lock(&self.shared.core).stats()
    }

    /// The customer presents `card`: CARD_PRESENTED, then CARD_READ (after the PIN, when
    /// the transaction asks for one) or ERROR `USE_CHIP` (a tap or swipe where the chip is
    /// required; the reader keeps waiting). Refused when the reader is not waiting for a
    /// card, is unplugged, hung or out of service.
    pub fn present(&self, card: TestCard, how: Presentation) -> Result<(), &'static str> {
        let mut core = lock(&self.shared.core);
        if !core.plugged {
            return Err("the card reader is unplugged");
        }
        if core.dead {
            return Err("the card reader is not answering (dead)");
        }
        let out = core.machine.present(card, how, Instant::now())?;
        core.send_all(out);
        Ok(())
    }

    /// Plays a fault ([`ReaderFault`] says what each does). Refused when it cannot be
    /// played now (e.g. a stray read while unplugged, ERROR code 0).
    pub fn inject(&self, fault: ReaderFault) -> Result<(), &'static str> {
        lock(&self.shared.core).inject(fault, Instant::now())
    }

    /// Unplugs (false) or plugs in (true) the reader's USB cable. Unplugged, its PTY is
    /// closed (the host's open port fails) and its path is gone; the reader loses power,
    /// so it comes back as after a reboot. Plugged in, a fresh PTY appears under the same
    /// path.
    pub fn set_plugged(&self, plugged: bool) {
        let mut core = lock(&self.shared.core);
        if core.plugged == plugged {
            return;
        }
        let now = Instant::now();
        if !plugged {
            lock(&self.shared.pty).take();
            self.shared.cable.unplug();
            core.plugged = false;
            core.reboot(now);
            return;
        }
        match self.shared.cable.plug() {
            Ok(pty) => {
                *lock(&self.shared.pty) = Some(pty);
                core.reboot(now);
                core.plugged = true;
            }
            Err(e) => tracing::warn!(error = %e, "simulated card reader: no pseudo-terminal to plug in"),
        }
    }
}

impl Drop for SimCardReader {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn run(shared: &Shared, cancel: &CancellationToken) {
    let mut buf = vec![0u8; 4096];
    while !cancel.is_cancelled() && !shared.stop.load(Ordering::Relaxed) {
        let got = lock(&shared.pty).as_mut().map(|p| p.read(&mut buf, TICK));
        let n = got.unwrap_or_else(|| {
            std::thread::sleep(TICK);
            0
        });
        let now = Instant::now();
        let writes = lock(&shared.core).step(&buf[..n], now);
        if let Some(p) = lock(&shared.pty).as_mut() {
            for w in &writes {
                p.write(w);
            }
            p.drop_unread(now);
        }
    }
    lock(&shared.pty).take();
    shared.cable.remove();
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
