//! The card reader link (protocol v2): frames sent stop-and-wait with sequence numbers,
//! ACK timeout and bounded resends; every intact frame received is acknowledged at once
//! (also while waiting for an ACK), duplicates are dropped, damaged frames NAKed at most
//! once per 100 ms. Parsed events queue in arrival order for the device owner, which
//! decides which belong to the sale in front of the customer.

use super::frame::{NAK, Received, Receiver, ack, encode};
use super::messages::{
    Enable, Event, EventError, Outcome, PROTOCOL_MAJOR, ReaderInfo, cmd, info_request, outcome_payload,
};
use super::parse_event;
use crate::ErrorKind;
use crate::transport::{Transport, TransportError};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long the host waits for an ACK after writing a frame's last byte.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(500);
/// Resends of an unacknowledged frame (4 sends in all).
pub const MAX_RETRANSMIT: usize = 3;
/// The host sends PING when it has sent nothing for this long.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// At most one NAK per this long.
const NAK_SPACING: Duration = Duration::from_millis(100);
/// After a NAK the host resends no sooner than this after the previous send.
pub const NAK_RESEND_GAP: Duration = Duration::from_millis(150);
/// Most sends of one frame, NAKs included.
pub const MAX_SENDS: usize = 8;
/// The longest a single read of the port waits, so ACKs leave in time.
const READ_SLICE: Duration = Duration::from_millis(10);

/// A card reader failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardReaderError {
    /// The link failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The reader did not acknowledge a frame.
    #[error("the card reader did not acknowledge a frame after {0} sends; check the cable and the reader's power")]
    NoAck(usize),
    /// Every send was answered NAK: the reader does not speak v2.
    #[error(
        "the card reader answers NAK to every frame: it speaks an older protocol (v1?); posagent needs protocol v2 \
         (docs/card-reader-protocol.md); update the reader's firmware"
    )]
    RefusesEveryFrame,
    /// The reader speaks another protocol major version.
    #[error("the card reader speaks protocol v{major}.{minor}; posagent needs v2 (docs/card-reader-protocol.md)")]
    Version {
        /// Reader's major version.
        major: u8,
        /// Reader's minor version.
        minor: u8,
    },
    /// INFO was acknowledged but not answered.
    #[error("the card reader acknowledged INFO but did not answer it within {0:?}; check its firmware")]
    NoInfo(Duration),
}

impl CardReaderError {
    /// What the daemon should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CardReaderError::Transport(e) => e.kind(),
            CardReaderError::NoAck(_) | CardReaderError::NoInfo(_) => ErrorKind::Timeout,
            CardReaderError::RefusesEveryFrame | CardReaderError::Version { .. } => ErrorKind::Configuration,
        }
    }
}

/// What came in from the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// An event.
    Event(Event),
    /// An intact frame whose payload breaks the protocol (acknowledged, not acted on).
    Invalid(EventError),
}

/// Counters of the link, for `/metrics` and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Intact frames received.
    pub frames: u64,
    /// Duplicates received (acknowledged again, dropped).
    pub duplicates: u64,
    /// Damaged or partial frames dropped.
    pub damaged: u64,
    /// Noise bytes dropped.
    pub noise: u64,
    /// Frames the host sent again.
    pub resends: u64,
}

/// A v2 card reader on some transport.
pub struct CardReader<T: Transport> {
    transport: T,
    rx: Receiver,
    seq: u8,
    last_in: Option<(u8, u16)>,
    inbox: VecDeque<Inbound>,
    acks: Vec<u8>,
    naks: usize,
    last_nak: Option<Instant>,
    last_sent: Instant,
    stats: LinkStats,
    restarted: bool,
}

impl<T: Transport> CardReader<T> {
    /// A link on `transport`; nothing is sent yet (see [`Self::open`]).
    pub fn new(transport: T) -> Self {
        CardReader {
            transport,
            rx: Receiver::new(),
            seq: 0,
            last_in: None,
            inbox: VecDeque::new(),
            acks: Vec::new(),
            naks: 0,
            last_nak: None,
            last_sent: Instant::now(),
            stats: LinkStats::default(),
            restarted: false,
        }
    }

    /// Opens the link: INFO, and the reader's protocol version checked (v2 only).
    pub fn open(transport: T, wait: Duration) -> Result<(Self, ReaderInfo), CardReaderError> {
        let mut reader = CardReader::new(transport);
        let info = reader.info(wait)?;
        // A power-up INFO met at opening is no restart of anything the host knows.
        reader.restarted = false;
        Ok((reader, info))
    }

    /// The link's counters.
    pub fn stats(&self) -> LinkStats {
        LinkStats { noise: self.rx.noise(), ..self.stats }
    }

    /// How long since the host last sent a frame (PING is due after [`KEEP_ALIVE`]).
    pub fn idle_for(&self) -> Duration {
        self.last_sent.elapsed()
    }

    /// Whether the reader announced a restart (an INFO with SEQ 1) since the last call.
    pub fn take_restarted(&mut self) -> bool {
        std::mem::take(&mut self.restarted)
    }

    /// The next thing that came in, in arrival order.
    pub fn take(&mut self) -> Option<Inbound> {
        self.inbox.pop_front()
    }

    /// Reads the port for up to `wait` (in slices short enough that every frame is
    /// acknowledged within the protocol's 100 ms), acknowledging and queueing what
    /// arrives; returns early once something is queued.
    pub fn poll(&mut self, wait: Duration) -> Result<(), CardReaderError> {
        let deadline = Instant::now() + wait;
        loop {
            // Read what the port holds before judging a frame stalled (§2.4): the owner
            // may have been busy for longer than the inter-byte timeout.
            let left = deadline.saturating_duration_since(Instant::now());
            self.fill(left.min(READ_SLICE).max(Duration::from_millis(1)))?;
            self.process()?;
            if !self.inbox.is_empty() || deadline <= Instant::now() {
                return Ok(());
            }
        }
    }

    fn fill(&mut self, wait: Duration) -> Result<(), TransportError> {
        let mut chunk = zeroize::Zeroizing::new([0u8; 1100]);
        match self.transport.read(&mut chunk[..], wait) {
            Ok(n) => self.rx.push(&chunk[..n], Instant::now()),
            Err(TransportError::Timeout { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Handles what the receiver holds: ACK for every intact frame, NAK for damage.
    fn process(&mut self) -> Result<(), TransportError> {
        while let Some(item) = self.rx.next(Instant::now()) {
            match item {
                Received::Frame(f) => {
                    self.transport.write_all(&ack(f.seq))?;
                    self.transport.flush()?;
                    self.stats.frames += 1;
                    // INFO is always acted on (a reader announces a restart with it, its
                    // SEQ starting over at 1) and clears what the host remembers.
                    if f.cmd == super::evt::INFO {
                        self.last_in = None;
                        // SEQ 1: the reader's first frame after power-up (§2.1).
                        self.restarted |= f.seq == 1;
                    }
                    if self.last_in == Some((f.seq, f.crc)) {
                        self.stats.duplicates += 1;
                        continue;
                    }
                    self.last_in = Some((f.seq, f.crc));
                    self.inbox.push_back(match parse_event(f.cmd, &f.data) {
                        Ok(e) => Inbound::Event(e),
                        Err(e) => Inbound::Invalid(e),
                    });
                }
                Received::Ack(seq) => self.acks.push(seq),
                Received::Nak => self.naks += 1,
                Received::Damaged(_) => {
                    self.stats.damaged += 1;
                    if self.last_nak.is_none_or(|t| t.elapsed() >= NAK_SPACING) {
                        self.transport.write_all(&[NAK])?;
                        self.transport.flush()?;
                        self.last_nak = Some(Instant::now());
                    }
                }
            }
        }
        Ok(())
    }

    fn next_seq(&mut self) -> u8 {
        self.seq = if self.seq == u8::MAX { 1 } else { self.seq + 1 };
        self.seq
    }

    /// Sends one frame and waits for its ACK, resending on NAK or silence.
    /// Sends one frame and waits for its ACK, resending on silence (at most
    /// [`MAX_RETRANSMIT`] times) and on NAK (no sooner than [`NAK_RESEND_GAP`] after the
    /// previous send, so one burst of line noise cannot use up the resends; at most
    /// [`MAX_SENDS`] sends in all). `Err(true)` inside: every send was NAKed.
    fn send(&mut self, code: u8, data: &[u8]) -> Result<(), CardReaderError> {
        match self.send_counting(code, data)? {
            Ok(()) => Ok(()),
            Err(_all_naked) => Err(CardReaderError::NoAck(MAX_RETRANSMIT + 1)),
        }
    }

    fn send_counting(&mut self, code: u8, data: &[u8]) -> Result<Result<(), bool>, CardReaderError> {
        let seq = self.next_seq();
        let frame = encode(seq, code, data);
        let (mut silences, mut naked, mut sends) = (0, 0, 0);
        while silences <= MAX_RETRANSMIT && sends < MAX_SENDS {
            self.acks.clear();
            self.naks = 0;
            self.transport.write_all(&frame)?;
            self.transport.flush()?;
            self.last_sent = Instant::now();
            if sends > 0 {
                self.stats.resends += 1;
            }
            sends += 1;
            match self.await_ack(seq)? {
                Some(true) => return Ok(Ok(())),
                Some(false) => {
                    naked += 1;
                    // Let the noise pass before the resend.
                    while self.last_sent.elapsed() < NAK_RESEND_GAP {
                        self.fill(NAK_RESEND_GAP.saturating_sub(self.last_sent.elapsed()).min(READ_SLICE))?;
                        self.process()?;
                        if self.acks.contains(&seq) {
                            return Ok(Ok(()));
                        }
                    }
                }
                None => silences += 1,
            }
        }
        Ok(Err(naked == sends))
    }

    /// Waits for the ACK of `seq`: `Some(true)` acknowledged, `Some(false)` NAKed, `None`
    /// silence for [`ACK_TIMEOUT`].
    fn await_ack(&mut self, seq: u8) -> Result<Option<bool>, CardReaderError> {
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            self.process()?;
            if self.acks.contains(&seq) {
                return Ok(Some(true));
            }
            if self.naks > 0 {
                return Ok(Some(false));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.fill(left.min(READ_SLICE))?;
        }
    }

    /// Asks for the protocol version, firmware and model; refuses a reader that does
    /// not speak v2. Other events that arrive meanwhile stay queued.
    pub fn info(&mut self, wait: Duration) -> Result<ReaderInfo, CardReaderError> {
        self.last_in = None;
        match self.send_counting(cmd::INFO, &info_request())? {
            Ok(()) => {}
            // A v1 reader's one-byte LRC never matches a v2 frame: it NAKs them all.
            Err(true) => return Err(CardReaderError::RefusesEveryFrame),
            Err(false) => return Err(CardReaderError::NoAck(MAX_RETRANSMIT + 1)),
        }
        let deadline = Instant::now() + wait;
        loop {
            self.process()?;
            let at = self.inbox.iter().position(|i| matches!(i, Inbound::Event(Event::Info(_))));
            if let Some(Inbound::Event(Event::Info(info))) = at.and_then(|i| self.inbox.remove(i)) {
                if info.major != PROTOCOL_MAJOR {
                    return Err(CardReaderError::Version { major: info.major, minor: info.minor });
                }
                return Ok(info);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CardReaderError::NoInfo(wait));
            }
            self.fill(left.min(READ_SLICE))?;
        }
    }

    /// Opens a transaction: the reader waits for a card.
    pub fn enable(&mut self, e: &Enable) -> Result<(), CardReaderError> {
        self.send(cmd::ENABLE, &e.payload())
    }

    /// Ends transaction `txn`; the reader forgets any read of it and answers IDLE.
    pub fn cancel(&mut self, txn: u32) -> Result<(), CardReaderError> {
        self.send(cmd::CANCEL, &txn.to_be_bytes())
    }

    /// Tells the reader the sale's outcome for the read of `txn`.
    pub fn outcome(&mut self, txn: u32, outcome: Outcome, issuer_data: &[u8]) -> Result<(), CardReaderError> {
        self.send(cmd::OUTCOME, &outcome_payload(txn, outcome, issuer_data))
    }

    /// Keep-alive; the reader answers STATUS.
    pub fn ping(&mut self) -> Result<(), CardReaderError> {
        self.send(cmd::PING, &[])
    }

    /// Beeps `times` times (0–5).
    pub fn beep(&mut self, times: u8) -> Result<(), CardReaderError> {
        self.send(cmd::BEEP, &[times.min(5)])
    }
}
