//! The ECR listener holds against hostile traffic on the same machine: a thousand silent
//! sockets, a client dribbling its header, a flood of requests without the token, a
//! web page reaching the API by another host name. The register keeps its answers and
//! its event stream, and every refusal is the documented error envelope.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn addr(h: &Harness) -> String {
    h.url.trim_start_matches("http://").to_string()
}

/// A raw HTTP/1.1 exchange on a new connection: the status line's code and the body.
async fn raw(h: &Harness, request: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr(h)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = vec![];
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_silent_sockets_keep_neither_the_register_nor_its_event_stream_out() {
    use futures_util::StreamExt;
    let h = Harness::start().await;
    // The register follows its sales on the event stream before the flood starts.
    let stream = h.events().await;
    assert_eq!(stream.status(), 200);
    let mut events = stream.bytes_stream();
    // 1,000 sockets that never send a byte, and some that asked once and stay open.
    let mut silent = vec![];
    for i in 0..1000 {
        let mut s = tokio::net::TcpStream::connect(addr(&h)).await.unwrap();
        if i % 10 == 0 {
            s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        }
        silent.push(s);
    }
    // A register on new connections still gets every answer at once (not after the
    // silent sockets' first-byte timeout).
    for _ in 0..20 {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let started = Instant::now();
        let r = client.get(format!("{}/v1/queue/summary", h.url)).bearer_auth(&h.token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(3), "the register waited {:?}", started.elapsed());
    }
    // The event stream opened before the flood still delivers.
    let sale = h.create(json!({"amount": 1234, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while let Some(Ok(chunk)) = events.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains(&id) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "the register's event stream was cut by the flood");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_dribbled_byte_by_byte_is_cut_off() {
    let h = Harness::start().await;
    let mut s = tokio::net::TcpStream::connect(addr(&h)).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let started = Instant::now();
    // One more header byte every 500 ms: each resets an idle timer, none ends the header.
    // The daemon closes the connection (a write fails, or a read sees its end or an answer).
    let mut buf = [0u8; 256];
    loop {
        assert!(started.elapsed() < Duration::from_secs(20), "the dribbling client still holds its connection");
        if s.write_all(b"X").await.is_err() {
            break;
        }
        if tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await.is_ok() {
            break;
        }
    }
    let waited = started.elapsed();
    assert!(waited >= posagent::ecr::HEADER_READ_TIMEOUT - Duration::from_secs(1), "cut too early: {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_without_the_token_never_rate_limits_the_register() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.ecr.max_unauthenticated_per_sec = 5).await;
    let stop = tokio_util::sync::CancellationToken::new();
    // The simulator stops with the test (the tests share one process).
    let _stop_guard = stop.clone().drop_guard();
    let mut flooders = vec![];
    for path in ["/metrics", "/v1/sales/guess", "/console/info", "/no-such-page"] {
        let (url, stop) = (format!("{}{path}", h.url), stop.clone());
        flooders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut limited = 0usize;
            while !stop.is_cancelled() {
                if let Ok(r) = client.get(&url).bearer_auth("guessing").send().await {
                    limited += usize::from(r.status() == 429);
                }
            }
            limited
        }));
    }
    let mut statuses = vec![];
    for _ in 0..60 {
        let (status, _) = h.get("/v1/queue/summary").await;
        statuses.push(status);
        let health = h.http.get(format!("{}/health", h.url)).send().await.unwrap().status().as_u16();
        statuses.push(health);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let mut limited = 0;
    for f in flooders {
        limited += f.await.unwrap();
    }
    assert!(statuses.iter().all(|&s| s == 200), "the register or /health was refused: {statuses:?}");
    assert!(limited > 100, "the flood itself was limited per peer ({limited} answers 429)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_this_terminals_host_names_are_answered() {
    let mut h = Harness::start().await;
    let (code, _, body) =
        raw(&h, "GET /health HTTP/1.1\r\nHost: attacker.example:7600\r\nConnection: close\r\n\r\n").await;
    assert_eq!(code, 421, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "HOST_NOT_ALLOWED", "{v}");
    for host in ["localhost:7600", "127.0.0.1", "[::1]:7600"] {
        let (code, _, body) =
            raw(&h, &format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(code, 200, "{host}: {body}");
    }
    // A configured name is answered.
    h.stop_daemon().await;
    h.start_daemon_with(|c| c.ecr.allowed_hosts = vec!["till-3.shop.example".into()]).await;
    let (code, _, body) =
        raw(&h, "GET /health HTTP/1.1\r\nHost: TILL-3.shop.example:7600\r\nConnection: close\r\n\r\n").await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_the_error_envelope_with_its_headers() {
    let h = Harness::start().await;
    let envelope =
        |body: &str| -> Value { serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}")) };
    // 405 names the methods the endpoint takes.
    let delete = format!(
        "DELETE /v1/sales HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        h.token
    );
    let (code, head, body) = raw(&h, &delete).await;
    assert_eq!(code, 405);
    assert!(head.contains("allow: post"), "{head}");
    assert_eq!(envelope(&body)["code"], "METHOD_NOT_ALLOWED");
    // 413 for a body over the limit.
    let big = "x".repeat(2 * 1024 * 1024);
    let r = h.http.post(format!("{}/v1/sales", h.url)).bearer_auth(&h.token).body(big).send().await.unwrap();
    assert_eq!(r.headers()["connection"], "close", "the unread body's connection is not kept");
    let (status, v) = common::contract::read_checked(common::contract::ecr(), "POST", "/v1/sales", r).await;
    assert_eq!((status, v["code"].as_str()), (413, Some("BODY_TOO_LARGE")));
    // 401 says how to authenticate.
    let r = h.http.get(format!("{}/v1/queue", h.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"posagent\"");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // A key too long for the register's retries to be safe is refused, not ignored.
    let sale = h.create(json!({"amount": 1000, "currency": "SEK", "method": "CARD", "capture": "LATER"})).await;
    let url = format!("{}/v1/sales/{}/void", h.url, sale["id"].as_str().unwrap());
    let r = h.http.post(url).bearer_auth(&h.token).header("Idempotency-Key", "k".repeat(256)).send().await.unwrap();
    let path = format!("/v1/sales/{}/void", sale["id"].as_str().unwrap());
    let (status, v) = common::contract::read_checked(common::contract::ecr(), "POST", &path, r).await;
    assert_eq!((status, v["field"].as_str()), (400, Some("Idempotency-Key")));
    // GET /v1/klarna checks its token and locale before asking the acquirer.
    let (status, v) = h.get(&format!("/v1/klarna?amount=100&interoperability_token={}", "t".repeat(8193))).await;
    assert_eq!((status, v["field"].as_str()), (422, Some("interoperability_token")), "{v}");
    let (status, v) = h.get("/v1/klarna?amount=100&locale=AAA").await;
    assert_eq!((status, v["field"].as_str()), (422, Some("locale")), "{v}");
    // Query values outside what the document allows are refused, never read as a default.
    for (path, status) in [
        ("/v1/reports/x?print=junk", 400),
        ("/v1/reports/reconciliation?date=null&date=null", 400),
        ("/v1/queue?limit=10001", 422),
        ("/v1/queue?limit=0", 422),
    ] {
        let (got, v) = h.get(path).await;
        assert_eq!(got, status, "{path}: {v}");
        assert!(v["code"].is_string(), "{path}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_runs_only_its_own_script_and_cannot_be_framed() {
    let h = Harness::start().await;
    let r = h.http.get(format!("{}/console", h.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    let page = r.text().await.unwrap();
    common::contract::ecr().check("GET", "/console", 200, Some(&content_type), page.as_bytes());
    assert!(csp.starts_with("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !page.contains("onclick="), "{csp}");
    // Only the console's own files run: no inline script, style or handler in the page.
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"), "{csp}");
    assert!(csp.contains("form-action 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    assert!(page.contains(r#"<script src="/console/app.js" defer></script>"#), "{page}");
    assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains(" style="), "{page}");
    let js = h.http.get(format!("{}/console/app.js", h.url)).send().await.unwrap();
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(js.headers()["content-security-policy"].to_str().unwrap(), csp);
    let script = js.text().await.unwrap();
    assert!(!script.contains("innerHTML") && !script.contains("eval("), "the console builds its DOM from text nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_beyond_loopback_is_refused_unless_the_config_allows_it() {
    let mut h = Harness::start().await;
    h.stop_daemon().await;
    let error = h.start_error(|c| c.ecr.listen = "0.0.0.0:0".parse().unwrap()).await;
    assert!(error.contains("ecr.allow_plain_http") && error.contains("ecr.listen"), "{error}");
    h.start_daemon_with(|c| {
        c.ecr.listen = "0.0.0.0:0".parse().unwrap();
        c.ecr.allow_plain_http = true;
    })
    .await;
    let (status, _) = h.get("/v1/queue/summary").await;
    assert_eq!(status, 200);
}
