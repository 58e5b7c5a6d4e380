//! Serves the ECR router over a guarded listener with hyper's HTTP/1 server: a request's
//! header must arrive within [`HEADER_READ_TIMEOUT`] (a client dribbling bytes cannot
//! hold a connection), every request carries its peer address and its connection's
//! state, and a stop lets the requests in progress finish.

use super::guard::{ConnectionState, Guarded};
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// From the first byte of a request's header (or the end of the previous answer on a
/// kept-alive connection) to its last.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection a request came on, for the token check to mark it authenticated.
#[derive(Clone, Debug)]
pub struct Connection(pub Arc<ConnectionState>);

/// Serves `app` on `listener` until `stop`, then waits for the requests in progress; the
/// server and each connection run on tasks of `tasks`.
pub fn serve<L>(mut listener: Guarded<L>, app: Router, stop: CancellationToken, tasks: &TaskTracker) -> JoinHandle<()>
where
    L: axum::serve::Listener<Addr = SocketAddr> + Sync,
    L::Io: Unpin,
{
    let each = tasks.clone();
    tasks.spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
        loop {
            let (io, peer) = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let connection = Connection(io.state());
            let app = app.clone();
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(connection.clone());
                let mut app = app.clone();
                async move { tower_service::Service::call(&mut app, request).await }
            });
            let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
            each.spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "ECR connection ended");
                }
            });
        }
        drop(listener);
        graceful.shutdown().await;
    })
}
