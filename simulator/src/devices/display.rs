//! A simulated graphic customer display speaking the panel protocol on a TCP socket.
//! It keeps the current frame (for the simulated customer's camera) and writes every
//! frame it shows as a PNG. It tells the PackBits feature in its HELLO reply (a test can
//! turn that off to play a panel of the first protocol version).

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use posagent_drivers::display::{
    ACK, FEATURE_PACKBITS, Frame, NAK, PanelFormat, PanelMessage, Region, decode_host_message, encode_hello_reply,
    rgb565_to_rgb888, unpack_blit,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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
    packbits: AtomicBool,
    frame_files: AtomicBool,
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
            packbits: AtomicBool::new(true),
            frame_files: AtomicBool::new(true),
            plug: Arc::default(),
        })
    }

    /// What the panel shows now.
    pub fn current(&self) -> Frame {
        self.frame.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the panel tells (and takes) the PackBits BLIT from its next HELLO reply on;
    /// without it, it answers a PackBits BLIT with NAK, as a first-version panel does.
    pub fn set_packbits(&self, on: bool) {
        self.packbits.store(on, Ordering::Relaxed);
    }

    /// Whether each frame shown is written as a PNG (when the panel has a directory): a
    /// benchmark of the daemon turns it off, it is not the daemon's work.
    pub fn set_frame_files(&self, on: bool) {
        self.frame_files.store(on, Ordering::Relaxed);
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
        if pixels.len() != self.format.pixel_bytes(region.width, region.height) {
            return false;
        }
        let w = region.width as usize;
        let stride = match self.format {
            PanelFormat::Rgb565 => w * 2,
            PanelFormat::Mono => w.div_ceil(8),
        };
        for (dy, row) in pixels.chunks_exact(stride).enumerate() {
            let y = region.y + dy as u32;
            match self.format {
                PanelFormat::Rgb565 => {
                    frame.set_row(region.x, y, row.chunks_exact(2).map(|px| rgb565_to_rgb888(px[0], px[1])));
                }
                PanelFormat::Mono => {
                    let dark = |x: usize| row[x / 8] & (0x80 >> (x % 8)) != 0;
                    frame.set_row(region.x, y, (0..w).map(|x| if dark(x) { Rgb888::BLACK } else { Rgb888::WHITE }));
                }
            }
        }
        true
    }

    /// The answer to one decoded message.
    fn answer(&self, msg: PanelMessage) -> Vec<u8> {
        let packbits = self.packbits.load(Ordering::Relaxed);
        let shown = match msg {
            PanelMessage::Hello => {
                let f = self.current();
                let (w, h) = (f.width() as u16, f.height() as u16);
                let features = if packbits { FEATURE_PACKBITS } else { 0 };
                return encode_hello_reply(w, h, self.format, Some(FIRMWARE), features).unwrap_or_else(|_| vec![NAK]);
            }
            PanelMessage::Blit { region, pixels } => self.apply(region, &pixels),
            PanelMessage::BlitPacked { region, packed } if packbits => {
                unpack_blit(region, &packed, self.format).is_ok_and(|pixels| self.apply(region, &pixels))
            }
            _ => false,
        };
        if shown {
            self.publish();
            vec![ACK]
        } else {
            vec![NAK]
        }
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
                        self.answer(msg)
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
        if let Some(dir) = self.out_dir.clone().filter(|_| self.frame_files.load(Ordering::Relaxed)) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
    use posagent_drivers::display::{CustomerDisplay, PanelDisplay};
    use posagent_drivers::transport::TcpTransport;
    use std::time::Duration;

    /// A frame like a screen: white, a coloured bar, a black square, a gradient strip.
    fn screen(w: u32, h: u32, shade: u8) -> Frame {
        let mut f = Frame::new(w, h, Rgb888::WHITE);
        let fill = |c| PrimitiveStyle::with_fill(c);
        let _ = Rectangle::new(Point::new(0, 0), Size::new(w, 20))
            .into_styled(fill(Rgb888::new(0xFF, 0xB3, 0xC7)))
            .draw(&mut f);
        let _ = Rectangle::new(Point::new(30, 40), Size::new(50, 50)).into_styled(fill(Rgb888::BLACK)).draw(&mut f);
        for x in 0..w {
            f.set_pixel(x, h - 1, Rgb888::new(x as u8, shade, 255 - x as u8));
        }
        f
    }

    /// The drivers' host against this panel over TCP: what the panel shows is what was
    /// sent, with PackBits and as a first-version panel without it, whole and in part.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_panel_shows_what_the_host_sent_with_and_without_packbits() {
        for (format, packbits) in [
            (PanelFormat::Rgb565, true),
            (PanelFormat::Rgb565, false),
            (PanelFormat::Mono, true),
            (PanelFormat::Mono, false),
        ] {
            let panel = SimDisplay::new(120, 100, format, None);
            panel.set_packbits(packbits);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let cancel = CancellationToken::new();
            tokio::spawn(panel.clone().serve(listener, cancel.clone()));
            let shown = tokio::task::spawn_blocking(move || {
                let transport = TcpTransport::connect(&addr, Duration::from_secs(2)).unwrap();
                let mut host = PanelDisplay::open(transport).unwrap();
                let frames = [screen(120, 100, 0), screen(120, 100, 99)];
                let mut shown = vec![];
                for f in &frames {
                    host.show(f.clone()).unwrap();
                    shown.push(f.clone());
                }
                shown
            });
            let sent = shown.await.unwrap();
            let last = sent.last().unwrap();
            let expected = if format == PanelFormat::Mono { last.to_mono() } else { quantized(last) };
            assert_eq!(panel.current(), expected, "{format:?}, PackBits {packbits}");
            assert_eq!(*panel.subscribe().borrow(), 2, "two frames shown");
            cancel.cancel();
        }
    }

    /// `f` as an RGB565 panel shows it.
    fn quantized(f: &Frame) -> Frame {
        let mut q = f.clone();
        for y in 0..f.height() {
            for x in 0..f.width() {
                let c = f.pixel(x, y);
                let v = (u16::from(c.r() >> 3) << 11) | (u16::from(c.g() >> 2) << 5) | u16::from(c.b() >> 3);
                let [hi, lo] = v.to_be_bytes();
                q.set_pixel(x, y, rgb565_to_rgb888(hi, lo));
            }
        }
        q
    }
}
