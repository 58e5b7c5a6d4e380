//! TCP transport, e.g. a network receipt printer on port 9100.

use super::{Transport, TransportError};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A TCP connection to a device.
pub struct TcpTransport {
    stream: TcpStream,
    target: String,
}

impl TcpTransport {
    /// Connects to `addr` (`host:port`) within `timeout`.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Self, TransportError> {
        let open_err = |source| TransportError::Open { target: addr.to_string(), source };
        let sock = addr.to_socket_addrs().map_err(open_err)?.next().ok_or_else(|| {
            open_err(std::io::Error::new(std::io::ErrorKind::NotFound, "address resolves to nothing"))
        })?;
        let stream = TcpStream::connect_timeout(&sock, timeout).map_err(open_err)?;
        stream.set_nodelay(true).map_err(open_err)?;
        stream.set_write_timeout(Some(timeout)).map_err(open_err)?;
        Ok(TcpTransport { stream, target: format!("tcp://{addr}") })
    }
}

impl Transport for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.stream.write_all(bytes).map_err(|e| TransportError::io(&self.target, e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| TransportError::io(&self.target, e))?;
        match self.stream.read(buf) {
            Ok(0) => Err(TransportError::Closed { target: self.target.clone() }),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Err(TransportError::Timeout { target: self.target.clone(), timeout })
            }
            Err(e) => Err(TransportError::io(&self.target, e)),
        }
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.stream.flush().map_err(|e| TransportError::io(&self.target, e))
    }

    fn describe(&self) -> String {
        self.target.clone()
    }
}
