//! Every ECR listener keeps to a budget: at most [`MAX_CONNECTIONS`] connections open at
//! once, a connection that sends nothing within [`FIRST_BYTE_TIMEOUT`] of opening is
//! closed, and one with no byte either way for [`IDLE_TIMEOUT`] too (the event stream's
//! keep-alive comments keep a quiet register's stream open).
//!
//! When every slot is taken, a new connection is not left waiting: the listener closes
//! the connection that has been quiet longest, choosing first among those that never
//! carried an authenticated request, then among authenticated ones that are idle between
//! requests — never an authenticated one in the middle of a request. Silent sockets or a
//! flood from a web page therefore cannot keep the register out.

use futures_util::task::AtomicWaker;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Connections open at once, per listener (the unit's LimitNOFILE leaves room).
pub const MAX_CONNECTIONS: usize = 512;
/// A new connection must send its first byte within this.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection with no traffic either way for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the listener knows of one open connection, shared with the connection itself
/// and (through the request's extensions) with the API's token check.
#[derive(Debug)]
pub struct ConnectionState {
    id: u64,
    /// The listener's clock: every time below is milliseconds after it, so connections
    /// compare on one time line.
    epoch: Instant,
    opened_ms: u64,
    /// When the last byte was read, and written (0: none yet).
    last_read_ms: AtomicU64,
    last_write_ms: AtomicU64,
    authenticated: AtomicBool,
    evicted: AtomicBool,
    waker: AtomicWaker,
}

impl ConnectionState {
    /// Marks the connection as one that carried a request with the register's token.
    pub fn mark_authenticated(&self) {
        self.authenticated.store(true, Ordering::Relaxed);
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// Eviction rank: lower goes first; `None` for a connection never to be evicted.
    fn eviction_rank(&self) -> Option<(u8, u64)> {
        let read = self.last_read_ms.load(Ordering::Relaxed);
        let write = self.last_write_ms.load(Ordering::Relaxed);
        let last = read.max(write).max(self.opened_ms);
        if !self.authenticated.load(Ordering::Relaxed) {
            Some((0, last))
        } else if write >= read {
            Some((1, last))
        } else {
            None
        }
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        self.waker.wake();
    }
}

/// The open connections of one listener.
#[derive(Debug)]
struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnectionState>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { epoch: Instant::now(), next_id: AtomicU64::new(0), open: Mutex::default() }
    }
}

impl Registry {
    fn add(self: &Arc<Self>) -> Arc<ConnectionState> {
        let state = Arc::new(ConnectionState {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            epoch: self.epoch,
            opened_ms: u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX),
            last_read_ms: AtomicU64::new(0),
            last_write_ms: AtomicU64::new(0),
            authenticated: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        self.open.lock().unwrap_or_else(|p| p.into_inner()).insert(state.id, state.clone());
        state
    }

    fn remove(&self, id: u64) {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// Closes the connection quiet longest among those that may be evicted; false when
    /// none may (every one is an authenticated request in progress).
    fn evict_one(&self) -> bool {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let victim = open
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .filter_map(|c| c.eviction_rank().map(|rank| (rank, c)))
            .min_by_key(|(rank, _)| *rank);
        match victim {
            Some((_, c)) => {
                c.evict();
                true
            }
            None => false,
        }
    }
}

/// A listener whose connections keep to the budget.
pub struct Guarded<L> {
    inner: L,
    slots: Arc<Semaphore>,
    registry: Arc<Registry>,
}

impl<L> Guarded<L> {
    /// Guards `inner`.
    pub fn new(inner: L) -> Self {
        Self::with_capacity(inner, MAX_CONNECTIONS)
    }

    /// Guards `inner` with room for `capacity` connections.
    pub fn with_capacity(inner: L, capacity: usize) -> Self {
        Guarded { inner, slots: Arc::new(Semaphore::new(capacity.max(1))), registry: Arc::default() }
    }
}

impl<L> Guarded<L>
where
    L: axum::serve::Listener,
    L::Io: Unpin,
{
    /// The next connection, with its state for the request extensions.
    pub async fn accept(&mut self) -> (Timed<L::Io>, L::Addr) {
        let (io, addr) = self.inner.accept().await;
        let slot = self.slot().await;
        (Timed::new(io, slot, self.registry.clone()), addr)
    }

    /// A free slot, evicting the quietest evictable connection when all are taken.
    async fn slot(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(p) = self.slots.clone().try_acquire_owned() {
                return p;
            }
            if !self.registry.evict_one() {
                // Every slot is an authenticated request in progress: wait for one.
                if let Ok(p) = self.slots.clone().acquire_owned().await {
                    return p;
                }
                // The semaphore is never closed; if it were, accept would stop here.
                return std::future::pending().await;
            }
            // The evicted connection frees its slot once its task sees the flag.
            match tokio::time::timeout(Duration::from_millis(100), self.slots.clone().acquire_owned()).await {
                Ok(Ok(p)) => return p,
                Ok(Err(_)) => return std::future::pending().await,
                Err(_) => continue,
            }
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<L::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that ends when it is silent too long or evicted; it holds its slot
/// until dropped.
pub struct Timed<T> {
    io: T,
    deadline: Pin<Box<Sleep>>,
    state: Arc<ConnectionState>,
    registry: Arc<Registry>,
    _slot: OwnedSemaphorePermit,
}

impl<T> Timed<T> {
    fn new(io: T, slot: OwnedSemaphorePermit, registry: Arc<Registry>) -> Self {
        let state = registry.add();
        Timed { io, deadline: Box::pin(tokio::time::sleep(FIRST_BYTE_TIMEOUT)), state, registry, _slot: slot }
    }

    /// The connection's shared state (for the request extensions).
    pub fn state(&self) -> Arc<ConnectionState> {
        self.state.clone()
    }

    fn touched(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
    }

    fn evicted(&self, cx: &Context<'_>) -> bool {
        self.state.waker.register(cx.waker());
        self.state.evicted.load(Ordering::Relaxed)
    }
}

impl<T> Drop for Timed<T> {
    fn drop(&mut self) {
        self.registry.remove(self.state.id);
    }
}

fn closed(why: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, why)
}

impl<T: AsyncRead + Unpin> AsyncRead for Timed<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.evicted(cx) {
            return Poll::Ready(Err(closed("ECR connection closed to make room for another")));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let now = self.state.now_ms();
                    self.state.last_read_ms.store(now, Ordering::Relaxed);
                    self.touched();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(closed("ECR connection silent too long")))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Timed<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.evicted(cx) {
            return Poll::Ready(Err(closed("ECR connection closed to make room for another")));
        }
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.state.now_ms();
            self.state.last_write_ms.store(now, Ordering::Relaxed);
            self.touched();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(registry: &Arc<Registry>, read: u64, write: u64, authenticated: bool) -> Arc<ConnectionState> {
        let s = registry.add();
        s.last_read_ms.store(read, Ordering::Relaxed);
        s.last_write_ms.store(write, Ordering::Relaxed);
        s.authenticated.store(authenticated, Ordering::Relaxed);
        s
    }

    #[tokio::test]
    async fn the_oldest_silent_connection_goes_before_a_newer_one() {
        let registry = Arc::new(Registry::default());
        let old = registry.add();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let new = registry.add();
        assert!(registry.evict_one());
        assert!(old.evicted.load(Ordering::Relaxed) && !new.evicted.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn evicts_unauthenticated_first_then_idle_registers_never_busy_ones() {
        let registry = Arc::new(Registry::default());
        let busy_register = state(&registry, 50, 10, true);
        let idle_register = state(&registry, 10, 20, true);
        let old_silent = state(&registry, 0, 0, false);
        let recent_guest = state(&registry, 300, 310, false);
        assert!(registry.evict_one());
        assert!(old_silent.evicted.load(Ordering::Relaxed));
        assert!(registry.evict_one());
        assert!(recent_guest.evicted.load(Ordering::Relaxed));
        assert!(registry.evict_one());
        assert!(idle_register.evicted.load(Ordering::Relaxed));
        assert!(!registry.evict_one(), "a register's request in progress is never cut");
        assert!(!busy_register.evicted.load(Ordering::Relaxed));
    }
}
