//! The RS-232 side [P16 §2.1, §3]: a register on a serial line (8 data bits, no parity,
//! 2 stop bits). One thread owns the port (blocking I/O off the runtime): it reads all
//! the time, answers every block `06` (ACK) or `15` (NAK, bad CRC) before anything acts
//! on it, drops a block broken by a gap over T1 (200 ms) with a NAK, and sends the PT's blocks
//! framed (`posagent_zvt::serial`), each repeated at most twice after a NAK or T2 (5 s)
//! of silence. The decoded APDUs reach the session on the same kind of channel a TCP
//! connection's do.

use super::PosTerminal;
use super::link::{Conversation, Incoming, LinkError, Writer, decode};
use posagent_zvt::serial::{ACK, FrameEvent, FrameReader, NAK, frame};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// T1: the longest gap between two bytes of a block.
const T1: Duration = Duration::from_millis(200);
/// T2: how long the sender waits for the ACK/NAK of a block.
const T2: Duration = Duration::from_secs(5);
/// A block is sent at most this often (once and two repeats).
const SENDS: usize = 3;
/// How long one read waits, so the thread sees sends and the stop.
const POLL: Duration = Duration::from_millis(20);
/// A port that could not be opened is tried again after this long.
const REOPEN: Duration = Duration::from_secs(5);

/// A block to send and who waits for its acknowledgement.
type Send = (Vec<u8>, oneshot::Sender<Result<(), LinkError>>);

/// The session's side of the serial line's sending half.
pub struct SerialWriter {
    blocks: mpsc::Sender<Send>,
}

impl SerialWriter {
    /// Sends `apdu` as one block and waits until the register acknowledged it.
    pub async fn send(&mut self, apdu: &[u8]) -> Result<(), LinkError> {
        let (done, acked) = oneshot::channel();
        self.blocks.send((apdu.to_vec(), done)).await.map_err(|_| LinkError::Closed)?;
        acked.await.map_err(|_| LinkError::Closed)?
    }
}

fn open(path: &Path, baud: u32) -> std::io::Result<Box<dyn serialport::SerialPort>> {
    serialport::new(path.to_string_lossy(), baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::Two)
        .flow_control(serialport::FlowControl::None)
        .timeout(POLL)
        .open()
        .map_err(std::io::Error::other)
}

/// Opens the line (an error if it cannot be, so a wrong `zvt.serial` stops the start) and
/// serves it until the daemon stops; a line that fails later is reopened.
pub fn start(pt: &Arc<PosTerminal>, path: &Path) -> Result<(), super::ZvtError> {
    let baud = pt.deps.config.serial_baud;
    let first = open(path, baud).map_err(|source| super::ZvtError::Serial { path: path.to_path_buf(), source })?;
    tracing::info!(path = %path.display(), baud, "ZVT: serving a register on the serial line");
    let (pt, path) = (pt.clone(), path.to_path_buf());
    pt.deps.tasks.clone().spawn(async move { serve_line(pt, path, baud, Some(first)).await });
    Ok(())
}

async fn serve_line(pt: Arc<PosTerminal>, path: PathBuf, baud: u32, mut port: Option<Box<dyn serialport::SerialPort>>) {
    let stop = pt.deps.shutdown.clone();
    while !stop.is_cancelled() {
        let Some(open_port) = port.take() else {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(REOPEN) => {}
            }
            match open(&path, baud) {
                Ok(p) => port = Some(p),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "ZVT: the serial line cannot be opened"),
            }
            continue;
        };
        let (incoming_tx, incoming) = mpsc::channel(16);
        let (blocks, blocks_rx) = mpsc::channel(4);
        let line_stop = stop.child_token();
        let thread_stop = line_stop.clone();
        let thread = std::thread::Builder::new()
            .name("zvt-serial".into())
            .spawn(move || Line::new(open_port, incoming_tx, blocks_rx, thread_stop).run());
        if let Err(e) = thread {
            tracing::error!(error = %e, "ZVT: cannot start the serial line's thread");
            return;
        }
        let conv = Conversation::new(incoming, Writer::Serial(SerialWriter { blocks }));
        super::session::serve(&pt, conv).await;
        line_stop.cancel();
    }
}

/// The thread's state: the port, the reader of blocks, the channels.
struct Line {
    port: Box<dyn serialport::SerialPort>,
    reader: FrameReader,
    last_byte: Instant,
    incoming: mpsc::Sender<Incoming>,
    blocks: mpsc::Receiver<Send>,
    stop: CancellationToken,
}

impl Line {
    fn new(
        port: Box<dyn serialport::SerialPort>,
        incoming: mpsc::Sender<Incoming>,
        blocks: mpsc::Receiver<Send>,
        stop: CancellationToken,
    ) -> Self {
        Line { port, reader: FrameReader::new(), last_byte: Instant::now(), incoming, blocks, stop }
    }

    fn run(mut self) {
        while !self.stop.is_cancelled() {
            match self.blocks.try_recv() {
                Ok((apdu, done)) => {
                    let _ = done.send(self.send_block(&apdu));
                    continue;
                }
                // The session ended: so does the line (it is reopened for the next).
                Err(mpsc::error::TryRecvError::Disconnected) => return,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            match self.read_events() {
                Ok(events) => {
                    if !self.take(events) {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ZVT: the serial line failed; it is reopened");
                    return;
                }
            }
        }
    }

    /// What one read brought, with a block broken off by a gap over T1 dropped.
    fn read_events(&mut self) -> std::io::Result<Vec<FrameEvent>> {
        let mut buf = [0u8; 512];
        match self.port.read(&mut buf) {
            Ok(0) => Ok(vec![]),
            Ok(n) => {
                self.gap_over_t1();
                self.last_byte = Instant::now();
                Ok(self.reader.push(&buf[..n]))
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                self.gap_over_t1();
                Ok(vec![])
            }
            Err(e) => Err(e),
        }
    }

    /// A block broken off by a gap over T1 is dropped and answered NAK [P16 §3.4.1]: the
    /// sender repeats it.
    fn gap_over_t1(&mut self) {
        if self.reader.in_block() && self.last_byte.elapsed() > T1 {
            tracing::info!("ZVT serial: a block broke off (gap over T1); answered NAK");
            let _ = self.reader.reset();
            let _ = self.port.write_all(&[NAK]);
        }
    }

    /// Acknowledges and forwards received blocks; false once the session is gone.
    fn take(&mut self, events: Vec<FrameEvent>) -> bool {
        for event in events {
            match event {
                FrameEvent::Frame(apdu) => {
                    if self.port.write_all(&[ACK]).and_then(|()| self.port.flush()).is_err() {
                        return false;
                    }
                    let Ok(apdu) = posagent_zvt::Apdu::decode(&apdu) else {
                        if self.incoming.blocking_send(decode_error(&apdu)).is_err() {
                            return false;
                        }
                        continue;
                    };
                    if self.incoming.blocking_send(decode(&apdu)).is_err() {
                        return false;
                    }
                }
                FrameEvent::BadCrc => {
                    tracing::info!("ZVT serial: a block with a bad CRC; answered NAK");
                    let _ = self.port.write_all(&[NAK]);
                }
                FrameEvent::Ack | FrameEvent::Nak | FrameEvent::Garbage(_) => {}
            }
        }
        true
    }

    /// Sends one block, waiting T2 for its ACK; repeated after a NAK or silence.
    fn send_block(&mut self, apdu: &[u8]) -> Result<(), LinkError> {
        let block = frame(apdu);
        for _ in 0..SENDS {
            self.port.write_all(&block).and_then(|()| self.port.flush())?;
            let until = Instant::now() + T2;
            while Instant::now() < until && !self.stop.is_cancelled() {
                let events = self.read_events()?;
                let mut answer = None;
                let mut others = vec![];
                for e in events {
                    match e {
                        FrameEvent::Ack if answer.is_none() => answer = Some(true),
                        FrameEvent::Nak if answer.is_none() => answer = Some(false),
                        other => others.push(other),
                    }
                }
                if !self.take(others) {
                    return Err(LinkError::Closed);
                }
                match answer {
                    Some(true) => return Ok(()),
                    Some(false) => break,
                    None => {}
                }
            }
        }
        Err(LinkError::Timeout(T2))
    }
}

/// A block whose APDU header does not hold together.
fn decode_error(bytes: &[u8]) -> Incoming {
    match posagent_zvt::Apdu::decode(bytes) {
        Err(e) => Incoming::Malformed(e),
        Ok(apdu) => decode(&apdu),
    }
}
