//! Every ECR listener keeps to a budget: at most [`MAX_CONNECTIONS`] connections open at
//! once (the next waits in the kernel's backlog instead of taking a file descriptor), a
//! connection that sends nothing within [`FIRST_BYTE_TIMEOUT`] of opening is closed, and
//! one with no byte either way for [`IDLE_TIMEOUT`] too (the event stream's keep-alive
//! comments keep a quiet register's stream open). Silent sockets cannot hold the API.

use std::pin::Pin;
use std::sync::Arc;
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

/// A listener whose connections keep to the budget.
pub struct Guarded<L> {
    inner: L,
    slots: Arc<Semaphore>,
}

impl<L> Guarded<L> {
    /// Guards `inner`.
    pub fn new(inner: L) -> Self {
        Guarded { inner, slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)) }
    }
}

impl<L> axum::serve::Listener for Guarded<L>
where
    L: axum::serve::Listener,
    L::Io: Unpin,
{
    type Io = Timed<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = match self.slots.clone().acquire_owned().await {
            Ok(p) => p,
            // The semaphore is never closed; if it were, accept would stop here.
            Err(_) => std::future::pending().await,
        };
        let (io, addr) = self.inner.accept().await;
        (Timed::new(io, permit), addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that ends when it is silent too long; it holds its slot until dropped.
pub struct Timed<T> {
    io: T,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl<T> Timed<T> {
    fn new(io: T, slot: OwnedSemaphorePermit) -> Self {
        Timed { io, deadline: Box::pin(tokio::time::sleep(FIRST_BYTE_TIMEOUT)), _slot: slot }
    }

    fn touched(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Timed<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.touched();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "ECR connection silent too long")))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Timed<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
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
