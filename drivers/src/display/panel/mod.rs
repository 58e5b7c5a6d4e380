//! posagent's serial panel protocol for graphic customer displays (`docs/protocols.md`),
//! and its driver: HELLO to learn the panel's size, format, firmware and features; each
//! frame's changed rectangle sent as a BLIT (PackBits-coded where the panel takes it),
//! resent on NAK. The messages themselves are `codec.rs`.

mod codec;

pub use codec::{
    ACK, FEATURE_PACKBITS, NAK, PanelFormat, PanelMessage, blit_pixels, crc16, decode_host_message, encode_blit,
    encode_blit_packed, encode_hello, encode_hello_reply, rgb565_to_rgb888, unpack_blit,
};

use super::CustomerDisplay;
use super::frame::{Frame, Region};
use crate::ErrorKind;
use crate::transport::{Transport, TransportError};
use std::time::Duration;

/// How long the panel may take to acknowledge a frame.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Resends of a NAKed frame before giving up.
pub const MAX_RESENDS: usize = 3;

/// A display failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PanelError {
    /// The link failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The panel sent bytes that are not a valid message.
    #[error("display protocol error: {0}; check that the display profile names the right panel protocol")]
    Protocol(String),
    /// The panel refused the frame repeatedly.
    #[error("display refused the frame {0} times; check the cable for noise")]
    Refused(usize),
    /// The frame does not fit the panel.
    #[error(
        "frame is {frame_w}x{frame_h} but the panel is {panel_w}x{panel_h}; fix the display size in the device profile"
    )]
    SizeMismatch {
        /// Frame width.
        frame_w: u32,
        /// Frame height.
        frame_h: u32,
        /// Panel width.
        panel_w: u32,
        /// Panel height.
        panel_h: u32,
    },
}

impl PanelError {
    /// What the daemon should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PanelError::Transport(e) => e.kind(),
            PanelError::Protocol(_) | PanelError::Refused(_) => ErrorKind::Protocol,
            PanelError::SizeMismatch { .. } => ErrorKind::Configuration,
        }
    }
}

/// Refuses a frame whose size differs from the display's.
pub(crate) fn check_size(frame: &Frame, width: u32, height: u32) -> Result<(), PanelError> {
    if (frame.width(), frame.height()) == (width, height) {
        return Ok(());
    }
    Err(PanelError::SizeMismatch { frame_w: frame.width(), frame_h: frame.height(), panel_w: width, panel_h: height })
}

/// A graphic panel speaking the panel protocol over some transport.
pub struct PanelDisplay<T: Transport> {
    transport: T,
    hello: Hello,
    last: Option<Frame>,
}

/// What a HELLO reply tells.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hello {
    width: u32,
    height: u32,
    format: PanelFormat,
    firmware: Option<String>,
    features: u8,
}

impl<T: Transport> PanelDisplay<T> {
    fn hello(transport: &mut T) -> Result<Hello, PanelError> {
        transport.write_all(&encode_hello())?;
        transport.flush()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 64];
        loop {
            let n = transport.read(&mut chunk, ACK_TIMEOUT)?;
            buf.extend_from_slice(&chunk[..n]);
            if let Some((msg, _)) = decode_host_message(&buf)? {
                return match msg {
                    PanelMessage::HelloReply { width, height, format, firmware, features } => {
                        Ok(Hello { width: u32::from(width), height: u32::from(height), format, firmware, features })
                    }
                    other => Err(PanelError::Protocol(format!("expected a HELLO reply, got {other:?}"))),
                };
            }
        }
    }

    /// Greets the panel and learns its size, format and features.
    pub fn open(mut transport: T) -> Result<Self, PanelError> {
        let hello = Self::hello(&mut transport)?;
        Ok(PanelDisplay { transport, hello, last: None })
    }

    /// Checks the panel still answers (a HELLO round trip). A panel that answers with
    /// another size, format or features was swapped: the next frame is sent whole.
    fn hello_again(&mut self) -> Result<(), PanelError> {
        let hello = Self::hello(&mut self.transport)?;
        let same = |h: &Hello| (h.width, h.height, h.format, h.features);
        if same(&hello) != same(&self.hello) {
            self.last = None;
        }
        self.hello = hello;
        Ok(())
    }

    /// The panel's pixel format.
    pub fn format(&self) -> PanelFormat {
        self.hello.format
    }

    /// The BLIT of `region` of `frame` this panel takes.
    fn blit(&self, frame: &Frame, region: Region) -> Vec<u8> {
        if self.hello.features & FEATURE_PACKBITS != 0 {
            encode_blit_packed(frame, region, self.hello.format)
        } else {
            encode_blit(frame, region, self.hello.format)
        }
    }
}

impl<T: Transport> CustomerDisplay for PanelDisplay<T> {
    fn size(&self) -> (u32, u32) {
        (self.hello.width, self.hello.height)
    }

    fn ping(&mut self) -> Result<(), PanelError> {
        self.hello_again()
    }

    fn firmware(&self) -> Option<String> {
        self.hello.firmware.clone()
    }

    fn is_mono(&self) -> bool {
        self.hello.format == PanelFormat::Mono
    }

    fn show(&mut self, frame: Frame) -> Result<(), PanelError> {
        check_size(&frame, self.hello.width, self.hello.height)?;
        let Some(region) = frame.changed_region(self.last.as_ref()) else { return Ok(()) };
        let msg = self.blit(&frame, region);
        for _ in 0..=MAX_RESENDS {
            self.transport.write_all(&msg)?;
            self.transport.flush()?;
            let mut reply = [0u8; 1];
            self.transport.read_exact(&mut reply, ACK_TIMEOUT)?;
            match reply[0] {
                ACK => {
                    self.last = Some(frame);
                    return Ok(());
                }
                NAK => continue,
                other => {
                    self.last = None;
                    return Err(PanelError::Protocol(format!("expected ACK or NAK, got {other:#04x}")));
                }
            }
        }
        self.last = None;
        Err(PanelError::Refused(MAX_RESENDS + 1))
    }
}

#[cfg(test)]
mod tests;
