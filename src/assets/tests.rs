//! Fetch and cache of the badge against a local server that counts its requests.

use super::*;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicUsize, Ordering};

const SVG: &str = include_str!("../../simulator/assets/klarna-badge.svg");

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    conditional: AtomicUsize,
    not_modified: AtomicUsize,
}

/// Serves `body` at `/badge.svg` with ETag `"v1"`; a broken SVG at `/broken.svg`.
async fn server(body: &'static str) -> Result<(String, Arc<Counts>), std::io::Error> {
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let badge = move |headers: HeaderMap| {
        let c = c.clone();
        async move {
            c.requests.fetch_add(1, Ordering::SeqCst);
            if let Some(v) = headers.get(header::IF_NONE_MATCH) {
                c.conditional.fetch_add(1, Ordering::SeqCst);
                if v == "\"v1\"" {
                    c.not_modified.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::NOT_MODIFIED.into_response();
                }
            }
            let r: Response =
                ([(header::ETAG, "\"v1\""), (header::CONTENT_TYPE, "image/svg+xml")], body).into_response();
            r
        }
    };
    let app = axum::Router::new()
        .route("/badge.svg", axum::routing::get(badge))
        .route("/broken.svg", axum::routing::get(|| async { "<svg xmlns='http://www.w3.org/2000/svg'><rect" }))
        .route("/huge.svg", axum::routing::get(|| async { " ".repeat(MAX_BADGE_BYTES + 1) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}"), counts))
}

fn client() -> Result<reqwest::Client, crate::backend::BackendError> {
    crate::backend::http_client("http://127.0.0.1", FETCH_TIMEOUT, None, None)
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn a_second_start_revalidates_with_if_none_match_and_keeps_the_cached_file() -> TestResult {
    let (base, counts) = server(SVG).await?;
    let dir = tempfile::tempdir()?;
    let url = format!("{base}/badge.svg");
    let first = Badges::new(client()?, dir.path().join("assets"));
    assert!(first.get(&url).is_none());
    assert_eq!(first.refresh(&url).await?, Fetched::New);
    let badge = first.get(&url).ok_or("no badge after the fetch")?;
    assert_eq!((counts.requests.load(Ordering::SeqCst), counts.conditional.load(Ordering::SeqCst)), (1, 0));

    // The next start reads the file from disk and asks with its ETag: 304, file kept.
    let second = Badges::new(client()?, dir.path().join("assets"));
    let changed = second.subscribe();
    assert_eq!(second.refresh(&url).await?, Fetched::NotModified);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 2);
    assert_eq!(counts.not_modified.load(Ordering::SeqCst), 1, "If-None-Match sent and answered 304");
    assert_eq!(second.get(&url), Some(badge));
    assert!(changed.has_changed()?, "the badge from disk is announced");

    // `want` fetches in the background once, then not again within the day.
    let third = Badges::new(client()?, dir.path().join("assets"));
    let mut rx = third.subscribe();
    third.want(&url);
    tokio::time::timeout(Duration::from_secs(5), rx.changed()).await??;
    for _ in 0..50 {
        if !third.entries().get(&url).is_some_and(|e| e.fetching) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    third.want(&url);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(counts.requests.load(Ordering::SeqCst), 3, "one fetch per start and day");
    Ok(())
}

#[tokio::test]
async fn a_broken_svg_degrades_to_the_header_and_a_corrupt_cache_file_is_ignored() -> TestResult {
    let (base, counts) = server(SVG).await?;
    let dir = tempfile::tempdir()?;
    let badges = Badges::new(client()?, dir.path().to_path_buf());
    let broken = format!("{base}/broken.svg");
    assert!(matches!(badges.refresh(&broken).await, Err(AssetError::Decode(_))));
    assert!(badges.get(&broken).is_none(), "no badge: the screens show Klarna's header");
    let idle = |badge| crate::screens::Screen::Idle {
        store_name: "Shop".into(),
        klarna_acceptance: Some("Pay with Klarna".into()),
        badge,
        locale: "en-US".into(),
    };
    let with_header = crate::screens::render(&idle(None), 320, 240);
    assert_eq!(crate::screens::render(&idle(badges.get(&broken)), 320, 240), with_header);

    // A cache file that does not decode is ignored: fetched again without If-None-Match.
    let url = format!("{base}/badge.svg");
    let (body, etag) = badges.paths(&url);
    std::fs::write(body, b"garbage")?;
    std::fs::write(etag, b"\"v1\"")?;
    assert_eq!(badges.refresh(&url).await?, Fetched::New);
    assert_eq!(counts.conditional.load(Ordering::SeqCst), 0);
    assert!(badges.get(&url).is_some());
    assert_ne!(crate::screens::render(&idle(badges.get(&url)), 320, 240), with_header, "the badge is drawn");
    Ok(())
}

#[tokio::test]
async fn only_https_or_loopback_and_at_most_the_size_limit() -> TestResult {
    let (base, _) = server(SVG).await?;
    let badges = Badges::new(client()?, tempfile::tempdir()?.path().to_path_buf());
    for url in ["http://badge.example/k.svg", "file:///etc/passwd", "ftp://127.0.0.1/k.svg", "not a url"] {
        assert!(matches!(badges.refresh(url).await, Err(AssetError::Refused(_))), "{url}");
    }
    assert!(matches!(badges.refresh(&format!("{base}/huge.svg")).await, Err(AssetError::TooLarge)));
    assert!(matches!(badges.refresh(&format!("{base}/missing.svg")).await, Err(AssetError::Status(404))));
    assert!(matches!(Badges::disabled().refresh(&format!("{base}/badge.svg")).await, Err(AssetError::Refused(_))));
    Ok(())
}
