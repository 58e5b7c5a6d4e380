//! The reader's side of the card-reader link (docs/card-reader-protocol.md §2): frames and
//! their CRC-16/CCITT-FALSE, ACK/NAK, sequence numbers and duplicates, stop-and-wait with
//! resends, resynchronisation on damaged frames and the inter-byte timeout. Pure logic:
//! bytes and `Instant`s go in, bytes to write come out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame's body.
pub const ETX: u8 = 0x03;
/// First byte of an acknowledgement (`06 SEQ ~SEQ`).
pub const ACK: u8 = 0x06;
/// Negative acknowledgement (one byte).
pub const NAK: u8 = 0x15;
/// The smallest valid `LEN` (SEQ and CMD, no DATA).
pub const MIN_LEN: usize = 2;
/// The largest valid `LEN` (1022 bytes of DATA).
pub const MAX_LEN: usize = 1024;
/// The most DATA a frame carries.
pub const MAX_DATA: usize = MAX_LEN - 2;
/// How long a sender waits for the ACK after a frame's last byte.
pub const RESEND_AFTER: Duration = Duration::from_millis(500);
/// Sends of one frame before the link is taken as down (1 + 3 resends).
pub const MAX_SENDS: u8 = 4;
/// After a NAK a resend waits until this long after the previous send (§2.2).
pub const NAK_RESEND_GAP: Duration = Duration::from_millis(150);
/// A frame in progress with no byte for this long is dropped (§2.4).
pub const INTER_BYTE_TIMEOUT: Duration = Duration::from_millis(50);
/// At most one NAK per this interval (§2.2).
pub const NAK_SPACING: Duration = Duration::from_millis(100);
/// Host ACK latency samples kept.
pub const LATENCY_SAMPLES: usize = 10_000;
/// INFO from the host: always acted on, even when it looks like a duplicate (§2.1).
const HOST_INFO: u8 = 0x14;

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// One frame on the wire: `STX LEN_H LEN_L SEQ CMD DATA… ETX CRC_H CRC_L`. DATA longer
/// than [`MAX_DATA`] is cut there (the reader never builds such a frame).
pub fn encode(seq: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let data = &data[..data.len().min(MAX_DATA)];
    let len = u16::try_from(data.len() + 2).unwrap_or(u16::MAX);
    let mut f = Vec::with_capacity(data.len() + 8);
    f.push(STX);
    f.extend_from_slice(&len.to_be_bytes());
    f.push(seq);
    f.push(cmd);
    f.extend_from_slice(data);
    f.push(ETX);
    let crc = crc16(&f[1..]);
    f.extend_from_slice(&crc.to_be_bytes());
    f
}

/// The acknowledgement of the frame numbered `seq`.
pub fn ack(seq: u8) -> [u8; 3] {
    [ACK, seq, seq ^ 0xFF]
}

/// The SEQ after `seq`: 1 … 255, then 1 again (0 is never used).
pub fn next_seq(seq: u8) -> u8 {
    if seq == 255 { 1 } else { seq + 1 }
}

/// An intact frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its sequence number.
    pub seq: u8,
    /// Its command or event code.
    pub cmd: u8,
    /// Its DATA.
    pub data: Vec<u8>,
    /// Its CRC (with SEQ, what tells a duplicate).
    pub crc: u16,
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// `LEN` outside 2 … 1024.
    BadLen,
    /// No `ETX` at `3 + LEN`.
    NoEtx,
    /// The CRC does not match.
    BadCrc,
    /// No byte for [`INTER_BYTE_TIMEOUT`] inside the frame.
    Partial,
}

/// What the parser found in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An intact frame.
    Frame(Frame),
    /// `06 SEQ ~SEQ`.
    Ack(u8),
    /// `15`.
    Nak,
    /// A damaged frame; its `STX` was dropped and the bytes after it are looked at again.
    Damaged(Damage),
}

enum Scan {
    Need,
    Bad(Damage),
    Whole(Frame, usize),
}

fn scan_frame(buf: &[u8]) -> Scan {
    if buf.len() < 3 {
        return Scan::Need;
    }
    let len = usize::from(u16::from_be_bytes([buf[1], buf[2]]));
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Scan::Bad(Damage::BadLen);
    }
    let total = len + 6;
    if buf.len() < total {
        return Scan::Need;
    }
    if buf[3 + len] != ETX {
        return Scan::Bad(Damage::NoEtx);
    }
    let crc = u16::from_be_bytes([buf[4 + len], buf[5 + len]]);
    if crc16(&buf[1..4 + len]) != crc {
        return Scan::Bad(Damage::BadCrc);
    }
    Scan::Whole(Frame { seq: buf[3], cmd: buf[4], data: buf[5..3 + len].to_vec(), crc }, total)
}

/// Splits the incoming bytes into frames, ACKs and NAKs (§2.3, §2.4).
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    last_byte: Option<Instant>,
}

impl Parser {
    /// Adds bytes that arrived at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Instant) {
        if !bytes.is_empty() {
            self.buf.extend_from_slice(bytes);
            self.last_byte = Some(now);
        }
    }

    /// The next thing found, if any yet. Call until `None`, also with no new bytes (the
    /// inter-byte timeout is checked against `now`).
    pub fn next(&mut self, now: Instant) -> Option<Item> {
        loop {
            let first = *self.buf.first()?;
            let stale = self.last_byte.is_some_and(|t| now.saturating_duration_since(t) >= INTER_BYTE_TIMEOUT);
            match first {
                STX => match scan_frame(&self.buf) {
                    Scan::Need if stale => {
                        self.buf.remove(0);
                        return Some(Item::Damaged(Damage::Partial));
                    }
                    Scan::Need => return None,
                    Scan::Bad(d) => {
                        self.buf.remove(0);
                        return Some(Item::Damaged(d));
                    }
                    Scan::Whole(frame, n) => {
                        self.buf.drain(..n);
                        return Some(Item::Frame(frame));
                    }
                },
                ACK if self.buf.len() < 3 => {
                    if !stale {
                        return None;
                    }
                    self.buf.remove(0);
                }
                ACK => {
                    let (seq, inverse) = (self.buf[1], self.buf[2]);
                    if seq != 0 && inverse == seq ^ 0xFF {
                        self.buf.drain(..3);
                        return Some(Item::Ack(seq));
                    }
                    // Not an acknowledgement: the 06 is noise.
                    self.buf.remove(0);
                }
                NAK => {
                    self.buf.remove(0);
                    return Some(Item::Nak);
                }
                _ => {
                    self.buf.remove(0);
                }
            }
        }
    }
}

/// A frame for the link to number and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Event code.
    pub cmd: u8,
    /// DATA.
    pub data: Vec<u8>,
}

impl Outgoing {
    /// The txn the event carries (its first four bytes), or 0.
    pub fn txn(&self) -> u32 {
        self.data.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes).unwrap_or(0)
    }
}

/// A frame sent and not yet acknowledged.
#[derive(Debug)]
struct Outstanding {
    out: Outgoing,
    seq: u8,
    bytes: Vec<u8>,
    sends: u8,
    /// When the first send is due (later than now after a truncated damaged copy).
    send_at: Instant,
    /// When its last byte was last written.
    written_at: Option<Instant>,
    /// ACKs to act as if they never arrived (faults).
    ignore_acks: u8,
}

/// Link counters, kept across reboots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkCounters {
    /// Intact frames from the host, duplicates included.
    pub frames_received: u64,
    /// Of those, duplicates (same SEQ and CRC as the last one accepted): acknowledged
    /// again, not acted on.
    pub duplicates_received: u64,
    /// Damaged or partial frames dropped.
    pub damaged_received: u64,
    /// NAKs sent.
    pub naks_sent: u64,
    /// NAKs received.
    pub naks_received: u64,
    /// Frames sent (first sends).
    pub frames_sent: u64,
    /// Resends (on NAK or after 500 ms without the ACK).
    pub resends: u64,
    /// Frames given up after four sends, and the queued frames dropped with them.
    pub frames_dropped: u64,
    /// Host ACKs ignored on purpose (faults `lose_next_ack`, `resend_next_read`).
    pub acks_ignored: u64,
}

/// The link's counters and the host's ACK latencies.
#[derive(Debug, Clone, Default)]
pub struct LinkStats {
    /// Counters.
    pub counters: LinkCounters,
    /// Host ACK latencies in µs (last byte of the reader's frame written → ACK read).
    pub ack_latencies_us: VecDeque<u32>,
}

/// Frames given up (four sends unanswered) in one poll.
pub type Dropped = Vec<Outgoing>;

/// The reader's link: receives, acknowledges, dedupes; numbers, sends and resends its frames.
#[derive(Debug)]
pub struct Link {
    parser: Parser,
    next_seq: u8,
    last_accepted: Option<(u8, u16)>,
    queue: VecDeque<Outgoing>,
    outstanding: Option<Outstanding>,
    last_nak: Option<Instant>,
    immediate: Vec<Vec<u8>>,
    delayed: Vec<(Instant, Vec<u8>)>,
    /// Every ACK is written this late (fault `slow_acks`).
    pub ack_delay: Duration,
    /// ACKs of the next new frame to ignore (fault `lose_next_ack`).
    pub lose_next: u8,
    /// Ignore the first ACK of the next CARD_READ (fault `resend_next_read`).
    pub lose_next_read: bool,
    /// Damaged copies to write, one in front of each of the next new frames (fault
    /// `damaged_frame`).
    pub damage_next: VecDeque<super::faults::FrameDamage>,
    /// Counters.
    pub stats: LinkStats,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            parser: Parser::default(),
            next_seq: 1,
            last_accepted: None,
            queue: VecDeque::new(),
            outstanding: None,
            last_nak: None,
            immediate: vec![],
            delayed: vec![],
            ack_delay: Duration::ZERO,
            lose_next: 0,
            lose_next_read: false,
            damage_next: VecDeque::new(),
            stats: LinkStats::default(),
        }
    }
}

/// What one batch of received bytes held.
#[derive(Debug, Default)]
pub struct Received {
    /// New frames to act on, in order.
    pub frames: Vec<Frame>,
    /// Intact frames, duplicates included.
    pub intact: usize,
}

impl Link {
    /// A power cycle: SEQ starts at 1, nothing remembered or queued. Counters and
    /// `ack_delay` stay.
    pub fn reboot(&mut self) {
        let (stats, ack_delay) = (std::mem::take(&mut self.stats), self.ack_delay);
        *self = Link { stats, ack_delay, ..Link::default() };
    }

    /// After a hang: bytes half-received and ACKs not yet written are gone; an
    /// unacknowledged frame is sent again 500 ms from now.
    pub fn wake(&mut self, now: Instant) {
        self.parser = Parser::default();
        self.delayed.clear();
        self.immediate.clear();
        if let Some(o) = &mut self.outstanding {
            if o.written_at.is_some() {
                o.written_at = Some(now);
            }
        }
    }

    /// The SEQ the next new frame gets.
    pub fn next_seq(&self) -> u8 {
        self.next_seq
    }

    /// Whether a frame of ours waits for its ACK.
    pub fn unacknowledged(&self) -> bool {
        self.outstanding.is_some()
    }

    /// Frames waiting behind the unacknowledged one.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queues a frame; it goes out once the ones before it are acknowledged.
    pub fn send(&mut self, out: Outgoing) {
        self.queue.push_back(out);
    }

    /// Bytes written as they are, before anything else (fault `garbage`).
    pub fn write_raw(&mut self, bytes: Vec<u8>) {
        self.immediate.push(bytes);
    }

    /// Takes bytes received at `now`: acknowledges intact frames, NAKs damaged ones,
    /// handles the host's ACKs and NAKs.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) -> Received {
        self.parser.push(bytes, now);
        let mut rx = Received::default();
        while let Some(item) = self.parser.next(now) {
            match item {
                Item::Frame(f) => {
                    rx.intact += 1;
                    self.stats.counters.frames_received += 1;
                    self.acknowledge(f.seq, now);
                    if f.cmd != HOST_INFO && self.last_accepted == Some((f.seq, f.crc)) {
                        self.stats.counters.duplicates_received += 1;
                        continue;
                    }
                    self.last_accepted = Some((f.seq, f.crc));
                    rx.frames.push(f);
                }
                Item::Ack(seq) => self.on_ack(seq, now),
                Item::Nak => self.on_nak(now),
                Item::Damaged(_) => {
                    self.stats.counters.damaged_received += 1;
                    if self.last_nak.is_none_or(|t| now.saturating_duration_since(t) >= NAK_SPACING) {
                        self.last_nak = Some(now);
                        self.stats.counters.naks_sent += 1;
                        self.immediate.push(vec![NAK]);
                    }
                }
            }
        }
        rx
    }

    fn acknowledge(&mut self, seq: u8, now: Instant) {
        if self.ack_delay.is_zero() {
            self.immediate.push(ack(seq).to_vec());
        } else {
            self.delayed.push((now + self.ack_delay, ack(seq).to_vec()));
        }
    }

    fn on_ack(&mut self, seq: u8, now: Instant) {
        let Some(o) = &mut self.outstanding else { return };
        let Some(written) = o.written_at else { return };
        if o.seq != seq {
            return;
        }
        let us = u32::try_from(now.saturating_duration_since(written).as_micros()).unwrap_or(u32::MAX);
        if self.stats.ack_latencies_us.len() == LATENCY_SAMPLES {
            self.stats.ack_latencies_us.pop_front();
        }
        self.stats.ack_latencies_us.push_back(us);
        if o.ignore_acks > 0 {
            o.ignore_acks -= 1;
            self.stats.counters.acks_ignored += 1;
        } else {
            self.outstanding = None;
        }
    }

    /// A NAK: the outstanding frame goes again, but no sooner than [`NAK_RESEND_GAP`]
    /// after its previous send (§2.2), so one burst of noise cannot use up the sends.
    fn on_nak(&mut self, now: Instant) {
        self.stats.counters.naks_received += 1;
        if let Some(o) = &mut self.outstanding {
            if let (Some(last), true) = (o.written_at, o.sends < MAX_SENDS) {
                let at = (last + NAK_RESEND_GAP).max(now);
                o.sends += 1;
                o.written_at = Some(at);
                self.stats.counters.resends += 1;
                self.delayed.push((at, o.bytes.clone()));
            }
        }
    }

    /// Bytes to write now, in order (ACKs and NAKs first), and the frames given up.
    pub fn poll(&mut self, now: Instant) -> (Vec<Vec<u8>>, Dropped) {
        let mut writes = std::mem::take(&mut self.immediate);
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                writes.push(self.delayed.remove(i).1);
            } else {
                i += 1;
            }
        }
        let dropped = self.poll_outstanding(now, &mut writes);
        if self.outstanding.is_none() {
            if let Some(next) = self.queue.pop_front() {
                self.start(next, now, &mut writes);
            }
        }
        (writes, dropped)
    }

    fn poll_outstanding(&mut self, now: Instant, writes: &mut Vec<Vec<u8>>) -> Dropped {
        let Some(o) = &mut self.outstanding else { return vec![] };
        match o.written_at {
            None if now >= o.send_at => {
                o.sends = 1;
                o.written_at = Some(now);
                writes.push(o.bytes.clone());
            }
            None => {}
            Some(t) if now.saturating_duration_since(t) < RESEND_AFTER => {}
            Some(_) if o.sends < MAX_SENDS => {
                o.sends += 1;
                o.written_at = Some(now);
                self.stats.counters.resends += 1;
                writes.push(o.bytes.clone());
            }
            Some(_) => {
                // Four sends unanswered: the link is down. This frame and the ones queued
                // behind it are dropped; the host resynchronises with INFO and PING.
                let mut dropped: Dropped = self.outstanding.take().map(|o| o.out).into_iter().collect();
                dropped.extend(self.queue.drain(..));
                self.stats.counters.frames_dropped += dropped.len() as u64;
                return dropped;
            }
        }
        vec![]
    }

    fn start(&mut self, out: Outgoing, now: Instant, writes: &mut Vec<Vec<u8>>) {
        let seq = self.next_seq;
        self.next_seq = next_seq(seq);
        let bytes = encode(seq, out.cmd, &out.data);
        let mut ignore_acks = std::mem::take(&mut self.lose_next);
        if out.cmd == super::machine::CARD_READ && std::mem::take(&mut self.lose_next_read) {
            ignore_acks = ignore_acks.max(1);
        }
        let mut send_at = now;
        if let Some(how) = self.damage_next.pop_front() {
            let (copy, pause) = how.copy_of(&bytes);
            writes.push(copy);
            send_at = now + pause;
        }
        self.stats.counters.frames_sent += 1;
        let mut o = Outstanding { out, seq, bytes, sends: 0, send_at, written_at: None, ignore_acks };
        if send_at <= now {
            o.sends = 1;
            o.written_at = Some(now);
            writes.push(o.bytes.clone());
        }
        self.outstanding = Some(o);
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
