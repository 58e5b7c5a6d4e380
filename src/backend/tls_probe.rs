//! Why a TLS connection to the acquirer ended without an answer. In TLS 1.3 the client
//! finishes its handshake before the server has checked the client's certificate; a
//! server that refuses it sends its alert afterwards, and an HTTP client that has not
//! read it yet only sees the connection close ("connection was not ready"). This probe
//! (used by `posagent doctor`) does the handshake with the daemon's own TLS material,
//! writes one request without credentials and reads, so the server's alert is always
//! what it reports.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// What the probe of an `https` acquirer URL found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsVerdict {
    /// The server answered the request (TLS is not the problem).
    Answers,
    /// The handshake or the first read failed with this TLS error (an alert, a
    /// certificate problem).
    Refused(String),
    /// The probe could not tell (not https, no connection, bad local TLS material).
    Unknown(String),
}

/// Connects to `url` as the daemon would (the extra CA `ca_pem`, else the public roots;
/// the terminal's certificate and key `identity_pem`), sends a request without
/// credentials and reads the first bytes of the answer, within `timeout`.
pub async fn probe(url: &str, ca_pem: Option<&[u8]>, identity_pem: Option<&[u8]>, timeout: Duration) -> TlsVerdict {
    match tokio::time::timeout(timeout, handshake_and_read(url, ca_pem, identity_pem)).await {
        Ok(verdict) => verdict,
        Err(_) => TlsVerdict::Unknown(format!("no answer within {} s", timeout.as_secs())),
    }
}

async fn handshake_and_read(url: &str, ca_pem: Option<&[u8]>, identity_pem: Option<&[u8]>) -> TlsVerdict {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => u,
        Ok(_) => return TlsVerdict::Unknown("not an https URL".into()),
        Err(e) => return TlsVerdict::Unknown(format!("bad URL: {e}")),
    };
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return TlsVerdict::Unknown("the URL names no host".into());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let config = match client_config(ca_pem, identity_pem) {
        Ok(c) => c,
        Err(e) => return TlsVerdict::Unknown(e),
    };
    let Ok(name) = ServerName::try_from(host.clone()) else {
        return TlsVerdict::Unknown(format!("{host} is not a valid TLS server name"));
    };
    let tcp = match tokio::net::TcpStream::connect((host.as_str(), port)).await {
        Ok(t) => t,
        Err(e) => return TlsVerdict::Unknown(format!("cannot connect: {e}")),
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut tls = match connector.connect(name, tcp).await {
        Ok(t) => t,
        Err(e) => return TlsVerdict::Refused(e.to_string()),
    };
    let request = format!("HEAD / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if let Err(e) = tls.write_all(request.as_bytes()).await {
        return TlsVerdict::Refused(e.to_string());
    }
    let mut first = [0u8; 16];
    match tls.read(&mut first).await {
        Ok(0) => TlsVerdict::Unknown("the acquirer closed the connection without a TLS alert".into()),
        Ok(_) => TlsVerdict::Answers,
        Err(e) => TlsVerdict::Refused(e.to_string()),
    }
}

fn client_config(ca_pem: Option<&[u8]>, identity_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("acquirer.ca_file: {e}"))?;
            roots.add(cert).map_err(|e| format!("acquirer.ca_file: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match identity_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("acquirer.client_identity_file: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("acquirer.client_identity_file: {e}"))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| format!("acquirer.client_identity_file: {e}"))?
        }
    };
    Ok(Arc::new(config))
}
