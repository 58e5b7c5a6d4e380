//! What a call to the acquirer can fail with, with the hint an operator acts on
//! (network, TLS, certificate), and the HTTP client those calls use.

use super::retry::retryable_status;
use posagent_acquirer_api::ApiError;
use posagent_acquirer_api::events;
use std::time::Duration;

/// A failed call to the acquirer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// No answer: network down, DNS, TLS, timeout — after all retries.
    #[error("acquirer unreachable at {url}: {}; {}", causes(.source), unreachable_hint(.source))]
    Unreachable {
        /// URL called.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The acquirer answered with an error envelope.
    #[error("acquirer refused ({status}): {} {}", .error.error_code, .error.error_message)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The envelope.
        error: Box<ApiError>,
    },
    /// The acquirer answered something that is not the documented shape.
    #[error("acquirer sent an unexpected answer ({status}) to {url}: {detail}")]
    Unexpected {
        /// URL called.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// A signed answer whose signature does not match: it is ignored.
    #[error(
        "the acquirer's answer from {url} failed its signature check ({problem}); check acquirer.event_signing_keys_file (or, without one, the terminal API key)"
    )]
    BadSignature {
        /// URL called.
        url: String,
        /// What was wrong.
        problem: events::SignatureProblem,
    },
    /// Not tried: the acquirer did not answer the last calls and the sync worker has not
    /// reached it since.
    #[error("the acquirer is unreachable (no answer to the last calls); check the network")]
    Offline,
    /// The client could not be built (bad TLS material).
    #[error("cannot set up the acquirer client: {0}; check the TLS settings")]
    Setup(#[source] reqwest::Error),
}

/// The HTTP client the acquirer is called with: rustls, TLS always verified (plain HTTP
/// only to this machine), with the extra CA certificates and the client certificate
/// (mTLS) given as PEM. Shared with `posagent doctor`, so it checks what the daemon does.
pub fn http_client(
    base_url: &str,
    timeout: Duration,
    ca_pem: Option<&[u8]>,
    client_identity_pem: Option<&[u8]>,
) -> Result<reqwest::Client, BackendError> {
    let local = base_url.starts_with("http://127.0.0.1") || base_url.starts_with("http://localhost");
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("posagent/", env!("CARGO_PKG_VERSION")))
        .https_only(!local);
    if let Some(pem) = ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(BackendError::Setup)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(pem) = client_identity_pem {
        builder = builder.identity(reqwest::Identity::from_pem(pem).map_err(BackendError::Setup)?);
    }
    builder.build().map_err(BackendError::Setup)
}

/// `e` and its causes, outermost first ("error sending request" alone says little).
pub fn causes(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// What an operator should look at for a call that got no answer.
pub fn unreachable_hint(e: &reqwest::Error) -> &'static str {
    let text = causes(e);
    if let Some(hint) = tls_hint(&text) {
        hint
    } else if e.is_timeout() {
        "no answer in time: check the network, acquirer.url and acquirer.timeout_ms"
    } else if text.contains("connection was not ready") || text.contains("connection closed before message completed") {
        // TLS 1.3: a server refusing the client's certificate alerts after the client's
        // handshake is done; the alert may not have been read when the connection closes.
        "the acquirer closed the connection before answering, as it does when it refuses this terminal's certificate: check acquirer.client_identity_file; `posagent doctor` reads the acquirer's TLS alert"
    } else {
        "check the network and acquirer.url"
    }
}

/// What an operator should look at for a TLS failure described by `text`, if it is one.
fn tls_hint(text: &str) -> Option<&'static str> {
    if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        Some(
            "the acquirer's TLS certificate is not trusted: check acquirer.ca_file (the acquirer's CA) and acquirer.url",
        )
    } else if text.contains("CertificateRequired")
        || text.contains("BadCertificate")
        || text.contains("UnknownCA")
        || text.contains("received fatal alert")
    {
        Some(
            "the acquirer refused the TLS handshake: check acquirer.client_identity_file (this terminal's certificate and key, issued by the acquirer)",
        )
    } else {
        None
    }
}

/// What an operator should look at for a TLS error `text` read from the acquirer
/// (see [`super::tls_probe`]).
pub fn tls_refusal_hint(text: &str) -> &'static str {
    tls_hint(text).unwrap_or(
        "the acquirer ended the TLS connection: check acquirer.url, acquirer.ca_file and acquirer.client_identity_file",
    )
}

impl BackendError {
    /// Whether the acquirer could not be reached (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, BackendError::Unreachable { .. } | BackendError::Offline)
            || matches!(self, BackendError::Refused { status, .. } | BackendError::Unexpected { status, .. } if retryable_status(*status))
    }

    /// The error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            BackendError::Refused { error, .. } => Some(&error.error_code),
            _ => None,
        }
    }
}
