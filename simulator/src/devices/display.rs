//! A simulated graphic customer display speaking the panel protocol on a TCP socket.
//! It keeps the current frame (for the simulated customer's camera) and writes every
//! frame it shows as a PNG.

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use posagent_drivers::display::{
    ACK, Frame, NAK, PanelFormat, PanelMessage, Region, decode_host_message, encode_hello_reply, rgb565_to_rgb888,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The firmware version the simulated panel reports in its HELLO reply.
pub const FIRMWARE: &str = "SIM-PNL 3.0.2";

/// The simulated display.
pub struct SimDisplay {
    format: PanelFormat,
    frame: Mutex<Frame>,
    out_dir: Option<PathBuf>,
    shown: watch::Sender<u64>,
    /// The cable.
    pub plug: Arc<super::Plug>,
}

impl SimDisplay {
    /// A `width`×`height` panel; frames go to `out_dir` as `frame-NNNN.png`.
    pub fn new(width: u16, height: u16, format: PanelFormat, out_dir: Option<PathBuf>) -> Arc<Self> {
        let (shown, _) = watch::channel(0);
        Arc::new(SimDisplay {
            format,
            frame: Mutex::new(Frame::new(u32::from(width), u32::from(height), Rgb888::BLACK)),
            out_dir,
            shown,
            plug: Arc::default(),
        })
    }

    /// What the panel shows now.
    pub fn current(&self) -> Frame {
        self.frame.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of frames shown so far; changes wake subscribers.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shown.subscribe()
    }

    fn apply(&self, region: Region, pixels: &[u8]) -> bool {
        let mut frame = self.frame.lock().unwrap_or_else(|p| p.into_inner());
        if region.width == 0 || region.x + region.width > frame.width() || region.y + region.height > frame.height() {
            return false;
        }
        let (w, h) = (region.width as usize, region.height as usize);
        match self.format {
            PanelFormat::Rgb565 => {
                if pixels.len() != w * h * 2 {
                    return false;
                }
                for (i, px) in pixels.chunks_exact(2).enumerate() {
                    let (x, y) = (region.x + (i % w) as u32, region.y + (i / w) as u32);
                    frame.set_pixel(x, y, rgb565_to_rgb888(px[0], px[1]));
                }
            }
            PanelFormat::Mono => {
                let row = w.div_ceil(8);
                if pixels.len() != row * h {
                    return false;
                }
                for y in 0..h {
                    for x in 0..w {
                        let dark = pixels[y * row + x / 8] & (0x80 >> (x % 8)) != 0;
                        let c = if dark { Rgb888::BLACK } else { Rgb888::WHITE };
                        frame.set_pixel(region.x + x as u32, region.y + y as u32, c);
                    }
                }
            }
        }
        true
    }

    /// Accepts connections until `cancel` fires (none while unplugged).
    pub async fn serve(self: Arc<Self>, listener: TcpListener, cancel: CancellationToken) {
        let me = self.clone();
        super::accept_loop(listener, cancel, self.plug.clone(), move |stream, token| {
            let me = me.clone();
            async move { me.connection(stream, token).await }
        })
        .await;
    }

    async fn connection(&self, mut stream: TcpStream, cancel: CancellationToken) {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = tokio::select! {
                () = cancel.cancelled() => return,
                r = stream.read(&mut chunk) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                let reply: Vec<u8> = match decode_host_message(&buf) {
                    Ok(None) => break,
                    Ok(Some((msg, used))) => {
                        buf.drain(..used);
                        match msg {
                            PanelMessage::Hello => {
                                let f = self.current();
                                let (w, h) = (f.width() as u16, f.height() as u16);
                                encode_hello_reply(w, h, self.format, Some(FIRMWARE)).unwrap_or_else(|_| vec![NAK])
                            }
                            PanelMessage::Blit { region, pixels } => {
                                if self.apply(region, &pixels) {
                                    self.publish();
                                    vec![ACK]
                                } else {
                                    vec![NAK]
                                }
                            }
                            _ => vec![NAK],
                        }
                    }
                    Err(_) => {
                        // Corrupt message: drop what we have and ask for a resend.
                        buf.clear();
                        vec![NAK]
                    }
                };
                if stream.write_all(&reply).await.is_err() {
                    return;
                }
            }
        }
    }

    fn publish(&self) {
        let mut number = 0;
        self.shown.send_modify(|n| {
            *n += 1;
            number = *n;
        });
        if let Some(dir) = self.out_dir.clone() {
            let frame = self.current();
            tokio::task::spawn_blocking(move || {
                let path = dir.join(format!("frame-{number:04}.png"));
                match frame.to_png() {
                    Ok(png) => {
                        if let Err(e) = std::fs::write(&path, png) {
                            tracing::warn!(path = %path.display(), error = %e, "cannot write display frame");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot encode display frame"),
                }
            });
        }
    }
}
