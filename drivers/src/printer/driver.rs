//! The receipt printer driver: sends encoded documents and reads real-time status.

use super::escpos::{Document, DrawerPin, PrinterProfile, encode_document, encode_drawer_kick};
use super::status::{DLE_EOT, PrinterStatus, parse_status};
use crate::ErrorKind;
use crate::transport::{Transport, TransportError};
use std::time::Duration;

/// How long a printer may take to answer a status request.
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

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
