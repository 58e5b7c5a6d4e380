//! Simulated devices reached over real transports: an ESC/POS printer and a graphic
//! customer display on TCP sockets, so the daemon runs its real drivers against them.

pub mod card_reader;
pub mod display;
pub mod escpos_decoder;
pub mod printer;
pub mod receipt_image;

use std::future::Future;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Whether a simulated device's cable is in. Unplugging drops its connections and
/// refuses new ones until it is plugged back.
pub struct Plug {
    state: watch::Sender<bool>,
}

impl Default for Plug {
    fn default() -> Self {
        Plug { state: watch::channel(true).0 }
    }
}

impl Plug {
    /// Plugs (true) or unplugs (false).
    pub fn set(&self, plugged: bool) {
        self.state.send_replace(plugged);
    }

    /// Whether it is plugged in.
    pub fn is_plugged(&self) -> bool {
        *self.state.borrow()
    }
}

/// Accepts connections for a device until `cancel` fires; each connection gets a token
/// that is cancelled when the device is unplugged.
pub(crate) async fn accept_loop<F, Fut>(listener: TcpListener, cancel: CancellationToken, plug: Arc<Plug>, handle: F)
where
    F: Fn(TcpStream, CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut plugged = plug.state.subscribe();
    let mut connections = cancel.child_token();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = plugged.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*plugged.borrow_and_update() {
                    connections.cancel();
                    connections = cancel.child_token();
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if plug.is_plugged() {
                    tokio::spawn(handle(stream, connections.clone()));
                }
            }
        }
    }
}
