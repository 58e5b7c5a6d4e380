//! The TCP side [P16 §2.2]: the register opens a connection (port 20007 by default) and
//! every PT message of a command goes back on it. One register at a time: a new
//! connection while the previous one is idle replaces it; while a command runs the newcomer
//! is told to wait (`84 9C`) and closed. Peers other than loopback and
//! `zvt.allowed_peers` are closed unheard.

use super::PosTerminal;
use super::link::{Conversation, Incoming, T3, Writer, read_tcp};
use posagent_zvt::PtMessage;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Binds every `zvt.listen` address and serves each on the daemon's tasks.
pub async fn listen(pt: &Arc<PosTerminal>) -> Result<Vec<SocketAddr>, super::ZvtError> {
    let current: Arc<Mutex<Option<CancellationToken>>> = Arc::default();
    let mut bound = vec![];
    for addr in pt.deps.config.listen.clone() {
        let listener = TcpListener::bind(addr).await.map_err(|source| super::ZvtError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| super::ZvtError::Bind { addr, source })?;
        tracing::info!(addr = %local, "ZVT: listening for registers");
        bound.push(local);
        let (pt, current) = (pt.clone(), current.clone());
        pt.deps.tasks.clone().spawn(async move { accept(pt, listener, current).await });
    }
    Ok(bound)
}

fn allowed(pt: &PosTerminal, peer: &SocketAddr) -> bool {
    peer.ip().is_loopback() || pt.deps.config.allowed_peers.contains(&peer.ip())
}

async fn accept(pt: Arc<PosTerminal>, listener: TcpListener, current: Arc<Mutex<Option<CancellationToken>>>) {
    loop {
        let (stream, peer) = tokio::select! {
            () = pt.deps.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "ZVT: a connection could not be accepted");
                    continue;
                }
            },
        };
        if !allowed(&pt, &peer) {
            tracing::warn!(%peer, "ZVT: a connection from an address not in zvt.allowed_peers; closed");
            continue;
        }
        let _ = stream.set_nodelay(true);
        // Held while the previous connection is closed: no command starts on it meanwhile.
        let Ok(idle) = pt.busy.try_lock() else {
            pt.deps.tasks.spawn(turn_away(stream));
            continue;
        };
        let stop = pt.deps.shutdown.child_token();
        if let Some(previous) = current.lock().await.replace(stop.clone()) {
            previous.cancel();
        }
        drop(idle);
        tracing::info!(%peer, "ZVT: a register connected");
        let pt2 = pt.clone();
        pt.deps.tasks.spawn(async move {
            let (read, write) = stream.into_split();
            let conv = Conversation::new(read_tcp(read, stop.clone()), Writer::Tcp(write));
            tokio::select! {
                () = stop.cancelled() => {}
                () = super::session::serve(&pt2, conv) => {}
            }
        });
    }
}

/// A second register while a command runs: its first command is answered "please wait".
async fn turn_away(stream: TcpStream) {
    let (read, write) = stream.into_split();
    let stop = CancellationToken::new();
    let mut conv = Conversation::new(read_tcp(read, stop.clone()), Writer::Tcp(write));
    if let Ok(Incoming::Message(_) | Incoming::Malformed(_)) = conv.next(Some(T3)).await {
        let _ = conv.send(&PtMessage::Nack(super::rc::PLEASE_WAIT)).await;
    }
    stop.cancel();
}
