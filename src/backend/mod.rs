//! The acquirer client: the Terminal API over HTTPS (reqwest + rustls), with per-call
//! timeouts, bounded retries with capped exponential backoff and full jitter, and
//! `Retry-After` honoured. Every POST carries the idempotency key the caller stored.

mod client;
mod connectivity;
mod error;
mod retry;
pub mod tls_probe;

pub use client::{AcquirerClient, ClientSettings, PROBE_TIMEOUT};
pub use connectivity::Connectivity;
pub use error::{BackendError, causes, http_client, tls_refusal_hint, unreachable_hint};
pub use retry::RetryPolicy;
