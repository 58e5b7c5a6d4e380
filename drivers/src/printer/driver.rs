//! The receipt printer driver: sends encoded documents and reads real-time status.

use super::escpos::{Document, DrawerPin, PrinterProfile, encode_document, encode_drawer_kick};
use super::status::{DLE_EOT, PrinterStatus, parse_status};
use crate::ErrorKind;
use crate::transport::{Transport, TransportError};
use std::time::Duration;

/// How long a printer may take to answer a status request.
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a printer may take to answer the firmware request.
const FIRMWARE_TIMEOUT: Duration = Duration::from_secs(1);
/// Silence that ends draining late bytes.
const DRAIN_QUIET: Duration = Duration::from_millis(500);
/// Silence that ends draining stray bytes before a status query.
const STRAY_QUIET: Duration = Duration::from_millis(20);

/// A printer failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrinterError {
    /// The connection failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The printer reports a condition that stops printing.
    #[error("printer not ready: {}; fix it and the receipt prints", describe(.0))]
    NotReady(PrinterStatus),
    /// The printer answered something that is not a status byte.
    #[error("printer sent an invalid status reply {0:02x?}; check the printer model in the device profile")]
    BadStatus([u8; 4]),
}

fn describe(s: &PrinterStatus) -> &'static str {
    if s.paper_out {
        "out of paper"
    } else if s.cover_open {
        "cover open"
    } else if s.error {
        "printer error"
    } else {
        "offline"
    }
}

impl PrinterError {
    /// What the daemon should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PrinterError::Transport(e) => e.kind(),
            PrinterError::NotReady(s) if s.paper_out => ErrorKind::PaperOut,
            PrinterError::NotReady(s) if s.cover_open => ErrorKind::CoverOpen,
            PrinterError::NotReady(_) => ErrorKind::DeviceFault,
            PrinterError::BadStatus(_) => ErrorKind::Protocol,
        }
    }
}

/// An ESC/POS printer on some transport.
pub struct ReceiptPrinter<T: Transport> {
    transport: T,
    profile: PrinterProfile,
    reads_status: bool,
}

impl<T: Transport> ReceiptPrinter<T> {
    /// A printer with `profile`; `reads_status` is false for write-only links (device nodes).
    pub fn new(transport: T, profile: PrinterProfile, reads_status: bool) -> Self {
        ReceiptPrinter { transport, profile, reads_status }
    }

    /// The profile in use.
    pub fn profile(&self) -> &PrinterProfile {
        &self.profile
    }

    /// Reads the real-time status (`DLE EOT 1..4`).
    pub fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        // A printer answers `DLE EOT` wherever the bytes stand, also inside raster data
        // (a QR code or logo image): such a stray reply must not be read as the answer.
        self.drain_input(STRAY_QUIET)?;
        let mut replies = [0u8; 4];
        for (i, n) in (1u8..=4).enumerate() {
            self.transport.write_all(&[DLE_EOT[0], DLE_EOT[1], n])?;
            self.transport.flush()?;
            let mut b = [0u8; 1];
            self.transport.read_exact(&mut b, STATUS_TIMEOUT)?;
            replies[i] = b[0];
        }
        parse_status(replies).ok_or(PrinterError::BadStatus(replies))
    }

    /// Reads the firmware version (`GS I 65`; the printer answers `_`, the version,
    /// NUL). `None` for a write-only link or a printer that does not answer. Whatever
    /// arrives late is drained, so it cannot be taken for a status reply afterwards.
    pub fn firmware_version(&mut self) -> Result<Option<String>, PrinterError> {
        if !self.reads_status {
            return Ok(None);
        }
        self.transport.write_all(&[0x1D, b'I', 65])?;
        self.transport.flush()?;
        let mut reply = Vec::new();
        let mut b = [0u8; 1];
        let complete = loop {
            match self.transport.read_exact(&mut b, FIRMWARE_TIMEOUT) {
                Ok(()) => {}
                Err(TransportError::Timeout { .. }) => break false,
                Err(e) => return Err(e.into()),
            }
            if b[0] == 0 {
                break true;
            }
            reply.push(b[0]);
            if reply.len() > 80 {
                break false;
            }
        };
        if !complete {
            self.drain_input(DRAIN_QUIET)?;
            return Ok(None);
        }
        match reply.split_first() {
            Some((b'_', version)) if version.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => {
                Ok(Some(String::from_utf8_lossy(version).trim().to_string()))
            }
            _ => Ok(None),
        }
    }

    /// Reads and drops bytes until the printer has been silent for `quiet` (at most
    /// 4 KiB: a printer that never stops talking then fails its status check).
    fn drain_input(&mut self, quiet: Duration) -> Result<(), PrinterError> {
        let mut buf = [0u8; 64];
        for _ in 0..64 {
            match self.transport.read(&mut buf, quiet) {
                Ok(0) | Err(TransportError::Timeout { .. }) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Opens the cash drawer wired to the printer's drawer-kick connector (a 50 ms pulse).
    pub fn open_drawer(&mut self, pin: DrawerPin) -> Result<(), PrinterError> {
        self.transport.write_all(&encode_drawer_kick(pin, 50, 500))?;
        self.transport.flush()?;
        Ok(())
    }

    /// Checks the printer is ready, then prints `doc` whole.
    pub fn print(&mut self, doc: &Document) -> Result<(), PrinterError> {
        if self.reads_status {
            let status = self.status()?;
            if status.offline || status.paper_out || status.cover_open || status.error {
                return Err(PrinterError::NotReady(status));
            }
        }
        let bytes = encode_document(doc, &self.profile);
        self.transport.write_all(&bytes)?;
        self.transport.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ScriptedTransport;

    /// A printer answering each `DLE EOT n` with its byte of `replies`, after `script`.
    fn answering_status(script: ScriptedTransport, replies: [u8; 4]) -> ScriptedTransport {
        (1u8..=4).zip(replies).fold(script, |s, (n, r)| s.expect_write(&[DLE_EOT[0], DLE_EOT[1], n]).reply(&[r]))
    }

    #[test]
    fn a_status_reply_to_bytes_inside_image_data_is_not_taken_for_the_answer() -> Result<(), Box<dyn std::error::Error>>
    {
        // Raster data that happens to hold `10 04 04`: the printer, out of paper, answers
        // it (n = 1..4: offline, paper end, no error, paper end).
        let raster = [0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x03, 0x00, 0x10, 0x04, 0x04];
        let wire = ScriptedTransport::new("printer").expect_write(&raster).reply(&[0x72]);
        let wire = answering_status(wire, [0x1A, 0x32, 0x12, 0x72]);
        let script = wire.script();
        let mut t = wire;
        t.write_all(&raster)?;
        t.flush()?;
        let mut p = ReceiptPrinter::new(t, PrinterProfile::default(), true);
        let s = p.status()?;
        assert!(s.paper_out && s.offline && !s.error, "{s:?}");
        script.check()?;
        Ok(())
    }

    #[test]
    fn firmware_version_is_read_from_gs_i_65() -> Result<(), Box<dyn std::error::Error>> {
        const GS_I_65: [u8; 3] = [0x1D, 0x49, 0x41];
        let wire = ScriptedTransport::new("printer").expect_write(&GS_I_65).reply(b"_TM-T88VI 30.02 ESC/POS\0");
        let script = wire.script();
        let mut p = ReceiptPrinter::new(wire, PrinterProfile::default(), true);
        assert_eq!(p.firmware_version()?, Some("TM-T88VI 30.02 ESC/POS".to_string()));
        script.check()?;
        // A printer that answers late: its bytes are drained, not taken for status replies.
        let wire = ScriptedTransport::new("printer").expect_write(&GS_I_65).timeout().reply(b"_LATE 1.0\0");
        let wire = answering_status(wire, [0x12; 4]);
        let script = wire.script();
        let mut p = ReceiptPrinter::new(wire, PrinterProfile::default(), true);
        assert_eq!(p.firmware_version()?, None);
        assert_eq!(p.status()?, super::super::status::PrinterStatus::default());
        script.check()?;
        // A reply without the `_` header is not a version.
        let wire = ScriptedTransport::new("printer").expect_write(&GS_I_65).reply(b"30.02\0");
        let script = wire.script();
        let mut p = ReceiptPrinter::new(wire, PrinterProfile::default(), true);
        assert_eq!(p.firmware_version()?, None);
        script.check()?;
        // A write-only link is not asked.
        let wire = ScriptedTransport::new("printer");
        let script = wire.script();
        let mut p = ReceiptPrinter::new(wire, PrinterProfile::default(), false);
        assert_eq!(p.firmware_version()?, None);
        script.check()?;
        Ok(())
    }
}
