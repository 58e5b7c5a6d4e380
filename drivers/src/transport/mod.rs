//! Blocking byte transports: serial ports, TCP sockets (port 9100 printers), USB bulk
//! endpoints, device nodes; and a scripted one in memory for byte-exact tests.

mod file;
mod scripted;
mod serial;
mod tcp;
mod usb;

pub use file::FileTransport;
pub use scripted::{Script, ScriptMismatch, ScriptedTransport};
pub use serial::SerialTransport;
pub use tcp::TcpTransport;
pub use usb::{BulkEndpoints, EndpointInfo, InterfaceInfo, UsbTransport, choose_endpoints, describe_usb};

use crate::ErrorKind;
use std::time::Duration;

/// A failed transport operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The device could not be opened.
    #[error("cannot open {target}: {source}; check that the device is connected and the service user may access it")]
    Open {
        /// Port, address or path.
        target: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing failed.
    #[error("I/O error on {target}: {source}; the device may have been unplugged")]
    Io {
        /// Port, address or path.
        target: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{target} did not answer within {timeout:?}; check power and cabling")]
    Timeout {
        /// Port, address or path.
        target: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The other end closed the connection.
    #[error("{target} closed the connection")]
    Closed {
        /// Port, address or path.
        target: String,
    },
}

impl TransportError {
    /// What the daemon should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransportError::Timeout { .. } => ErrorKind::Timeout,
            _ => ErrorKind::Disconnected,
        }
    }

    pub(crate) fn io(target: &str, source: std::io::Error) -> Self {
        match source.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                TransportError::Timeout { target: target.to_string(), timeout: Duration::ZERO }
            }
            _ => TransportError::Io { target: target.to_string(), source },
        }
    }
}

/// A blocking, bidirectional byte stream to one device.
pub trait Transport: Send {
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    /// Reads at least one byte into `buf`, waiting at most `timeout`.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
    /// Flushes buffered output to the device.
    fn flush(&mut self) -> Result<(), TransportError>;
    /// Human-readable name of the endpoint, for errors and `/health`.
    fn describe(&self) -> String;

    /// Reads exactly `buf.len()` bytes, each read waiting at most `timeout`.
    fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), TransportError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.read(&mut buf[filled..], timeout)?;
            if n == 0 {
                return Err(TransportError::Closed { target: self.describe() });
            }
            filled += n;
        }
        Ok(())
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        (**self).write_all(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        (**self).read(buf, timeout)
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        (**self).flush()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}
