//! The simulated acquirer backend: the Terminal API with Klarna Network semantics.

mod descriptors;
mod idempotency;
mod markets;
mod routes;
mod state;

pub use routes::router;
pub use state::{Books, LedgerEntry, Refusal};

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The simulated acquirer: its books and what wakes long polls.
pub struct SimBackend {
    api_key: String,
    books: Mutex<Books>,
    /// Signalled on every state change.
    pub changed: Notify,
}

impl SimBackend {
    /// A backend accepting `api_key`, with QR URLs under `public_base_url`.
    pub fn new(api_key: String, public_base_url: String, request_ttl: chrono::Duration) -> Arc<Self> {
        Arc::new(SimBackend {
            api_key,
            books: Mutex::new(Books::new(public_base_url, request_ttl)),
            changed: Notify::new(),
        })
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
