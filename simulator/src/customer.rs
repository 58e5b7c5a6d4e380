//! The simulated Klarna customer: looks at the customer display like a phone camera,
//! decodes the QR code it sees with a real QR decoder, and acts at the URL it read. At a
//! terminal with a line display the customer scans the printed slip instead (the QR code
//! the simulated printer decoded from the bytes it received).

use crate::devices::display::SimDisplay;
use posagent_drivers::display::Frame;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the customer does after scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerAction {
    /// Scan and approve the purchase.
    Approve,
    /// Scan and reject the purchase.
    Decline,
    /// Scan only (the journey stays open, e.g. a customer who walks away).
    Scan,
}

/// Why the customer could not act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustomerError {
    /// No QR code is visible on the display.
    #[error("no readable QR code on the customer display")]
    NoQrCode,
    /// The QR code holds something other than a URL.
    #[error("the QR code does not hold an http(s) URL: {0:?}")]
    NotAUrl(String),
    /// Klarna's journey (the simulated backend) refused.
    #[error("the purchase journey at {url} answered {status}: {body}")]
    Refused {
        /// URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
    },
    /// The phone could not reach the URL.
    #[error("cannot reach {url}: {source}")]
    Http {
        /// URL.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
}

/// Decodes every QR code visible in `frame`.
pub fn read_qr_codes(frame: &Frame) -> Vec<String> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma = frame.luma();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, content)| content)).collect()
}

/// How long the customer looks at the display for a QR code.
pub const LOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Watches the display until a QR code is readable (up to [`LOOK_TIMEOUT`]).
pub async fn scan(display: &SimDisplay) -> Result<String, CustomerError> {
    scan_skipping(display, &[], tokio::time::Instant::now() + LOOK_TIMEOUT).await
}

/// Watches the display until it shows a QR code other than `stale`, until `deadline`.
async fn scan_skipping(
    display: &SimDisplay,
    stale: &[String],
    deadline: tokio::time::Instant,
) -> Result<String, CustomerError> {
    let mut shown = display.subscribe();
    loop {
        shown.borrow_and_update();
        let frame = display.current();
        let found = tokio::task::spawn_blocking(move || read_qr_codes(&frame))
            .await
            .ok()
            .and_then(|c| c.into_iter().find(|u| !stale.contains(u)));
        if let Some(url) = found {
            return Ok(url);
        }
        if tokio::time::timeout_at(deadline, shown.changed()).await.is_err() {
            return Err(CustomerError::NoQrCode);
        }
    }
}

/// Where the customer looks for the QR code.
#[derive(Clone, Copy)]
pub enum Look<'a> {
    /// The customer display.
    Display(&'a SimDisplay),
    /// The newest slip out of the printer.
    Slip(&'a crate::devices::printer::SimPrinter),
}

/// Waits for a printed slip with a URL in its QR code other than `stale`, until `deadline`.
async fn scan_slip_skipping(
    printer: &crate::devices::printer::SimPrinter,
    stale: &[String],
    deadline: tokio::time::Instant,
) -> Result<String, CustomerError> {
    loop {
        let receipts = printer.receipts();
        let newest = receipts.iter().rev().flat_map(|r| r.qr_payloads.iter()).find(|p| p.starts_with("http"));
        if let Some(url) = newest.filter(|u| !stale.contains(u)) {
            return Ok(url.clone());
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() || printer.wait_for(receipts.len() + 1, left).await.is_none() {
            return Err(CustomerError::NoQrCode);
        }
    }
}

/// Scans the display and does `action`; returns the URL read from the QR code.
pub async fn act(
    display: &SimDisplay,
    http: &reqwest::Client,
    action: CustomerAction,
) -> Result<String, CustomerError> {
    act_on(Look::Display(display), http, action).await
}

/// Scans where `look` says and does `action`; returns the URL read from the QR code.
pub async fn act_on(look: Look<'_>, http: &reqwest::Client, action: CustomerAction) -> Result<String, CustomerError> {
    // Like a person with a phone: a code that leads to a journey that is over (the
    // previous customer's, still on the screen) is ignored and the screen watched again.
    let deadline = tokio::time::Instant::now() + LOOK_TIMEOUT;
    let mut stale = vec![];
    let url = loop {
        let url = match look {
            Look::Display(display) => scan_skipping(display, &stale, deadline).await?,
            Look::Slip(printer) => scan_slip_skipping(printer, &stale, deadline).await?,
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CustomerError::NotAUrl(url));
        }
        match send(http, http.get(&url), &url).await {
            Ok(()) => break url,
            Err(CustomerError::Refused { status: 403, .. }) if tokio::time::Instant::now() < deadline => {
                stale.push(url)
            }
            Err(e) => return Err(e),
        }
    };
    let step = match action {
        CustomerAction::Approve => Some("approve"),
        CustomerAction::Decline => Some("decline"),
        CustomerAction::Scan => None,
    };
    if let Some(step) = step {
        let target = format!("{url}/{step}");
        send(http, http.post(&target), &target).await?;
    }
    Ok(url)
}

async fn send(_http: &reqwest::Client, req: reqwest::RequestBuilder, url: &str) -> Result<(), CustomerError> {
    let resp = req.send().await.map_err(|source| CustomerError::Http { url: url.to_string(), source })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    Err(CustomerError::Refused { url: url.to_string(), status: status.as_u16(), body })
}
