//! posagent as a ZVT payment terminal (PT): a German, Austrian or Swiss register that
//! speaks ZVT takes Klarna and card payments through the same checkout an ECR-API sale
//! goes through (docs/zvt.md is the contract). The codec is the `posagent-zvt` crate;
//! here are the transports (TCP in `listener`, RS-232 in `serial`), the conversation
//! (`link`, `session`), the payment (`payment`), its result and the commit rule
//! (`commit`, `report`, `receipt`), and reversal, refund, end of day and repeat receipt
//! (`admin`).

mod admin;
mod commit;
mod link;
mod listener;
mod payment;
mod receipt;
mod report;
mod serial;
mod session;

use crate::checkout::Checkout;
use crate::config::ZvtConfig;
use crate::returns::Returns;
use session::RegisterSettings;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The result codes posagent reports [PA00P015 §10].
pub(crate) mod rc {
    /// Approved.
    pub const OK: u8 = 0x00;
    /// Declined by the acquirer (an "authorisation system" code).
    pub const DECLINED: u8 = 0x05;
    /// Aborted: by the cashier, the customer, or a timeout.
    pub const ABORTED: u8 = 0x6C;
    /// The currency is not the terminal's.
    pub const WRONG_CURRENCY: u8 = 0x6F;
    /// Function not possible.
    pub const FUNCTION_NOT_POSSIBLE: u8 = 0x83;
    /// Please wait (the PT is busy).
    pub const PLEASE_WAIT: u8 = 0x9C;
    /// No connection to the acquirer.
    pub const NO_CONNECTION: u8 = 0xA3;
    /// Already reversed.
    pub const ALREADY_REVERSED: u8 = 0xB4;
    /// Reversal (or refund) not possible.
    pub const REVERSAL_NOT_POSSIBLE: u8 = 0xB5;
    /// Maximum amount exceeded.
    pub const MAX_AMOUNT: u8 = 0xC3;
    /// Payment method not supported.
    pub const METHOD_NOT_SUPPORTED: u8 = 0xC5;
    /// Amount too small.
    pub const AMOUNT_TOO_SMALL: u8 = 0xC8;
    /// System error.
    pub const SYSTEM_ERROR: u8 = 0xFF;
}

/// What the PT works with.
pub struct ZvtDeps {
    /// The checkout every sale goes through.
    pub checkout: Checkout,
    /// Returns (a refund is one).
    pub returns: Returns,
    /// `[zvt]`.
    pub config: ZvtConfig,
    /// The daemon stops.
    pub shutdown: CancellationToken,
    /// The daemon's tasks.
    pub tasks: TaskTracker,
}

/// The PT: its dependencies and the state every register connection shares.
pub struct PosTerminal {
    deps: ZvtDeps,
    /// What the last registration set.
    settings: tokio::sync::Mutex<RegisterSettings>,
    /// Held while a command runs: one at a time, whichever connection sent it.
    busy: tokio::sync::Mutex<()>,
}

/// Why the PT could not start.
#[derive(Debug, thiserror::Error)]
pub enum ZvtError {
    /// A listening address could not be bound.
    #[error("cannot listen for ZVT registers on {addr}: {source}; change zvt.listen or stop what uses the port")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The serial line could not be opened.
    #[error("cannot open the ZVT serial line {path}: {source}; check zvt.serial and the service user's access to it")]
    Serial {
        /// The device.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl PosTerminal {
    fn journal(&self) -> &crate::store::Journal {
        self.deps.checkout.journal()
    }

    /// The store's currency as ISO 4217 number (BMP 49).
    fn currency_code(&self) -> u16 {
        self.deps.checkout.store().currency.numeric()
    }

    /// The status byte of a registration's completion (BMP 19): nothing to do.
    fn status_byte(&self) -> u8 {
        0x00
    }

    /// The terminal status of a status enquiry: `00` ready, `DF` out of order while the
    /// journal does not answer or nothing can be sold.
    async fn terminal_status(&self) -> u8 {
        let journal_ok = self.journal().zvt_last().await.is_ok();
        let sells = self.deps.checkout.acquirer_online() || self.deps.checkout.sells_offline();
        if journal_ok && sells { 0x00 } else { 0xDF }
    }
}

/// Starts the PT: reverses what a previous run left uncommitted, then listens on every
/// `zvt.listen` address (and the serial line). Returns the addresses bound.
pub async fn start(deps: ZvtDeps) -> Result<Vec<SocketAddr>, ZvtError> {
    let pt = Arc::new(PosTerminal {
        deps,
        settings: tokio::sync::Mutex::new(RegisterSettings::default()),
        busy: tokio::sync::Mutex::new(()),
    });
    // What a previous run left is read before any register is heard.
    commit::recover(&pt).await;
    let bound = listener::listen(&pt).await?;
    if let Some(path) = pt.deps.config.serial.clone() {
        serial::start(&pt, &path)?;
    }
    Ok(bound)
}
