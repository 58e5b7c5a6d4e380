//! The serial line on a tty or PTY path: raw mode 8N2 via termios, non-blocking reads
//! through tokio's `AsyncFd`, the sender's ACK/NAK wait (T2, two repeats) and the
//! receiver's T1 watch and ACK/NAK [P16 §3.2–§3.5], with the serial faults.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::termios::{self, ControlModes, OptionalActions};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use crate::apdu::{Apdu, Split, split_apdu};
use crate::link::{LinkError, SerialFaults, SerialTimers, WriteFaults};
use crate::serial::{self, ACK, Deframer, NAK, Step};
use crate::transcript::{Direction, EntryKind};

/// Entries for the transcript, collected during one send or receive.
pub type Events = Vec<(Direction, EntryKind, Vec<u8>)>;

/// An open serial line.
pub struct SerialLine {
    fd: AsyncFd<OwnedFd>,
    pending: VecDeque<u8>,
    deframer: Deframer,
    timers: SerialTimers,
    /// Faults still to apply (each once).
    pub faults: SerialFaults,
}

impl SerialLine {
    /// Opens `path` read-write, raw, 8 data bits, 2 stop bits, 9600 baud where it applies.
    pub fn open(path: &Path, timers: SerialTimers, faults: SerialFaults) -> io::Result<Self> {
        let fd = rustix::fs::open(path, OFlags::RDWR | OFlags::NOCTTY | OFlags::NONBLOCK, Mode::empty())?;
        let mut settings = termios::tcgetattr(&fd)?;
        settings.make_raw();
        settings.control_modes |= ControlModes::CSTOPB | ControlModes::CLOCAL | ControlModes::CREAD;
        // A PTY ignores the speed; a real tty takes 9600 [P16 §2.1].
        let _ = settings.set_speed(9600);
        termios::tcsetattr(&fd, OptionalActions::Now, &settings)?;
        // `AsyncFd::new` is deprecated for inner types whose fd may be closed behind its
        // back; here the `OwnedFd` is moved in and owned by the `AsyncFd` alone, and the
        // sound replacement (`register`) is `unsafe`, which the workspace denies.
        #[allow(deprecated)]
        let fd = AsyncFd::new(fd)?;
        Ok(Self { fd, pending: VecDeque::new(), deframer: Deframer::new(timers.crc), timers, faults })
    }

    async fn read_byte(&mut self, deadline: Instant) -> Result<Option<u8>, LinkError> {
        loop {
            if let Some(byte) = self.pending.pop_front() {
                return Ok(Some(byte));
            }
            let Ok(guard) = tokio::time::timeout_at(deadline, self.fd.readable()).await else {
                return Ok(None);
            };
            let mut guard = guard?;
            let mut chunk = [0u8; 512];
            match guard.try_io(|fd| rustix::io::read(fd.get_ref(), &mut chunk).map_err(io::Error::from)) {
                Ok(Ok(0)) => return Err(LinkError::Closed),
                Ok(Ok(n)) => self.pending.extend(&chunk[..n]),
                // A PTY whose other side closed answers EIO.
                Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => {
                    return Err(LinkError::Closed);
                }
                Ok(Err(e)) => return Err(e.into()),
                Err(_would_block) => {}
            }
        }
    }

    async fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), LinkError> {
        while !bytes.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref(), bytes).map_err(io::Error::from)) {
                Ok(Ok(n)) => bytes = &bytes[n..],
                Ok(Err(e)) => return Err(e.into()),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    async fn write_frame(&mut self, frame: &[u8], faults: &WriteFaults, first: bool) -> Result<(), LinkError> {
        if first && !faults.garbage_before.is_empty() {
            self.write_all(&faults.garbage_before).await?;
        }
        let pause = if first { self.faults.pause_in_first_frame.take() } else { None };
        if let Some(pause) = pause {
            let (head, tail) = frame.split_at(frame.len() / 2);
            self.write_all(head).await?;
            tokio::time::sleep(pause).await;
            return self.write_all(tail).await;
        }
        if faults.byte_by_byte {
            for byte in frame {
                self.write_all(std::slice::from_ref(byte)).await?;
            }
            return Ok(());
        }
        self.write_all(frame).await
    }

    /// Sends one APDU as a frame and waits for its ACK; repeats on NAK or T2.
    pub async fn send(&mut self, apdu: &[u8], faults: &WriteFaults, events: &mut Events) -> Result<(), LinkError> {
        let mut held = Vec::new();
        let mut result = Err(LinkError::Transmission);
        for attempt in 0..=self.timers.repeats {
            let mut frame = serial::frame(self.timers.crc, apdu);
            if std::mem::take(&mut self.faults.corrupt_first_crc) {
                if let Some(last) = frame.last_mut() {
                    *last ^= 0xFF;
                }
            }
            if attempt > 0 {
                events.push((Direction::EcrToPt, EntryKind::Noise, frame.clone()));
            }
            self.write_frame(&frame, faults, attempt == 0).await?;
            match self.await_acknowledgement(&mut held, events).await {
                Ok(true) => {
                    result = Ok(());
                    break;
                }
                Ok(false) => continue,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        for byte in held.into_iter().rev() {
            self.pending.push_front(byte);
        }
        result
    }

    /// `Ok(true)` on ACK, `Ok(false)` on NAK or T2; other bytes are kept for `recv`.
    async fn await_acknowledgement(&mut self, held: &mut Vec<u8>, events: &mut Events) -> Result<bool, LinkError> {
        let deadline = Instant::now() + self.timers.t2;
        loop {
            match self.read_byte(deadline).await? {
                Some(ACK) => {
                    events.push((Direction::PtToEcr, EntryKind::Ack, vec![ACK]));
                    return Ok(true);
                }
                Some(NAK) => {
                    events.push((Direction::PtToEcr, EntryKind::Nak, vec![NAK]));
                    return Ok(false);
                }
                Some(other) => held.push(other),
                None => return Ok(false),
            }
        }
    }

    async fn answer(&mut self, byte: u8, events: &mut Events) -> Result<(), LinkError> {
        let kind = if byte == ACK { EntryKind::Ack } else { EntryKind::Nak };
        events.push((Direction::EcrToPt, kind, vec![byte]));
        self.write_all(&[byte]).await
    }

    /// Receives one frame: NAKs bad CRCs, broken frames and T1 gaps; ACKs a good frame
    /// (unless the first-ACK fault drops it, and the frame with it) and returns its APDU.
    pub async fn recv(&mut self, deadline: Instant, events: &mut Events) -> Result<Apdu, LinkError> {
        loop {
            let in_frame = self.deframer.in_frame();
            let wait_until = if in_frame { deadline.min(Instant::now() + self.timers.t1) } else { deadline };
            let Some(byte) = self.read_byte(wait_until).await? else {
                if !in_frame {
                    return Err(LinkError::Timeout);
                }
                self.deframer.reset();
                self.answer(NAK, events).await?;
                continue;
            };
            match self.deframer.push(byte) {
                Step::More => {}
                Step::Outside(b) => events.push((Direction::PtToEcr, EntryKind::Noise, vec![b])),
                Step::Broken => self.answer(NAK, events).await?,
                Step::Frame { apdu, crc_ok } => {
                    let parsed = match split_apdu(&apdu) {
                        Split::Complete(parsed, used) if crc_ok && used == apdu.len() => Some(parsed),
                        _ => None,
                    };
                    let Some(parsed) = parsed else {
                        events.push((Direction::PtToEcr, EntryKind::Noise, apdu));
                        self.answer(NAK, events).await?;
                        continue;
                    };
                    if std::mem::take(&mut self.faults.drop_first_ack) {
                        events.push((Direction::PtToEcr, EntryKind::Noise, apdu));
                        continue;
                    }
                    self.answer(ACK, events).await?;
                    return Ok(parsed);
                }
            }
        }
    }
}
