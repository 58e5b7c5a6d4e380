//! The ECR API over HTTPS (`ecr.tls_cert_file`, `ecr.tls_key_file`), for a register on
//! another machine: a register trusting the certificate sells; plain HTTP and a client
//! that does not trust the certificate get nowhere; the CLI and doctor on the terminal
//! reach the API through the same certificate; a broken key stops the start.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use rcgen::{CertificateParams, KeyPair};
use serde_json::{Value, json};
use std::path::Path;

/// A self-signed certificate for `localhost`, as store IT might make one; written to
/// `dir` as `ecr.crt` and `ecr.key`.
fn certificate(dir: &Path) -> String {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(dir.join("ecr.crt"), cert.pem()).unwrap();
    common::write_secret(&dir.join("ecr.key"), key.serialize_pem());
    cert.pem()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecr_api_is_served_over_https_to_registers_that_trust_its_certificate() {
    let mut h = Harness::start().await;
    let tls = h.dir.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let pem = certificate(&tls);
    h.stop_daemon().await;
    h.start_daemon_with(|c| {
        c.ecr.tls_cert_file = Some(tls.join("ecr.crt"));
        c.ecr.tls_key_file = Some(tls.join("ecr.key"));
    })
    .await;
    assert!(h.url.starts_with("https://localhost:"), "{}", h.url);

    // A register that trusts the certificate sells.
    let register = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = register
        .post(format!("{}/v1/sales", h.url))
        .bearer_auth(&h.token)
        .json(&json!({"amount": 4990, "currency": "SEK", "reference": "TLS-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let sale_url = format!("{}/v1/sales/{id}", h.url);
    let mut state = String::new();
    for _ in 0..200 {
        let v: Value = register.get(&sale_url).bearer_auth(&h.token).send().await.unwrap().json().await.unwrap();
        state = v["state"].as_str().unwrap_or_default().to_string();
        if state == "QR_SHOWN" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(state, "QR_SHOWN");
    h.customer("approve").await;

    // The cashier console over the same listener: its session cookie is `Secure`.
    let cashier = json!({"name": "Anna", "role": "CASHIER", "pin": "4071"});
    let put = register.put(format!("{}/v1/cashiers/7", h.url)).bearer_auth(&h.token).json(&cashier);
    assert_eq!(put.send().await.unwrap().status(), 201);
    let signed = register.post(format!("{}/console/session", h.url)).json(&json!({"cashier": "7", "pin": "4071"}));
    let signed = signed.send().await.unwrap();
    assert_eq!(signed.status(), 200);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // Clients that connect and say nothing hold up no one.
    let port = h.url.rsplit(':').next().unwrap().to_string();
    let mut silent = vec![];
    for _ in 0..5 {
        silent.push(tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap());
    }
    let health =
        tokio::time::timeout(std::time::Duration::from_secs(3), register.get(format!("{}/health", h.url)).send())
            .await
            .expect("answered while silent clients wait")
            .unwrap();
    assert!(health.status().is_success());
    drop(silent);

    // Plain HTTP to the same port, and a client that does not trust the certificate,
    // get no answer.
    let plain = h.url.replace("https://", "http://");
    let r = reqwest::Client::new().get(format!("{plain}/health")).send().await;
    assert!(r.is_err() || !r.unwrap().status().is_success(), "plain HTTP answered");
    let untrusting = reqwest::Client::new().get(format!("{}/health", h.url)).send().await;
    assert!(untrusting.is_err(), "a client that does not trust the certificate got through");

    // The CLI on the terminal goes through HTTPS with the config alone.
    let listen = h.url.trim_start_matches("https://localhost:");
    let ecr =
        format!("listen = \"127.0.0.1:{listen}\"\ntls_cert_file = \"tls/ecr.crt\"\ntls_key_file = \"tls/ecr.key\"\n");
    let config = common::write_store_config(&h, h.dir.path(), &h.sim.backend_url, "", &ecr);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let shown = loop {
        let out = tokio::task::spawn_blocking({
            let config = config.clone();
            move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_posagent"))
                    .args(["sale", "show", "TLS-1", "--config"])
                    .arg(&config)
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        if text.contains("state APPROVED") || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(shown.contains("state APPROVED"), "{shown}");

    // Doctor checks the certificate and key, and reaches the daemon's /health through them.
    let checks = posagent::doctor::run(&config).await;
    let text: Vec<String> = checks.iter().map(ToString::to_string).collect();
    let tls_check = checks.iter().find(|c| c.name == "ECR TLS key").unwrap_or_else(|| panic!("{text:#?}"));
    assert_ne!(tls_check.level, posagent::doctor::Level::Fail, "{tls_check}");
    assert!(
        checks.iter().any(|c| c.name == "device printer" && c.level == posagent::doctor::Level::Ok),
        "the daemon's /health over HTTPS: {text:#?}"
    );

    // A key that does not go with the certificate stops the start, naming the files.
    h.stop_daemon().await;
    let other = KeyPair::generate().unwrap();
    common::write_secret(&tls.join("ecr.key"), other.serialize_pem());
    let with_tls = |c: &mut posagent::config::StoreConfig| {
        c.ecr.tls_cert_file = Some(tls.join("ecr.crt"));
        c.ecr.tls_key_file = Some(tls.join("ecr.key"));
    };
    let err = h.start_error(with_tls).await;
    assert!(err.to_string().contains("ecr.crt") && err.to_string().contains("does not go with"), "{err}");

    // A key other users can read is refused too, with the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tls.join("ecr.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = h.start_error(with_tls).await;
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
