//! The line to the PT: TCP (APDUs as they are, split at will [P16 §4]) or serial over a
//! tty/PTY path (framing of [`crate::serial`], ACK/NAK, T1/T2, two repeats [P16 §3]),
//! with the write faults a test asks for.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::apdu::{Apdu, Split, split_apdu};
use crate::serial::CrcVariant;
use crate::serial_line::SerialLine;
use crate::transcript::{Direction, Entry, EntryKind, Transcript};

/// Why the line failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Nothing (whole) arrived before the deadline.
    #[error("no complete APDU from the PT before the deadline")]
    Timeout,
    /// The PT closed the connection (or the line hung up).
    #[error("the PT closed the connection")]
    Closed,
    /// A serial block was not acknowledged after two repeats [P16 §3.5].
    #[error("serial transmission error: the PT did not ACK the block after 2 repeats")]
    Transmission,
    /// An I/O error on the socket or tty.
    #[error("I/O error on the ZVT line: {0}")]
    Io(#[from] io::Error),
}

/// Faults applied to one write of a command or an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteFaults {
    /// Write the APDU one byte per write (TCP: one segment each, Nagle off).
    pub byte_by_byte: bool,
    /// Bytes written before the APDU (TCP: in the stream; serial: before `DLE STX`).
    pub garbage_before: Vec<u8>,
}

/// Serial-only faults, each applied once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SerialFaults {
    /// Flip the CRC of the first frame the register sends.
    pub corrupt_first_crc: bool,
    /// Do not ACK the first frame the PT sends (and drop it: the PT repeats it after T2).
    pub drop_first_ack: bool,
    /// Pause this long (> T1 = 200 ms to provoke a NAK) in the middle of the first frame.
    pub pause_in_first_frame: Option<Duration>,
}

/// Serial timers and CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialTimers {
    /// T1: most time between two bytes of a frame (200 ms).
    pub t1: Duration,
    /// T2: most time for the ACK/NAK (5 s).
    pub t2: Duration,
    /// Repeats after the first try (2).
    pub repeats: u8,
    /// The CRC variant.
    pub crc: CrcVariant,
}

impl Default for SerialTimers {
    fn default() -> Self {
        Self { t1: Duration::from_millis(200), t2: Duration::from_secs(5), repeats: 2, crc: CrcVariant::Kermit }
    }
}

enum Line {
    Tcp { stream: TcpStream, buffer: Vec<u8> },
    Serial(Box<SerialLine>),
    Closed,
}

/// A line to the PT and the record of everything on it.
pub struct Link {
    line: Line,
    opened: Instant,
    /// The raw record; the register moves it into each outcome.
    pub transcript: Transcript,
}

impl Link {
    /// Connects over TCP (the ECR opens the connection [P16 §2.2]).
    pub async fn tcp(addr: impl tokio::net::ToSocketAddrs) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self::with_line(Line::Tcp { stream, buffer: Vec::new() }))
    }

    /// Opens a tty or PTY path as the serial line (raw mode, 8N2).
    pub fn serial(path: &std::path::Path, timers: SerialTimers, faults: SerialFaults) -> io::Result<Self> {
        Ok(Self::with_line(Line::Serial(Box::new(SerialLine::open(path, timers, faults)?))))
    }

    fn with_line(line: Line) -> Self {
        Self { line, opened: Instant::now(), transcript: Transcript::default() }
    }

    /// Sets the serial faults for the next exchange (ignored on TCP).
    pub fn set_serial_faults(&mut self, faults: SerialFaults) {
        if let Line::Serial(serial) = &mut self.line {
            serial.faults = faults;
        }
    }

    pub(crate) fn record(&mut self, direction: Direction, kind: EntryKind, bytes: Vec<u8>) {
        let at = self.opened.elapsed();
        self.transcript.entries.push(Entry { at, direction, kind, bytes });
    }

    /// Whether the register closed the line.
    pub fn is_closed(&self) -> bool {
        matches!(self.line, Line::Closed)
    }

    /// Closes the line (TCP: the socket; the ECR closes connections [P16 §2.2]).
    pub async fn close(&mut self) {
        if let Line::Tcp { stream, .. } = &mut self.line {
            let _ = stream.shutdown().await;
        }
        self.line = Line::Closed;
    }

    /// Sends one APDU with `faults`.
    pub async fn send(&mut self, apdu: &Apdu, faults: &WriteFaults) -> Result<(), LinkError> {
        let bytes = apdu.encode();
        if !faults.garbage_before.is_empty() {
            self.record(Direction::EcrToPt, EntryKind::Noise, faults.garbage_before.clone());
        }
        self.record(Direction::EcrToPt, EntryKind::Apdu, bytes.clone());
        let mut events = Vec::new();
        let result = match &mut self.line {
            Line::Tcp { stream, .. } => write_tcp(stream, &bytes, faults).await,
            Line::Serial(serial) => serial.send(&bytes, faults, &mut events).await,
            Line::Closed => Err(LinkError::Closed),
        };
        self.record_events(events);
        result
    }

    /// Receives one APDU before `deadline`.
    pub async fn recv(&mut self, deadline: Instant) -> Result<Apdu, LinkError> {
        let mut events = Vec::new();
        let result = match &mut self.line {
            Line::Tcp { stream, buffer } => read_tcp(stream, buffer, deadline).await,
            Line::Serial(serial) => serial.recv(deadline, &mut events).await,
            Line::Closed => Err(LinkError::Closed),
        };
        self.record_events(events);
        if let Ok(apdu) = &result {
            self.record(Direction::PtToEcr, EntryKind::Apdu, apdu.encode());
        }
        result
    }

    fn record_events(&mut self, events: Vec<(Direction, EntryKind, Vec<u8>)>) {
        for (direction, kind, bytes) in events {
            self.record(direction, kind, bytes);
        }
    }
}

async fn write_tcp(stream: &mut TcpStream, bytes: &[u8], faults: &WriteFaults) -> Result<(), LinkError> {
    if !faults.garbage_before.is_empty() {
        stream.write_all(&faults.garbage_before).await?;
    }
    if faults.byte_by_byte {
        for byte in bytes {
            stream.write_all(std::slice::from_ref(byte)).await?;
            stream.flush().await?;
            tokio::task::yield_now().await;
        }
    } else {
        stream.write_all(bytes).await?;
    }
    stream.flush().await?;
    Ok(())
}

async fn read_tcp(stream: &mut TcpStream, buffer: &mut Vec<u8>, deadline: Instant) -> Result<Apdu, LinkError> {
    loop {
        if let Split::Complete(apdu, used) = split_apdu(buffer) {
            buffer.drain(..used);
            return Ok(apdu);
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await;
        match read {
            Err(_) => return Err(LinkError::Timeout),
            Ok(Ok(0)) => return Err(LinkError::Closed),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => return Err(LinkError::Closed),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}
