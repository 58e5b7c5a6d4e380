//! The chain's CA (rcgen, ECDSA P-256 as in tests/it/fleet.rs), the broker's certificate
//! written for Mosquitto, and each link's own certificate (CN `chain/store/terminal`) kept
//! in memory as its rustls client settings: 10,000 key files would only cost time.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA and the roots a client trusts.
pub struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    roots: Arc<rustls::RootCertStore>,
}

impl Pki {
    /// A new CA; its certificate and the broker's certificate and key written to `dir`
    /// (`ca.pem`, `broker.pem`, `broker.key`).
    pub fn new(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "acme fleet bench CA");
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let pki = Pki { ca, ca_key, roots: Arc::new(roots) };
        let (cert, key) = pki.issue("broker", true);
        std::fs::write(dir.join("broker.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("broker.key"), key.serialize_pem()).unwrap();
        pki
    }

    fn issue(&self, cn: &str, server: bool) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let names = if server { vec!["127.0.0.1".to_string(), "localhost".to_string()] } else { vec![] };
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages =
            vec![if server { ExtendedKeyUsagePurpose::ServerAuth } else { ExtendedKeyUsagePurpose::ClientAuth }];
        (params.signed_by(&key, &self.ca, &self.ca_key).unwrap(), key)
    }

    /// `cn`'s client certificate, as rustls client settings on ring (as the daemon's).
    pub fn client(&self, cn: &str) -> Arc<rustls::ClientConfig> {
        let (cert, key) = self.issue(cn, false);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(self.roots.clone())
            .with_client_auth_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }
}
