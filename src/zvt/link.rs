//! One register's connection, whatever carries it (TCP, or RS-232 framing in
//! [`super::serial`]): the APDUs it sent, decoded, on a bounded channel fed by a reader
//! task, and a writer. [`Conversation`] adds ZVT's rule that each PT message is
//! answered by the register within T3, keeping commands that arrive meanwhile (an abort)
//! for the step that waits for them.

use posagent_zvt::{Apdu, ApduReader, DecodeError, EcrAnswer, EcrMessage, PtMessage, decode_ecr};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// T3: how long either side waits for the other's answer to a message [P16 §5.2.5].
pub const T3: Duration = Duration::from_secs(5);

/// What the register sent: a message, or bytes that did not decode.
#[derive(Debug)]
pub enum Incoming {
    /// A decoded command or answer.
    Message(EcrMessage),
    /// An APDU that did not decode: answered `84 9A`.
    Malformed(DecodeError),
}

/// Why a conversation could not go on.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The register closed the connection (or it broke).
    #[error("the register closed the connection")]
    Closed,
    /// The register did not answer in time.
    #[error("the register did not answer within {0:?}")]
    Timeout(Duration),
    /// Writing to the register failed.
    #[error("cannot write to the register: {0}")]
    Io(#[from] std::io::Error),
    /// A message could not be encoded (a value out of its field's range).
    #[error("cannot encode the message for the register: {0}")]
    Encode(String),
}

/// Where the PT's bytes go.
pub enum Writer {
    /// A TCP connection's sending half.
    Tcp(OwnedWriteHalf),
    /// A serial line's link layer (framing, ACK/NAK, repeats).
    Serial(super::serial::SerialWriter),
}

impl Writer {
    async fn write(&mut self, apdu: &[u8]) -> Result<(), LinkError> {
        match self {
            Writer::Tcp(w) => {
                w.write_all(apdu).await?;
                w.flush().await?;
                Ok(())
            }
            Writer::Serial(s) => s.send(apdu).await,
        }
    }
}

/// Starts the reader of a TCP connection's receiving half: every APDU it completes, on
/// the channel; the channel closes with the connection (or on `stop`).
pub fn read_tcp(mut read: OwnedReadHalf, stop: CancellationToken) -> mpsc::Receiver<Incoming> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut reader = ApduReader::new();
        let mut buf = [0u8; 4096];
        loop {
            // Part of an APDU that does not complete within T3 is garbage the stream
            // cannot be resynchronised after: the connection is closed [P16 §5.2.5].
            let partial = reader.pending() > 0;
            let n = tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(T3), if partial => {
                    tracing::warn!("ZVT: an incomplete APDU for longer than T3; the connection is closed");
                    return;
                }
                n = read.read(&mut buf) => match n { Ok(0) | Err(_) => return, Ok(n) => n },
            };
            reader.push(&buf[..n]);
            if !forward_complete(&mut reader, &tx).await {
                return;
            }
        }
    });
    rx
}

/// Sends every APDU `reader` completed; false once nobody listens.
pub async fn forward_complete(reader: &mut ApduReader, tx: &mpsc::Sender<Incoming>) -> bool {
    loop {
        let incoming = match reader.next_apdu() {
            Ok(None) => return true,
            Ok(Some(apdu)) => decode(&apdu),
            Err(e) => Incoming::Malformed(e),
        };
        if tx.send(incoming).await.is_err() {
            return false;
        }
    }
}

/// The message in `apdu`.
pub fn decode(apdu: &Apdu) -> Incoming {
    match decode_ecr(apdu) {
        Ok(m) => Incoming::Message(m),
        Err(e) => Incoming::Malformed(e),
    }
}

/// A register's connection as the PT uses it.
pub struct Conversation {
    incoming: mpsc::Receiver<Incoming>,
    writer: Writer,
    /// Commands that arrived while an answer was awaited.
    deferred: VecDeque<Incoming>,
}

impl Conversation {
    /// The conversation over `incoming` and `writer`.
    pub fn new(incoming: mpsc::Receiver<Incoming>, writer: Writer) -> Self {
        Conversation { incoming, writer, deferred: VecDeque::new() }
    }

    /// Sends `message`.
    pub async fn send(&mut self, message: &PtMessage) -> Result<(), LinkError> {
        let apdu = message.to_apdu().map_err(|e| LinkError::Encode(e.to_string()))?;
        self.send_bytes(&apdu.encode()).await
    }

    /// Sends an APDU as journaled.
    pub async fn send_bytes(&mut self, apdu: &[u8]) -> Result<(), LinkError> {
        tracing::debug!(apdu = %hex(apdu), "to the register");
        self.writer.write(apdu).await
    }

    /// The next thing the register sends (a command kept while an answer was awaited
    /// first), waiting at most `within` (`None`: as long as it takes).
    pub async fn next(&mut self, within: Option<Duration>) -> Result<Incoming, LinkError> {
        if let Some(kept) = self.deferred.pop_front() {
            return Ok(kept);
        }
        let next = match within {
            Some(d) => tokio::time::timeout(d, self.incoming.recv()).await.map_err(|_| LinkError::Timeout(d))?,
            None => self.incoming.recv().await,
        };
        next.ok_or(LinkError::Closed)
    }

    /// Sends `apdu` and waits `within` for the register's answer to it; commands that
    /// arrive meanwhile are kept for [`Self::next`].
    pub async fn exchange(&mut self, apdu: &[u8], within: Duration) -> Result<EcrAnswer, LinkError> {
        self.send_bytes(apdu).await?;
        let until = tokio::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            let got = tokio::time::timeout(left, self.incoming.recv()).await.map_err(|_| LinkError::Timeout(within))?;
            match got.ok_or(LinkError::Closed)? {
                Incoming::Message(EcrMessage::Answer(answer)) => return Ok(answer),
                other => self.deferred.push_back(other),
            }
        }
    }

    /// Drops the answers already received and not read (a late acknowledgement), keeping
    /// commands.
    pub fn drop_answers(&mut self) {
        while let Ok(got) = self.incoming.try_recv() {
            if !matches!(got, Incoming::Message(EcrMessage::Answer(_))) {
                self.deferred.push_back(got);
            }
        }
        self.deferred.retain(|m| !matches!(m, Incoming::Message(EcrMessage::Answer(_))));
    }

    /// [`Self::exchange`] of `message`.
    pub async fn ask(&mut self, message: &PtMessage, within: Duration) -> Result<EcrAnswer, LinkError> {
        let apdu = message.to_apdu().map_err(|e| LinkError::Encode(e.to_string()))?;
        self.exchange(&apdu.encode(), within).await
    }
}

/// `bytes` as spaced hex, for the debug log (APDUs carry no card data in clear: PANs are
/// masked).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}
