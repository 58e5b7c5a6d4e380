//! TLS to the broker: rustls on ring (as the rest of the daemon), trusting only the CA
//! the config names, with the client's own certificate — the terminal's, or an
//! operator's for `posagent fleet`. The files are read off the async runtime.

use super::FleetError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;

/// Where the CA and the client's certificate and key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM: the CA that signed the broker's certificate.
    pub ca: PathBuf,
    /// PEM: the client's certificate (chain).
    pub cert: PathBuf,
    /// PEM: its private key (mode 0600).
    pub key: PathBuf,
}

fn tls_error(path: &Path, message: impl Into<String>) -> FleetError {
    FleetError::Tls { path: path.to_path_buf(), message: message.into() }
}

/// Reads the files and makes the client's TLS settings.
pub async fn client_config(files: TlsFiles) -> Result<Arc<rustls::ClientConfig>, FleetError> {
    let read = tokio::task::spawn_blocking(move || {
        let ca = std::fs::read(&files.ca).map_err(|e| tls_error(&files.ca, e.to_string()))?;
        let cert = std::fs::read(&files.cert).map_err(|e| tls_error(&files.cert, e.to_string()))?;
        let key = crate::ecr::read_secret_file(&files.key).map_err(|e| tls_error(&files.key, e.to_string()))?;
        Ok::<_, FleetError>((files, ca, cert, key))
    });
    let (files, ca, cert, key) = read.await.map_err(|e| FleetError::Internal(e.to_string()))??;
    from_pem(&files, &ca, &cert, &key)
}

fn from_pem(files: &TlsFiles, ca: &[u8], cert: &[u8], key: &[u8]) -> Result<Arc<rustls::ClientConfig>, FleetError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        let c = c.map_err(|e| tls_error(&files.ca, format!("not PEM: {e}")))?;
        roots.add(c).map_err(|e| tls_error(&files.ca, format!("not a CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(tls_error(&files.ca, "holds no certificate"));
    }
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(&files.cert, format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(tls_error(&files.cert, "holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_error(&files.key, format!("no private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FleetError::Internal(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(&files.key, format!("the key does not go with the certificate: {e}")))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bad_file_is_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let files =
            TlsFiles { ca: dir.path().join("ca.pem"), cert: dir.path().join("t.pem"), key: dir.path().join("t.key") };
        let missing = client_config(files.clone()).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing.contains("ca.pem") && missing.contains("--ca-file"), "{missing}");
        for (path, text) in [(&files.ca, "not pem"), (&files.cert, ""), (&files.key, "")] {
            std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(&files.key, mode).unwrap_or_else(|e| panic!("{e}"));
        }
        let bad = client_config(files).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(bad.contains("ca.pem") && bad.contains("no certificate"), "{bad}");
    }
}
