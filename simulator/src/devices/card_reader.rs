//! A simulated secure card reader on a real pseudo-terminal: the daemon opens the PTY's
//! other end with its real serial driver. It speaks the protocol of
//! `docs/card-reader-protocol.md`, written here independently of the driver's encoder,
//! and presents test cards on request (`POST /sim/card`).

use serde::Deserialize;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A test card (see `docs/acquirer-api.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestCard {
    /// Approved.
    Approve,
    /// Declined (do not honour).
    Decline,
    /// Insufficient funds.
    InsufficientFunds,
    /// Expired card.
    Expired,
    /// The issuer wants a PIN.
    PinRequired,
}

impl TestCard {
    fn masked_pan(self) -> &'static str {
        match self {
            TestCard::Approve => "411111******1111",
            TestCard::Decline => "400000******0002",
            TestCard::InsufficientFunds => "400000******9995",
            TestCard::Expired => "400000******0069",
            TestCard::PinRequired => "400000******3220",
        }
    }
}

/// How the card meets the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presentation {
    /// Insert (chip).
    Insert,
    /// Tap (contactless).
    Tap,
    /// Swipe (magnetic stripe).
    Swipe,
}

impl Presentation {
    fn code(self) -> u8 {
        match self {
            Presentation::Insert => 1,
            Presentation::Tap => 2,
            Presentation::Swipe => 3,
        }
    }
}

/// What the reader is doing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReaderState {
    /// Waiting for a card for this amount and currency.
    pub waiting_for: Option<(u32, String)>,
    /// The host asked for the card inserted with its PIN.
    pub pin: bool,
    /// Plugged in.
    pub plugged: bool,
}

/// The simulated reader.
pub struct SimCardReader {
    /// The path the daemon opens (the PTY's other end).
    pub path: String,
    state: Arc<Mutex<ReaderState>>,
    cards: mpsc::SyncSender<(TestCard, Presentation)>,
    _slave: serialport::TTYPort,
}

fn frame(cmd: u8, data: &[u8]) -> Vec<u8> {
    let len = data.len() + 1;
    let mut body = vec![(len >> 8) as u8, (len & 0xFF) as u8, cmd];
    body.extend_from_slice(data);
    body.push(0x03);
    let lrc = body.iter().fold(0u8, |a, b| a ^ b);
    let mut out = Vec::with_capacity(body.len() + 2);
    out.push(0x02);
    out.extend(body);
    out.push(lrc);
    out
}

fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Takes complete frames off `buf`; answers ACK or NAK on `port`; returns (cmd, data).
fn take_frames(buf: &mut Vec<u8>, port: &mut dyn Write) -> Vec<(u8, Vec<u8>)> {
    let mut out = vec![];
    loop {
        let Some(start) = buf.iter().position(|&b| b == 0x02) else {
            buf.clear();
            return out;
        };
        buf.drain(..start);
        if buf.len() < 3 {
            return out;
        }
        let len = usize::from(u16::from_be_bytes([buf[1], buf[2]]));
        if len == 0 || len > 1024 {
            buf.remove(0);
            let _ = port.write_all(&[0x15]);
            continue;
        }
        if buf.len() < len + 5 {
            return out;
        }
        let frame: Vec<u8> = buf.drain(..len + 5).collect();
        let lrc = frame[1..len + 4].iter().fold(0u8, |a, b| a ^ b);
        if frame[len + 3] != 0x03 || frame[len + 4] != lrc {
            let _ = port.write_all(&[0x15]);
            continue;
        }
        let _ = port.write_all(&[0x06]);
        out.push((frame[3], frame[4..len + 3].to_vec()));
    }
}

/// The firmware version the simulated reader reports (INFO).
pub const FIRMWARE: &str = "SIM-RDR 2.4.1";

impl SimCardReader {
    /// Opens a PTY pair and runs the reader on one end until `cancel` fires.
    pub fn start(cancel: CancellationToken) -> std::io::Result<Arc<Self>> {
        let (mut master, slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
        let path = serialport::SerialPort::name(&slave)
            .ok_or_else(|| std::io::Error::other("the pseudo-terminal has no name"))?;
        serialport::SerialPort::set_timeout(&mut master, Duration::from_millis(50)).map_err(std::io::Error::other)?;
        let state = Arc::new(Mutex::new(ReaderState { waiting_for: None, pin: false, plugged: true }));
        let (cards, card_rx) = mpsc::sync_channel::<(TestCard, Presentation)>(4);
        let st = state.clone();
        std::thread::Builder::new().name("sim-card-reader".into()).spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 256];
            while !cancel.is_cancelled() {
                if let Ok(n) = master.read(&mut chunk) {
                    buf.extend_from_slice(&chunk[..n]);
                }
                for (cmd, data) in take_frames(&mut buf, &mut master) {
                    let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
                    match cmd {
                        0x10 if data.len() == 8 || data.len() == 9 => {
                            let amount = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                            s.waiting_for = Some((amount, String::from_utf8_lossy(&data[4..7]).into_owned()));
                            s.pin = data.get(8).is_some_and(|f| f & 0x01 != 0);
                        }
                        0x11 if s.waiting_for.take().is_some() => {
                            let _ = master.write_all(&frame(0x86, &[]));
                        }
                        0x14 => {
                            let mut d = FIRMWARE.as_bytes().to_vec();
                            d.push(0);
                            d.extend_from_slice(b"posagent-sim reader");
                            let _ = master.write_all(&frame(0x87, &d));
                        }
                        _ => {}
                    }
                }
                if let Ok((card, how)) = card_rx.try_recv() {
                    let (waiting, pin) = {
                        let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
                        (s.waiting_for.take(), std::mem::take(&mut s.pin))
                    };
                    if waiting.is_some() {
                        // Asked for the PIN: the card goes in the chip slot and the PIN is typed.
                        let how = if pin { Presentation::Insert } else { how };
                        let mut read = vec![];
                        tlv(&mut read, 0x01, card.masked_pan().as_bytes());
                        tlv(&mut read, 0x02, &[0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x01]);
                        let payload: Vec<u8> = (0..48).map(|_| fastrand::u8(..)).collect();
                        tlv(&mut read, 0x03, &payload);
                        tlv(&mut read, 0x04, &[how.code()]);
                        if pin {
                            let block: Vec<u8> = (0..8).map(|_| fastrand::u8(..)).collect();
                            tlv(&mut read, 0x05, &block);
                        }
                        for f in [frame(0x81, &[how.code()]), frame(0x82, &read), frame(0x83, &[])] {
                            let _ = master.write_all(&f);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            }
        })?;
        Ok(Arc::new(SimCardReader { path, state, cards, _slave: slave }))
    }

    /// What the reader is doing.
    pub fn state(&self) -> ReaderState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The customer presents a test card; refused when the reader is not waiting for one.
    pub fn present(&self, card: TestCard, how: Presentation) -> Result<(), &'static str> {
        if self.state().waiting_for.is_none() {
            return Err("the card reader is not waiting for a card");
        }
        self.cards.try_send((card, how)).map_err(|_| "the card reader is busy")
    }
}
