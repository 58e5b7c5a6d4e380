//! The reader's USB cable: a pseudo-terminal pair behind a stable symlink in a private
//! temporary directory. Unplugging closes the PTY master, so the host's open port fails
//! (its reads and writes see a hang-up, as with a removed CDC-ACM device), and removes the
//! link; plugging in makes a fresh pair and points the link at its slave.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Bytes written and left unread by the host this long are dropped (no one has the port
/// open: a USB device's data would not be collected either).
pub const UNREAD_DROPPED_AFTER: Duration = Duration::from_secs(2);
/// How long a write may wait for room in the PTY.
const WRITE_TIMEOUT: Duration = Duration::from_millis(20);

/// The directory and the symlink the host opens.
#[derive(Debug)]
pub struct Cable {
    dir: PathBuf,
    link: PathBuf,
}

/// One PTY pair: the master the reader talks on, and the slave it keeps open so the
/// line's raw settings survive the host closing and reopening its port.
pub struct Pty {
    master: serialport::TTYPort,
    slave: serialport::TTYPort,
    unread_since: Option<Instant>,
}

impl Cable {
    /// Creates the private directory (mode 0700) for the link.
    pub fn new() -> std::io::Result<Cable> {
        use std::os::unix::fs::DirBuilderExt;
        static N: AtomicU32 = AtomicU32::new(0);
        for _ in 0..100 {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "posagent-sim-reader-{}-{n}-{:04x}",
                std::process::id(),
                fastrand::u16(..)
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Cable { link: dir.join("card-reader"), dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free name for the card reader's directory"))
    }

    /// The path the host opens.
    pub fn path(&self) -> &Path {
        &self.link
    }

    /// A fresh PTY pair, the link pointed at its slave.
    pub fn plug(&self) -> std::io::Result<Pty> {
        let (master, slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
        let name = serialport::SerialPort::name(&slave)
            .ok_or_else(|| std::io::Error::other("the pseudo-terminal has no name"))?;
        let tmp = self.dir.join("card-reader.new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&name, &tmp)?;
        std::fs::rename(&tmp, &self.link)?;
        Ok(Pty { master, slave, unread_since: None })
    }

    /// Removes the link (the device is gone).
    pub fn unplug(&self) {
        let _ = std::fs::remove_file(&self.link);
    }

    /// Removes the link and the directory.
    pub fn remove(&self) {
        self.unplug();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

impl Pty {
    /// Reads what the host wrote, waiting at most `timeout`; 0 when nothing came.
    pub fn read(&mut self, buf: &mut [u8], timeout: Duration) -> usize {
        let _ = serialport::SerialPort::set_timeout(&mut self.master, timeout);
        match self.master.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
            Err(_) => {
                std::thread::sleep(timeout);
                0
            }
        }
    }

    /// Writes bytes to the host; what does not fit in time is lost, as on a wire.
    pub fn write(&mut self, bytes: &[u8]) {
        let _ = serialport::SerialPort::set_timeout(&mut self.master, WRITE_TIMEOUT);
        if let Err(e) = self.master.write_all(bytes) {
            tracing::debug!(error = %e, "simulated card reader: write to the host failed");
        }
    }

    /// Drops output the host has left unread for [`UNREAD_DROPPED_AFTER`].
    pub fn drop_unread(&mut self, now: Instant) {
        use serialport::SerialPort;
        let waiting = self.slave.bytes_to_read().unwrap_or(0);
        if waiting == 0 {
            self.unread_since = None;
            return;
        }
        let since = *self.unread_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= UNREAD_DROPPED_AFTER {
            let _ = self.slave.clear(serialport::ClearBuffer::Input);
            self.unread_since = None;
        }
    }
}
