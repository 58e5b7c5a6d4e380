//! Framing of the card reader protocol v2 (`docs/card-reader-protocol.md` §2):
//! `STX LEN_H LEN_L SEQ CMD DATA… ETX CRC_H CRC_L`, LEN = 2 + |DATA|, CRC-16/CCITT-FALSE
//! over LEN_H … ETX; ACK = `06 SEQ ~SEQ`, NAK = `15`. The receiver drops only the STX of a
//! damaged frame and looks again from the next byte, and drops a partial frame after the
//! inter-byte timeout, so a resend is always found.

use std::time::{Duration, Instant};

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame's data.
pub const ETX: u8 = 0x03;
/// Frame received intact (followed by its SEQ and the SEQ's complement).
pub const ACK: u8 = 0x06;
/// Damaged or partial frame dropped: send again.
pub const NAK: u8 = 0x15;
/// Smallest LEN (SEQ + CMD).
pub const MIN_LEN: usize = 2;
/// Largest LEN (SEQ + CMD + DATA).
pub const MAX_LEN: usize = 1024;
/// Largest DATA.
pub const MAX_DATA: usize = MAX_LEN - 2;
/// A frame in progress with no byte for this long is dropped (§2.4).
pub const INTER_BYTE_TIMEOUT: Duration = Duration::from_millis(50);

const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; catalogued as CRC-16/IBM-3740).
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// Encodes one frame; `data` longer than [`MAX_DATA`] is a caller bug and is cut.
pub fn encode(seq: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let data = &data[..data.len().min(MAX_DATA)];
    let len = (data.len() + MIN_LEN) as u16;
    let mut out = Vec::with_capacity(data.len() + 8);
    out.push(STX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(seq);
    out.push(cmd);
    out.extend_from_slice(data);
    out.push(ETX);
    let crc = crc16(&out[1..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// The acknowledgement of the frame numbered `seq`.
pub fn ack(seq: u8) -> [u8; 3] {
    [ACK, seq, !seq]
}

/// One intact frame. Its payload (it may hold an encrypted card read) is zeroed when the
/// frame is dropped and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The sender's sequence number.
    pub seq: u8,
    /// Command or event code.
    pub cmd: u8,
    /// Payload.
    pub data: Vec<u8>,
    /// The frame's CRC (with `seq`, what tells a duplicate).
    pub crc: u16,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("seq", &self.seq)
            .field("cmd", &self.cmd)
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

/// What the receiver found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// An intact frame (to be acknowledged).
    Frame(Frame),
    /// An acknowledgement of the peer for `seq`.
    Ack(u8),
    /// The peer asks for the outstanding frame again.
    Nak,
    /// A damaged or partial frame was dropped (answer NAK).
    Damaged(Damage),
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// LEN outside 2 … 1024.
    BadLength,
    /// No ETX where LEN says.
    NoEtx,
    /// CRC mismatch.
    BadCrc,
    /// The frame stopped arriving (inter-byte timeout).
    Partial,
}

/// The receiving half of the link: bytes in, [`Received`] items out.
#[derive(Debug, Default)]
pub struct Receiver {
    buf: Vec<u8>,
    last_byte: Option<Instant>,
    noise: u64,
}

impl Receiver {
    /// An empty receiver.
    pub fn new() -> Self {
        Receiver::default()
    }

    /// Bytes that arrived at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Instant) {
        if !bytes.is_empty() {
            self.buf.extend_from_slice(bytes);
            self.last_byte = Some(now);
        }
    }

    /// Bytes dropped as noise so far.
    pub fn noise(&self) -> u64 {
        self.noise
    }

    /// Whether a frame or acknowledgement is half-received.
    pub fn in_progress(&self) -> bool {
        !self.buf.is_empty()
    }

    fn stalled(&self, now: Instant) -> bool {
        self.last_byte.is_some_and(|t| now.saturating_duration_since(t) >= INTER_BYTE_TIMEOUT)
    }

    /// The next item, or `None` until more bytes come (or the inter-byte timeout passes).
    pub fn next(&mut self, now: Instant) -> Option<Received> {
        loop {
            let &first = self.buf.first()?;
            match first {
                STX => return self.frame(now),
                ACK if self.buf.len() < 3 => {
                    if !self.stalled(now) {
                        return None;
                    }
                    self.drop_noise();
                }
                ACK if self.buf[2] == !self.buf[1] => {
                    let seq = self.buf[1];
                    self.buf.drain(..3);
                    return Some(Received::Ack(seq));
                }
                NAK => {
                    self.buf.remove(0);
                    return Some(Received::Nak);
                }
                _ => self.drop_noise(),
            }
        }
    }

    fn drop_noise(&mut self) {
        self.buf.remove(0);
        self.noise += 1;
    }

    /// A frame starting at `buf[0] == STX`.
    fn frame(&mut self, now: Instant) -> Option<Received> {
        let damaged = |r: &mut Self, why| {
            r.buf.remove(0);
            Some(Received::Damaged(why))
        };
        if self.buf.len() < 3 {
            return if self.stalled(now) { damaged(self, Damage::Partial) } else { None };
        }
        let len = usize::from(u16::from_be_bytes([self.buf[1], self.buf[2]]));
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return damaged(self, Damage::BadLength);
        }
        let total = 3 + len + 3;
        if self.buf.len() < total {
            return if self.stalled(now) { damaged(self, Damage::Partial) } else { None };
        }
        if self.buf[3 + len] != ETX {
            return damaged(self, Damage::NoEtx);
        }
        let crc = crc16(&self.buf[1..4 + len]);
        if self.buf[4 + len..total] != crc.to_be_bytes() {
            return damaged(self, Damage::BadCrc);
        }
        let frame = Frame { seq: self.buf[3], cmd: self.buf[4], data: self.buf[5..3 + len].to_vec(), crc };
        self.buf.drain(..total);
        if self.buf.is_empty() {
            // The frame's bytes may hold a card read: no copy stays in the buffer.
            zeroize::Zeroize::zeroize(&mut self.buf);
        }
        Some(Received::Frame(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(r: &mut Receiver, now: Instant) -> Vec<Received> {
        std::iter::from_fn(|| r.next(now)).collect()
    }

    #[test]
    fn crc_check_value_and_byte_exact_enable() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        // docs/card-reader-protocol.md §9: ENABLE txn 0x2A, 12,50 EUR, exponent 2, 30 s.
        let data = [0, 0, 0, 0x2A, 0, 0, 0x04, 0xE2, b'E', b'U', b'R', 2, 30, 0];
        let f = encode(1, 0x10, &data);
        let body = [0x00, 0x10, 0x01, 0x10, 0, 0, 0, 0x2A, 0, 0, 0x04, 0xE2, 0x45, 0x55, 0x52, 0x02, 0x1E, 0x00, 0x03];
        assert_eq!(&f[1..f.len() - 2], &body);
        assert_eq!(f[0], STX);
        assert_eq!(&f[f.len() - 2..], &crc16(&body).to_be_bytes());
        assert_eq!(ack(1), [0x06, 0x01, 0xFE]);
    }

    #[test]
    fn frames_and_acks_come_out_of_a_stream_with_noise() {
        let now = Instant::now();
        let mut r = Receiver::new();
        let mut bytes = vec![0x41, 0x00];
        bytes.extend_from_slice(&ack(7));
        bytes.push(NAK);
        bytes.extend_from_slice(&encode(3, 0x86, &[0, 0, 0, 1, 0]));
        r.push(&bytes, now);
        let got = all(&mut r, now);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], Received::Ack(7));
        assert_eq!(got[1], Received::Nak);
        assert!(matches!(&got[2], Received::Frame(f) if f.seq == 3 && f.cmd == 0x86 && f.data == [0, 0, 0, 1, 0]));
        assert_eq!(r.noise(), 2);
        // An ACK whose complement is wrong is noise.
        r.push(&[ACK, 5, 5], now);
        assert_eq!(all(&mut r, now), vec![]);
    }

    #[test]
    fn a_damaged_frame_costs_only_its_stx_and_the_resend_is_found() {
        let now = Instant::now();
        let good = encode(9, 0x82, &[0, 0, 0, 7, STX, 0x00, 0x40, STX]);
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x55;
        let mut r = Receiver::new();
        r.push(&bad, now);
        r.push(&good, now);
        let mut got = all(&mut r, now);
        assert_eq!(got.first(), Some(&Received::Damaged(Damage::BadCrc)));
        // The STX inside the damaged frame claims 64 bytes: dropped after the inter-byte
        // timeout, and the resend behind it is found.
        got.extend(all(&mut r, now + INTER_BYTE_TIMEOUT));
        assert!(got.iter().any(|g| matches!(g, Received::Frame(f) if f.seq == 9)), "{got:?}");
    }

    #[test]
    fn bad_len_stray_stx_and_truncation_time_out_then_resync() {
        let t0 = Instant::now();
        let good = encode(2, 0x81, &[0, 0, 0, 5, 2]);
        // A bad LEN, a stray STX, then a truncated frame that stops.
        let mut r = Receiver::new();
        r.push(&[STX, 0xFF, 0xFF, STX, 0x00, 0x40], t0);
        assert_eq!(r.next(t0), Some(Received::Damaged(Damage::BadLength)));
        assert_eq!(r.next(t0), None, "waits for the rest of the claimed 0x40 bytes");
        let later = t0 + INTER_BYTE_TIMEOUT;
        assert_eq!(r.next(later), Some(Received::Damaged(Damage::Partial)));
        // What follows the dropped STX is looked at again, then the good frame.
        r.push(&good, later);
        let got = all(&mut r, later);
        assert!(matches!(got.last(), Some(Received::Frame(f)) if f.seq == 2), "{got:?}");
        // A truncated frame whose resend arrives before the timeout is still found.
        let mut r = Receiver::new();
        r.push(&good[..5], t0);
        r.push(&good, t0);
        let got = all(&mut r, t0 + INTER_BYTE_TIMEOUT);
        assert!(matches!(got.last(), Some(Received::Frame(f)) if f.seq == 2), "{got:?}");
    }

    #[test]
    fn every_prefix_and_random_bytes_are_handled_without_panic() {
        let now = Instant::now();
        let f = encode(1, 0x82, &[1; 40]);
        for cut in 0..f.len() {
            let mut r = Receiver::new();
            r.push(&f[..cut], now);
            let _ = all(&mut r, now + INTER_BYTE_TIMEOUT);
            assert!(!r.in_progress(), "a stalled prefix is dropped in the end");
        }
        let mut r = Receiver::new();
        let junk: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        r.push(&junk, now);
        let _ = all(&mut r, now + INTER_BYTE_TIMEOUT);
    }
}
