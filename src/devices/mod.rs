//! The daemon's devices: one owner thread per device (`owner.rs`) holds the driver and
//! takes jobs from a bounded channel, so blocking serial/TCP/USB I/O never runs on the
//! async runtime; it checks the device while idle and meets every failure with one
//! policy keyed on the drivers' `ErrorKind` (reopen, retry, alert, give up). What each
//! device does and reports of itself is in its module.

mod card_reader;
mod display;
mod owner;
mod printer;

pub use card_reader::{
    CardReaderService, CardWaitError, ReadRequest, ReaderCounters, ReaderNotice, TakenRead, Verdict,
};
pub use display::{DisplayService, open_display};
pub use printer::{Held, PrinterService};

use crate::config::Endpoint;
use posagent_drivers::ErrorKind;
use posagent_drivers::display::PanelError;
use posagent_drivers::printer::PrinterError;
use posagent_drivers::transport::{FileTransport, SerialTransport, TcpTransport, Transport, TransportError};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Jobs queued per device before callers wait.
const JOB_QUEUE: usize = 16;

/// How often an idle device is checked: one that went away is noticed, and reopened when
/// it is back, within about this long (shown in `/health`).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(700);

/// How long connecting to a TCP device may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A device failure as the checkout sees it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The customer display failed.
    #[error("customer display: {0}")]
    Display(#[from] PanelError),
    /// The receipt printer failed.
    #[error("receipt printer: {0}")]
    Printer(#[from] PrinterError),
    /// The device's owner thread is gone (shutting down).
    #[error("the {0} is stopped")]
    Stopped(&'static str),
}

impl DeviceError {
    /// What to do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DeviceError::Display(e) => e.kind(),
            DeviceError::Printer(e) => e.kind(),
            DeviceError::Stopped(_) => ErrorKind::Disconnected,
        }
    }
}

/// A device's state for `/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceHealth {
    /// `display` or `printer`.
    pub device: &'static str,
    /// Where it is attached.
    pub endpoint: String,
    /// Whether it is open now.
    pub connected: bool,
    /// The last error, if the last operation failed.
    pub last_error: Option<String>,
    /// The firmware version the device reported when it was opened, if it can tell.
    pub firmware: Option<String>,
    /// Whether that version is one the device profile was validated with (absent when
    /// the profile lists none or the version is unknown).
    pub firmware_validated: Option<bool>,
    /// The device reports itself out of service (card reader: `TAMPER (0x32)`), even
    /// while it is connected and no sale is open.
    pub fault: Option<String>,
    /// What the device reports of itself now, among [`DeviceHealth::known_conditions`]
    /// (printer: `paper_out`, `paper_low`, `cover_open`, `error`; card reader:
    /// `out_of_service`).
    pub conditions: Vec<&'static str>,
}

impl DeviceHealth {
    /// Every condition this kind of device can report (each one a metric from the start).
    pub fn known_conditions(&self) -> &'static [&'static str] {
        match self.device {
            "printer" => &PRINTER_CONDITIONS,
            "card_reader" => &["out_of_service"],
            _ => &[],
        }
    }
}

/// The conditions a receipt printer reports in its real-time status.
const PRINTER_CONDITIONS: [&str; 4] = ["paper_out", "paper_low", "cover_open", "error"];

/// The conditions in a printer's real-time status.
pub(crate) fn printer_conditions(s: &posagent_drivers::printer::PrinterStatus) -> Vec<&'static str> {
    let on = [s.paper_out, s.paper_low, s.cover_open, s.error || s.offline && !s.paper_out && !s.cover_open];
    PRINTER_CONDITIONS.iter().zip(on).filter(|(_, on)| *on).map(|(c, _)| *c).collect()
}

/// Records what a device reports of itself now.
pub(crate) fn set_conditions(h: &SharedHealth, conditions: Vec<&'static str>) {
    h.lock().unwrap_or_else(|p| p.into_inner()).conditions = conditions;
}

pub(crate) type SharedHealth = Arc<Mutex<DeviceHealth>>;

pub(crate) fn new_health(device: &'static str, endpoint: &Endpoint) -> SharedHealth {
    Arc::new(Mutex::new(DeviceHealth {
        device,
        endpoint: endpoint.to_string(),
        connected: false,
        last_error: None,
        firmware: None,
        firmware_validated: None,
        fault: None,
        conditions: vec![],
    }))
}

pub(crate) fn set_health(h: &SharedHealth, connected: bool, err: Option<String>) {
    let mut g = h.lock().unwrap_or_else(|p| p.into_inner());
    g.connected = connected;
    g.last_error = err;
}

/// Whether `version` is among the `validated` ones (`None` when either is unknown).
pub fn firmware_validated(version: Option<&str>, validated: &[String]) -> Option<bool> {
    if validated.is_empty() {
        return None;
    }
    version.map(|v| validated.iter().any(|ok| ok == v))
}

/// Records the firmware a device reported on opening; a version the profile was not
/// validated with is logged as a warning for store IT.
pub(crate) fn set_firmware(h: &SharedHealth, version: Option<String>, validated: &[String]) {
    let ok = firmware_validated(version.as_deref(), validated);
    let mut g = h.lock().unwrap_or_else(|p| p.into_inner());
    if ok == Some(false) && g.firmware != version {
        tracing::warn!(
            device = g.device,
            firmware = version.as_deref().unwrap_or(""),
            validated = %validated.join(", "),
            "device firmware is not one this terminal profile was validated with; check with the device vendor"
        );
    }
    g.firmware = version;
    g.firmware_validated = ok;
}

/// Records the fault a device reports of itself (`None`: repaired).
pub(crate) fn set_fault(h: &SharedHealth, fault: Option<String>) {
    let mut g = h.lock().unwrap_or_else(|p| p.into_inner());
    if g.fault != fault {
        match &fault {
            Some(f) => tracing::error!(device = g.device, fault = %f, "device reports itself out of service"),
            None => tracing::info!(device = g.device, "device is back in service"),
        }
    }
    g.conditions = if fault.is_some() { vec!["out_of_service"] } else { vec![] };
    g.fault = fault;
}

pub(crate) fn read_health(h: &SharedHealth) -> DeviceHealth {
    h.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Opens the transport an endpoint names.
pub fn open_transport(endpoint: &Endpoint) -> Result<Box<dyn Transport>, TransportError> {
    Ok(match endpoint {
        Endpoint::Serial { path, baud } => Box::new(SerialTransport::open(path, *baud)?),
        Endpoint::Tcp(addr) => Box::new(TcpTransport::connect(addr, CONNECT_TIMEOUT)?),
        Endpoint::File(path) => Box::new(FileTransport::open(path)?),
        Endpoint::Network => {
            return Err(TransportError::Open {
                target: "the network printer".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no address is set: set printer_endpoint in the store config",
                ),
            });
        }
        Endpoint::Usb { vid, pid, serial } => {
            Box::new(posagent_drivers::transport::UsbTransport::open(*vid, *pid, serial.as_deref())?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_drivers::printer::parse_status;

    #[test]
    fn a_printers_status_bytes_name_its_conditions() {
        let idle = parse_status([0x12, 0x12, 0x12, 0x12]);
        assert_eq!(idle.map(|s| printer_conditions(&s)), Some(vec![]));
        // Paper end (DLE EOT 2 bit 5, DLE EOT 4 bits 5-6), printer offline because of it.
        let out = parse_status([0x1A, 0x32, 0x12, 0x72]);
        assert_eq!(out.map(|s| printer_conditions(&s)), Some(vec!["paper_out"]));
        // Near end only: printing goes on.
        let low = parse_status([0x12, 0x12, 0x12, 0x1E]);
        assert_eq!(low.map(|s| printer_conditions(&s)), Some(vec!["paper_low"]));
        // Cover open.
        let cover = parse_status([0x1A, 0x16, 0x12, 0x12]);
        assert_eq!(cover.map(|s| printer_conditions(&s)), Some(vec!["cover_open"]));
        // Offline for another cause (feed button, error): an error.
        let offline = parse_status([0x1A, 0x12, 0x12, 0x12]);
        assert_eq!(offline.map(|s| printer_conditions(&s)), Some(vec!["error"]));
    }
}
