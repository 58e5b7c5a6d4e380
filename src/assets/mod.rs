//! Klarna's badge fetched from the URL the acquirer gives in its payment descriptors
//! (`badge_url`), in the background and never on a sale's path: screens ask for the
//! badge in memory ([`Badges::get`], no I/O) and show Klarna's header text until it is
//! there. The file is kept in `data_dir/assets/` under a hash of its URL with its ETag
//! beside it, read at start and revalidated (`If-None-Match`) at start and at most once
//! a day after; a cache file that does not decode is ignored. Only `https` URLs are
//! fetched, or `http` to this machine (as the acquirer's client allows), with the
//! acquirer's TLS settings, a timeout and a size limit.
//!
//! Sits beside `backend/` (it borrows its HTTP client settings) and under `checkout/`,
//! which asks for badges when descriptors arrive; it knows `screens::Badge` only.

#[cfg(test)]
mod tests;

use crate::screens::{Badge, BadgeError, MAX_BADGE_BYTES};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a fetched badge is used before it is revalidated.
pub const REVALIDATE: Duration = Duration::from_secs(24 * 3600);
/// After a failed fetch, how soon it is tried again.
const RETRY: Duration = Duration::from_secs(600);
/// Badge URLs kept in memory (one per locale the acquirer serves is usual).
const URLS_KEPT: usize = 32;
/// Timeout of one fetch, body included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a badge could not be fetched or kept.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// Not `https`, nor `http` to this machine.
    #[error("badge URL {0} refused: only https, or http to this machine")]
    Refused(String),
    /// No answer, or the body broke off.
    #[error("cannot fetch the badge: {0}")]
    Http(#[from] reqwest::Error),
    /// An answer other than 200 or 304.
    #[error("the badge's server answered {0}")]
    Status(u16),
    /// Larger than the limit.
    #[error("the badge is larger than {MAX_BADGE_BYTES} bytes")]
    TooLarge,
    /// The file does not decode.
    #[error(transparent)]
    Decode(#[from] BadgeError),
    /// The decoding task stopped (the runtime is going down).
    #[error("the badge decoder stopped")]
    Decoder,
    /// The cache could not be written.
    #[error("cannot write the badge cache: {0}")]
    Disk(#[from] std::io::Error),
}

/// What a fetch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// A new file (200), decoded and cached.
    New,
    /// The cached file is current (304).
    NotModified,
}

#[derive(Default)]
struct Entry {
    badge: Option<Badge>,
    etag: Option<String>,
    /// When to ask the server again (`None`: never asked since start).
    next: Option<Instant>,
    fetching: bool,
    loaded_from_disk: bool,
}

struct Shared {
    http: Option<reqwest::Client>,
    dir: PathBuf,
    entries: Mutex<HashMap<String, Entry>>,
    changed: tokio::sync::watch::Sender<u64>,
}

/// The badges known, by URL (cheap to clone).
#[derive(Clone)]
pub struct Badges(Arc<Shared>);

impl Badges {
    /// Badges fetched with `http` and cached in `dir`.
    pub fn new(http: reqwest::Client, dir: PathBuf) -> Self {
        Self::with(Some(http), dir)
    }

    /// No badges: screens show Klarna's header text.
    pub fn disabled() -> Self {
        Self::with(None, PathBuf::new())
    }

    fn with(http: Option<reqwest::Client>, dir: PathBuf) -> Self {
        let changed = tokio::sync::watch::Sender::new(0);
        Badges(Arc::new(Shared { http, dir, entries: Mutex::new(HashMap::new()), changed }))
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The badge of `url` if it is in memory (no I/O).
    pub fn get(&self, url: &str) -> Option<Badge> {
        self.entries().get(url).and_then(|e| e.badge.clone())
    }

    /// Counts up each time a badge arrives or changes.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.changed.subscribe()
    }

    /// Asks for the badge of `url` in the background if it is not current (not asked
    /// since start, or a day old); returns at once.
    pub fn want(&self, url: &str) {
        if self.0.http.is_none() || url.trim().is_empty() {
            return;
        }
        {
            let mut entries = self.entries();
            if entries.len() >= URLS_KEPT && !entries.contains_key(url) {
                // An acquirer changing its URLs without end does not grow the memory.
                entries.retain(|_, e| e.fetching);
            }
            let e = entries.entry(url.to_string()).or_default();
            if e.fetching || e.next.is_some_and(|n| Instant::now() < n) {
                return;
            }
            e.fetching = true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.entries().entry(url.to_string()).or_default().fetching = false;
            return;
        };
        let (this, url) = (self.clone(), url.to_string());
        runtime.spawn(async move {
            let r = this.refresh(&url).await;
            let mut entries = this.entries();
            let e = entries.entry(url.clone()).or_default();
            e.fetching = false;
            match r {
                Ok(f) => {
                    tracing::debug!(url = %url, fetched = ?f, "Klarna badge current");
                    e.next = Some(Instant::now() + REVALIDATE);
                }
                Err(err) => {
                    tracing::warn!(url = %url, error = %err, "Klarna badge not fetched; the screens show Klarna's header");
                    e.next = Some(Instant::now() + RETRY);
                }
            }
        });
    }

    /// Where the file of `url` and its ETag are cached.
    fn paths(&self, url: &str) -> (PathBuf, PathBuf) {
        let hash: String = Sha256::digest(url.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        (self.0.dir.join(format!("badge-{hash}")), self.0.dir.join(format!("badge-{hash}.etag")))
    }

    fn set(&self, url: &str, badge: Badge, etag: Option<String>) {
        let mut entries = self.entries();
        let e = entries.entry(url.to_string()).or_default();
        let changed = e.badge.as_ref() != Some(&badge);
        e.badge = Some(badge);
        e.etag = etag;
        drop(entries);
        if changed {
            self.0.changed.send_modify(|n| *n += 1);
        }
    }

    /// Reads the cached file of `url` once (a file that does not decode is ignored).
    async fn load_cached(&self, url: &str) {
        {
            let mut entries = self.entries();
            let e = entries.entry(url.to_string()).or_default();
            if e.loaded_from_disk {
                return;
            }
            e.loaded_from_disk = true;
        }
        let (body, etag) = self.paths(url);
        let Ok(bytes) = tokio::fs::read(&body).await else { return };
        let etag = tokio::fs::read_to_string(&etag).await.ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        match decode(bytes).await {
            Ok((badge, _)) => self.set(url, badge, etag),
            Err(e) => tracing::warn!(url, error = %e, "cached Klarna badge ignored"),
        }
    }

    /// Fetches the badge of `url` now: the cached file first, then the server, asked
    /// with the cached ETag (`If-None-Match`).
    pub async fn refresh(&self, url: &str) -> Result<Fetched, AssetError> {
        let http = self.0.http.clone().ok_or_else(|| AssetError::Refused(url.to_string()))?;
        let parsed = reqwest::Url::parse(url).map_err(|_| AssetError::Refused(url.to_string()))?;
        if !allowed(&parsed) {
            return Err(AssetError::Refused(url.to_string()));
        }
        self.load_cached(url).await;
        let etag = self.entries().get(url).filter(|e| e.badge.is_some()).and_then(|e| e.etag.clone());
        let mut req = http.get(parsed).timeout(FETCH_TIMEOUT);
        if let Some(t) = &etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, t);
        }
        let mut resp = req.send().await?;
        match resp.status().as_u16() {
            304 if etag.is_some() => return Ok(Fetched::NotModified),
            200 => {}
            s => return Err(AssetError::Status(s)),
        }
        if resp.content_length().is_some_and(|n| n > MAX_BADGE_BYTES as u64) {
            return Err(AssetError::TooLarge);
        }
        let new_etag = resp.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if bytes.len() + chunk.len() > MAX_BADGE_BYTES {
                return Err(AssetError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        let (badge, bytes) = decode(bytes).await?;
        self.store(url, &bytes, new_etag.as_deref()).await?;
        self.set(url, badge, new_etag);
        Ok(Fetched::New)
    }

    /// Writes the file and its ETag (each through a temporary file, then renamed).
    async fn store(&self, url: &str, bytes: &[u8], etag: Option<&str>) -> Result<(), AssetError> {
        tokio::fs::create_dir_all(&self.0.dir).await?;
        let (body, etag_path) = self.paths(url);
        let write = |path: PathBuf, data: Vec<u8>| async move {
            let tmp = path.with_extension("tmp");
            tokio::fs::write(&tmp, data).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        // The old ETag goes first and the new one last: an ETag on disk always belongs
        // to the body beside it, whenever the writes stop.
        match tokio::fs::remove_file(&etag_path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        write(body, bytes.to_vec()).await?;
        if let Some(t) = etag {
            write(etag_path, t.as_bytes().to_vec()).await?;
        }
        Ok(())
    }
}

/// Decodes `bytes` on a blocking thread (an SVG is parsed there, not on the runtime's).
async fn decode(bytes: Vec<u8>) -> Result<(Badge, Vec<u8>), AssetError> {
    let (badge, bytes) =
        tokio::task::spawn_blocking(move || (Badge::decode(&bytes), bytes)).await.map_err(|_| AssetError::Decoder)?;
    Ok((badge?, bytes))
}

/// `https`, or `http` to this machine.
fn allowed(url: &reqwest::Url) -> bool {
    let loopback = |h: &str| {
        h.eq_ignore_ascii_case("localhost")
            || h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(loopback),
        _ => false,
    }
}
