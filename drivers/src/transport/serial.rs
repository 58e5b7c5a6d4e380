//! Serial transport (RS-232 / USB-serial adapters) through `serialport`, without libudev.

use super::{Transport, TransportError};
use std::io::{Read, Write};
use std::time::Duration;

/// Where Linux lists its serial ports (what `serialport` scans).
const SYS_TTY: &str = "/sys/class/tty";

/// An open serial port.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    target: String,
}

impl SerialTransport {
    /// Opens `path` at `baud_rate`, 8N1, no flow control.
    pub fn open(path: &str, baud_rate: u32) -> Result<Self, TransportError> {
        let port = serialport::new(path, baud_rate)
            .timeout(Duration::from_millis(500))
            .open()
            .map_err(|e| TransportError::Open { target: path.to_string(), source: e.into() })?;
        Ok(SerialTransport { port, target: format!("serial://{path}@{baud_rate}") })
    }

    /// Serial ports the system knows of (without libudev: from /sys/class/tty).
    pub fn list_ports() -> Vec<String> {
        // serialport scans /sys/class/tty and panics where it is missing (a container
        // without sysfs): no such folder, no serial port to list.
        if !std::path::Path::new(SYS_TTY).is_dir() {
            return vec![];
        }
        serialport::available_ports().map(|v| v.into_iter().map(|p| p.port_name).collect()).unwrap_or_default()
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.port.write_all(bytes).map_err(|e| TransportError::io(&self.target, e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(|e| TransportError::io(&self.target, e.into()))?;
        match self.port.read(buf) {
            Ok(0) => Err(TransportError::Closed { target: self.target.clone() }),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                Err(TransportError::Timeout { target: self.target.clone(), timeout })
            }
            Err(e) => Err(TransportError::io(&self.target, e)),
        }
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.port.flush().map_err(|e| TransportError::io(&self.target, e))
    }

    fn describe(&self) -> String {
        self.target.clone()
    }
}
