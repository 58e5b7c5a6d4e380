//! The acquirer over TLS with client certificates (mTLS), as a production terminal talks
//! to it: a private CA (`acquirer.ca_file`) and the terminal's certificate and key
//! (`acquirer.client_identity_file`). A TLS endpoint that requires a client certificate
//! signed by that CA (rustls) sits in front of the simulated acquirer; the daemon sells
//! through it. A client without the certificate, or trusting another CA, gets nowhere.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use posagent::backend::{AcquirerClient, ClientSettings};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_rustls::rustls;

struct Pki {
    ca_pem: String,
    server: (rustls::pki_types::CertificateDer<'static>, rustls::pki_types::PrivateKeyDer<'static>),
    ca_der: rustls::pki_types::CertificateDer<'static>,
    /// Client certificate and key, PEM, in one file as reqwest takes it.
    client_identity_pem: String,
}

fn new_pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, format!("{name} acquirer test CA"));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.distinguished_name.push(DnType::CommonName, "terminal SIM01");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key).unwrap();

    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server: (server_cert.der().clone(), rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into())),
        client_identity_pem: format!("{}{}", client_cert.pem(), client_key.serialize_pem()),
    }
}

/// Handshakes the endpoint completed and refused.
#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    refused: AtomicUsize,
}

/// A TLS endpoint on loopback requiring a client certificate of `pki`'s CA, forwarding
/// the decrypted bytes to the simulated acquirer at `backend_url`.
async fn tls_endpoint(pki: &Pki, backend_url: &str) -> (u16, Arc<Counts>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = backend_url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, backend, c) = (acceptor.clone(), backend.clone(), c.clone());
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut tls) => {
                        c.accepted.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await {
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                        }
                    }
                    Err(_) => {
                        c.refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (port, counts)
}

fn client(h: &Harness, url: &str, ca_pem: Option<&str>, identity_pem: Option<&str>) -> AcquirerClient {
    let api_key = std::fs::read_to_string(h.data_dir().join("acquirer.key")).unwrap().trim().to_string();
    AcquirerClient::with_settings(ClientSettings {
        base_url: url.to_string(),
        api_key,
        timeout: Duration::from_secs(5),
        ca_pem: ca_pem.map(|p| p.as_bytes().to_vec()),
        client_identity_pem: identity_pem.map(|p| p.as_bytes().to_vec()),
        ..ClientSettings::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_goes_through_an_acquirer_that_requires_the_terminals_certificate() {
    let mut h = Harness::start().await;
    let pki = new_pki("store");
    let (port, counts) = tls_endpoint(&pki, &h.sim.backend_url).await;
    let url = format!("https://localhost:{port}");

    // Without its certificate, or trusting another CA, the terminal gets no answer.
    let reference = "NO-SUCH-SALE";
    let bare = client(&h, &url, Some(&pki.ca_pem), None).transaction_by_reference(reference).await;
    assert!(bare.is_err(), "a client without a certificate was let in: {bare:?}");
    // The error tells store IT where to look.
    let told = bare.as_ref().unwrap_err().to_string();
    // In TLS 1.3 the server's alert comes after the client's handshake: the client reads
    // it, or sees the connection closed before its request went out (a race); either way
    // the error names the setting.
    let alert_or_closed =
        told.contains("CertificateRequired") || told.contains("closed the connection before answering");
    assert!(alert_or_closed && told.contains("acquirer.client_identity_file"), "{told}");
    let stranger = new_pki("other");
    let wrong_ca = client(&h, &url, Some(&stranger.ca_pem), Some(&pki.client_identity_pem))
        .transaction_by_reference(reference)
        .await;
    assert!(wrong_ca.is_err(), "a server signed by an untrusted CA was trusted: {wrong_ca:?}");
    let told = wrong_ca.as_ref().unwrap_err().to_string();
    assert!(told.contains("UnknownIssuer") && told.contains("acquirer.ca_file"), "{told}");
    let untrusted_client = client(&h, &url, Some(&pki.ca_pem), Some(&stranger.client_identity_pem))
        .transaction_by_reference(reference)
        .await;
    let told = untrusted_client.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(told.contains("acquirer.client_identity_file"), "a certificate of another CA was let in: {told}");
    assert_eq!(counts.accepted.load(Ordering::SeqCst), 0);
    assert!(counts.refused.load(Ordering::SeqCst) >= 2, "the endpoint refused the handshakes");
    let good =
        client(&h, &url, Some(&pki.ca_pem), Some(&pki.client_identity_pem)).transaction_by_reference(reference).await;
    assert!(matches!(good, Ok(None)), "{good:?}");

    // The daemon configured with the files sells through it.
    let tls_dir = h.dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    std::fs::write(tls_dir.join("acquirer-ca.pem"), &pki.ca_pem).unwrap();
    common::write_secret(&tls_dir.join("terminal.pem"), &pki.client_identity_pem);
    h.stop_daemon().await;
    let before = counts.accepted.load(Ordering::SeqCst);
    h.start_daemon_with(|c| {
        c.acquirer.url = url.clone();
        c.acquirer.ca_file = Some(tls_dir.join("acquirer-ca.pem"));
        c.acquirer.client_identity_file = Some(tls_dir.join("terminal.pem"));
    })
    .await;
    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    let (status, body) = h.customer("approve").await;
    assert_eq!(status, 200, "{body}");
    let done = h.wait_for(&id, |s| s["state"] == "APPROVED").await;
    assert!(done["payment_transaction_id"].is_string(), "{done}");
    assert!(counts.accepted.load(Ordering::SeqCst) > before, "the daemon's calls went through the TLS endpoint");
    let tx =
        h.backend_get(&format!("/v1/payment-transactions?reference={}", sale["reference"].as_str().unwrap())).await;
    assert_eq!(tx["state"], "COMPLETED", "{tx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_acquirer_with_the_terminals_certificate() {
    let h = Harness::start().await;
    let pki = new_pki("store");
    let (port, _) = tls_endpoint(&pki, &h.sim.backend_url).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("acquirer-ca.pem"), &pki.ca_pem).unwrap();
    common::write_secret(&dir.path().join("terminal.pem"), &pki.client_identity_pem);
    let url = format!("https://localhost:{port}");
    let config = |identity: bool| {
        let acquirer = if identity {
            "ca_file = \"acquirer-ca.pem\"\nclient_identity_file = \"terminal.pem\"\n"
        } else {
            "ca_file = \"acquirer-ca.pem\"\n"
        };
        common::write_store_config(&h, dir.path(), &url, acquirer, "listen = \"127.0.0.1:0\"\n")
    };
    let acquirer = |checks: Vec<posagent::doctor::Check>| {
        let text: Vec<String> = checks.iter().map(ToString::to_string).collect();
        checks.into_iter().find(|c| c.name == "acquirer").unwrap_or_else(|| panic!("no acquirer check: {text:#?}"))
    };
    let ok = acquirer(posagent::doctor::run(&config(true)).await);
    assert_eq!(ok.level, posagent::doctor::Level::Ok, "{ok}");
    let refused = acquirer(posagent::doctor::run(&config(false)).await);
    assert_eq!(refused.level, posagent::doctor::Level::Fail, "{refused}");
    // doctor reads the server's alert whatever the race of the HTTP client.
    let told = refused.to_string();
    assert!(told.contains("CertificateRequired") && told.contains("acquirer.client_identity_file"), "{told}");
}
