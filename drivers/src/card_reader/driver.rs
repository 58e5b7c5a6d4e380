//! The card reader driver: frames sent with ACK/NAK and bounded retransmission; events
//! received, acknowledged and parsed.

use super::frame::{ACK, Decoded, NAK, decode, encode};
use super::messages::{ENABLE_PIN, Event, EventError, cmd, enable, enable_with, parse_event};
use crate::ErrorKind;
use crate::transport::{Transport, TransportError};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long the reader may take to acknowledge a frame.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(500);
/// Resends of an unacknowledged frame.
pub const MAX_RETRANSMIT: usize = 3;

/// A card reader failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardReaderError {
    /// The link failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The reader did not acknowledge a frame.
    #[error("the card reader did not acknowledge a command after {0} attempts; check the cable and the reader's power")]
    NoAck(usize),
    /// The reader sent an event that does not parse.
    #[error(transparent)]
    Event(#[from] EventError),
}

impl CardReaderError {
    /// What the daemon should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CardReaderError::Transport(e) => e.kind(),
            CardReaderError::NoAck(_) => ErrorKind::Timeout,
            CardReaderError::Event(_) => ErrorKind::Protocol,
        }
    }
}

/// A secure card reader on some transport.
pub struct CardReader<T: Transport> {
    transport: T,
    buf: Vec<u8>,
    events: VecDeque<(u8, Vec<u8>)>,
}

impl<T: Transport> CardReader<T> {
    /// A reader on `transport`.
    pub fn new(transport: T) -> Self {
        CardReader { transport, buf: Vec::new(), events: VecDeque::new() }
    }

    fn fill(&mut self, wait: Duration) -> Result<bool, TransportError> {
        let mut chunk = [0u8; 512];
        match self.transport.read(&mut chunk, wait) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(TransportError::Timeout { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes what is decodable from the buffer: frames are acknowledged and queued.
    /// Returns the acknowledgements seen (`true` = ACK, `false` = NAK).
    fn drain(&mut self) -> Result<Vec<bool>, TransportError> {
        let mut acks = vec![];
        loop {
            match decode(&self.buf) {
                Decoded::Incomplete => return Ok(acks),
                Decoded::Ack => {
                    self.buf.remove(0);
                    acks.push(true);
                }
                Decoded::Nak => {
                    self.buf.remove(0);
                    acks.push(false);
                }
                Decoded::Frame { cmd, data, used } => {
                    self.buf.drain(..used);
                    self.transport.write_all(&[ACK])?;
                    self.events.push_back((cmd, data));
                }
                Decoded::Invalid { skip, damaged } => {
                    self.buf.drain(..skip.min(self.buf.len()));
                    if damaged {
                        self.transport.write_all(&[NAK])?;
                    }
                }
            }
        }
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), CardReaderError> {
        for _ in 0..=MAX_RETRANSMIT {
            self.transport.write_all(frame)?;
            self.transport.flush()?;
            let deadline = Instant::now() + ACK_TIMEOUT;
            loop {
                let acks = self.drain()?;
                if let Some(&ack) = acks.first() {
                    if ack {
                        return Ok(());
                    }
                    break; // NAK: resend
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !self.fill(left)? && Instant::now() >= deadline {
                    break;
                }
            }
        }
        Err(CardReaderError::NoAck(MAX_RETRANSMIT + 1))
    }

    /// Waits for a card for `amount` minor units of `currency`, up to `timeout_secs`.
    pub fn enable(&mut self, amount: u32, currency: &str, timeout_secs: u8) -> Result<(), CardReaderError> {
        self.send(&enable(amount, currency, timeout_secs))
    }

    /// As [`Self::enable`], asking the customer to insert the card and enter the PIN
    /// (after a contactless read the issuer wants a PIN for).
    pub fn enable_with_pin(&mut self, amount: u32, currency: &str, timeout_secs: u8) -> Result<(), CardReaderError> {
        self.send(&enable_with(amount, currency, timeout_secs, ENABLE_PIN))
    }

    /// Stops waiting for a card.
    pub fn cancel(&mut self) -> Result<(), CardReaderError> {
        self.send(&encode(cmd::CANCEL, &[]))
    }

    /// Beeps `times` times.
    pub fn beep(&mut self, times: u8) -> Result<(), CardReaderError> {
        self.send(&encode(cmd::BEEP, &[times]))
    }

    /// Asks for the firmware version and model; `None` if the reader does not answer
    /// INFO within `wait` (older firmware). Other events that arrive meanwhile are kept.
    pub fn info(&mut self, wait: Duration) -> Result<Option<(String, String)>, CardReaderError> {
        self.send(&encode(cmd::INFO, &[]))?;
        let deadline = Instant::now() + wait;
        loop {
            self.drain()?;
            let at = self.events.iter().position(|(code, _)| *code == super::messages::evt::INFO);
            if let Some((code, data)) = at.and_then(|i| self.events.remove(i)) {
                return match parse_event(code, &data)? {
                    Event::Info { firmware, model } => Ok(Some((firmware, model))),
                    _ => Ok(None),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.fill(left)?;
        }
    }

    /// The next event, waiting at most `wait`.
    pub fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, CardReaderError> {
        let deadline = Instant::now() + wait;
        loop {
            self.drain()?;
            if let Some((code, data)) = self.events.pop_front() {
                return Ok(Some(parse_event(code, &data)?));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.fill(left)?;
        }
    }
}
