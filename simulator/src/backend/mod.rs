//! The simulated acquirer backend: the Terminal API with Klarna Network semantics.

pub mod assets;
mod bare_errors;
mod cards;
mod control;
mod descriptors;
mod faults;
mod fees;
mod idempotency;
mod interop;
mod markets;
mod presentation;
mod reports;
mod routes;
mod state;
mod ticker;
mod transactions;

pub use descriptors::{for_locale as klarna_wording, option_id as klarna_option_id};
pub use faults::Faults;
pub use presentation::ReceivedKlarnaData;
pub use routes::router;
pub use state::{Books, LedgerEntry, Refusal};

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The simulated acquirer: its books and what wakes long polls.
pub struct SimBackend {
    api_key: String,
    /// The key the event stream is signed with, and its id.
    signing: Mutex<(String, Vec<u8>)>,
    books: Mutex<Books>,
    /// Signalled on every state change.
    pub changed: Notify,
    /// Faults in force.
    pub faults: Mutex<Faults>,
    /// Fires when the simulator stops (releases held requests).
    pub stop: CancellationToken,
    /// How far the acquirer's clock was moved on (`POST /sim/clock`), in seconds.
    clock_offset: std::sync::atomic::AtomicI64,
}

impl SimBackend {
    /// A backend accepting `api_key`, with QR URLs under `public_base_url`; held
    /// requests are released when `stop` fires.
    pub fn new(
        api_key: String,
        public_base_url: String,
        request_ttl: chrono::Duration,
        stop: CancellationToken,
    ) -> Arc<Self> {
        let mut books = Books::new(public_base_url, request_ttl);
        books.seed_online_orders(chrono::Utc::now());
        let backend = Arc::new(SimBackend {
            signing: Mutex::new((
                posagent_acquirer_api::events::SIGNING_KEY_ID.to_string(),
                posagent_acquirer_api::events::signing_key(&api_key),
            )),
            api_key,
            books: Mutex::new(books),
            changed: Notify::new(),
            faults: Mutex::new(Faults::default()),
            stop,
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        });
        // Outside a runtime (a plain unit test) nothing ticks; reads still age the books.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(ticker::run(Arc::clone(&backend)));
        }
        backend
    }

    /// The acquirer's clock (the wall clock, moved on by `POST /sim/clock`).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.clock_offset_secs())
    }

    /// Seconds the clock was moved on.
    pub fn clock_offset_secs(&self) -> i64 {
        self.clock_offset.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves the clock on by `secs`: what expires by then expires now, with its events.
    pub fn advance_clock(&self, secs: i64) {
        self.clock_offset.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
        self.age_now();
    }

    /// Ages the books to the acquirer's clock now; wakes long polls (and the ticker, which
    /// looks for its next deadline again).
    pub(crate) fn age_now(&self) -> bool {
        let now = self.now();
        let changed = self.books().age_to(now);
        self.changed.notify_waiters();
        changed
    }

    /// Signs the event stream from now on with `key` under `key_id` (a key the acquirer
    /// provisioned, or a rotation).
    pub fn set_signing_key(&self, key_id: &str, key: Vec<u8>) {
        *self.signing.lock().unwrap_or_else(|p| p.into_inner()) = (key_id.to_string(), key);
    }

    /// The event stream's signing key id and key.
    pub fn signing_key(&self) -> (String, Vec<u8>) {
        self.signing.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the faults in force.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
        // Long polls in progress look again: one caught by a partition never answers.
        self.changed.notify_waiters();
    }

    /// Whether the network to the terminal is cut (every request and answer lost).
    pub fn partitioned(&self) -> bool {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).partition
    }

    /// Serves `wording` as Klarna's for every locale and amount (`None`: the market
    /// table again).
    pub fn set_wording(&self, wording: Option<posagent_acquirer_api::PaymentOption>) {
        self.books().wording = wording;
    }

    /// Locks the books (a poisoned lock is recovered: the books are consistent after every step).
    pub fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves `router` on `listener` until `cancel` fires.
pub async fn serve(listener: TcpListener, app: axum::Router, cancel: CancellationToken) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(async move { cancel.cancelled().await }).await
}

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod tests;
