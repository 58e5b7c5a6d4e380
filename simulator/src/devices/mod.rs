//! Simulated devices reached over real transports: an ESC/POS printer and a graphic
//! customer display on TCP sockets, a card reader and a 2×20 line display on
//! pseudo-terminals, so the daemon runs its real drivers against them.

pub mod card_reader;
pub mod display;
pub mod escpos_decoder;
pub mod line_display;
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

/// Bridges a pseudo-terminal to a device's TCP port, so the device is also reachable as a
/// serial port (the daemon's serial driver opens the returned path). Runs until the
/// simulator stops.
pub fn pty_bridge(
    tcp: std::net::SocketAddr,
    cancel: CancellationToken,
) -> std::io::Result<(String, serialport::TTYPort)> {
    use std::io::{Read, Write};
    let (master, slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
    let path =
        serialport::SerialPort::name(&slave).ok_or_else(|| std::io::Error::other("the pseudo-terminal has no name"))?;
    let stream = std::net::TcpStream::connect(tcp)?;
    stream.set_read_timeout(Some(std::time::Duration::from_millis(100)))?;
    let (mut to_device, mut from_device) = (stream.try_clone()?, stream);
    let mut reader = master.try_clone_native().map_err(std::io::Error::other)?;
    let mut writer = master;
    serialport::SerialPort::set_timeout(&mut reader, std::time::Duration::from_millis(100))
        .map_err(std::io::Error::other)?;
    let c1 = cancel.clone();
    std::thread::Builder::new().name("pty-to-tcp".into()).spawn(move || {
        let mut buf = [0u8; 4096];
        while !c1.is_cancelled() {
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if to_device.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    })?;
    std::thread::Builder::new().name("tcp-to-pty".into()).spawn(move || {
        let mut buf = [0u8; 4096];
        while !cancel.is_cancelled() {
            match from_device.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if writer.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    })?;
    Ok((path, slave))
}
