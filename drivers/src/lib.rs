//! Device drivers for posagent.
//!
//! Each device family has a protocol layer that only encodes and decodes bytes (pure,
//! byte-exact tests beside it) and a driver generic over a blocking byte [`transport`].
//! Every error has a `kind()` the daemon acts on (retry, reopen, alert the cashier):
//! its device owners meet every failure with one policy on that kind. The scripted
//! [`transport::ScriptedTransport`] plays a device byte for byte in tests.
//! All I/O here is blocking: the daemon runs drivers on owner threads, never on the
//! async runtime.

pub mod card_reader;
pub mod display;
pub mod printer;
pub mod transport;

/// What the daemon should do about a device error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The device is gone (unplugged, connection closed): reopen it.
    Disconnected,
    /// The device did not answer in time: reopen, and retry a job that is harmless to
    /// repeat (a screen, never a receipt).
    Timeout,
    /// The device answered something that breaks the protocol: report, reopen.
    Protocol,
    /// The printer is out of paper: alert the cashier, keep the job queued.
    PaperOut,
    /// The printer cover is open: alert the cashier, keep the job queued.
    CoverOpen,
    /// The device reports a fault of its own: alert store IT.
    DeviceFault,
    /// The configuration does not fit the device (size, format): fix the profile.
    Configuration,
}
