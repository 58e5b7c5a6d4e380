//! The local ECR API for the shop's register: HTTP/JSON on loopback, bearer token,
//! errors as `{code, message, field}`, and a server-sent-events stream of sale changes.
//! The protocol is described in `docs/ecr-api.md`.

mod admin;
mod auth;
pub mod console;
pub mod guard;
mod health;
mod limit;
mod problem;
mod queue;
mod routes;
mod sales_list;
mod serve;
pub mod tls;
mod web;
mod wire;

pub use auth::{ensure_token_file, read_secret_file, read_token};
pub use health::{HealthCache, snapshot as health_snapshot};
pub use problem::Problem;
pub use routes::{EcrState, monitoring_router, router};
pub use serve::{HEADER_READ_TIMEOUT, serve};

/// An HTTP client for this machine's tools (CLI, doctor) to call the ECR API as the
/// config serves it: over HTTPS it trusts the API's own certificate.
pub fn local_client(ecr: &crate::config::EcrConfig) -> Result<reqwest::Client, LocalClientError> {
    let mut builder = reqwest::Client::builder().use_rustls_tls().timeout(std::time::Duration::from_secs(30));
    if let Some(cert) = &ecr.tls_cert_file {
        let pem = std::fs::read(cert).map_err(|source| LocalClientError::Read { path: cert.clone(), source })?;
        for c in reqwest::Certificate::from_pem_bundle(&pem).map_err(LocalClientError::Tls)? {
            builder = builder.add_root_certificate(c);
        }
    }
    builder.build().map_err(LocalClientError::Tls)
}

/// Why a local client of the ECR API could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalClientError {
    /// The API's certificate file cannot be read.
    #[error("cannot read the ECR API certificate {path}: {source}")]
    Read {
        /// ecr.tls_cert_file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The certificate is not PEM, or the client cannot be built.
    #[error("the ECR API certificate cannot be used: {0}")]
    Tls(#[source] reqwest::Error),
}
