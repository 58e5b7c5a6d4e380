//! Device-node or file transport, e.g. `/dev/usb/lp0` for a USB printer class device.

use super::{Transport, TransportError};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::Duration;

/// A device node opened for writing (reads are not supported by most nodes).
pub struct FileTransport {
    file: File,
    target: String,
}

impl FileTransport {
    /// Opens `path` for appending writes.
    pub fn open(path: &str) -> Result<Self, TransportError> {
        let file = OpenOptions::new()
            .append(true)
            .create(false)
            .open(path)
            .map_err(|source| TransportError::Open { target: path.to_string(), source })?;
        Ok(FileTransport { file, target: format!("file://{path}") })
    }
}

impl Transport for FileTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.file.write_all(bytes).map_err(|e| TransportError::io(&self.target, e))
    }

    fn read(&mut self, _buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        // A plain device node gives no status back; report it as silence.
        Err(TransportError::Timeout { target: self.target.clone(), timeout })
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.file.flush().map_err(|e| TransportError::io(&self.target, e))
    }

    fn describe(&self) -> String {
        self.target.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reach_the_file_and_missing_node_is_an_open_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lp0");
        std::fs::write(&path, b"")?;
        let mut t = FileTransport::open(path.to_str().ok_or("path")?)?;
        t.write_all(b"\x1b@hi")?;
        t.flush()?;
        assert_eq!(std::fs::read(&path)?, b"\x1b@hi");
        let missing = dir.path().join("nope");
        assert!(matches!(FileTransport::open(missing.to_str().ok_or("path")?), Err(TransportError::Open { .. })));
        Ok(())
    }
}
