//! Customer displays: an in-memory frame that screens are drawn into, the drivers that
//! put frames on graphic panels, and the driver of 2×20 character line displays.

mod frame;
mod framebuffer;
mod line;
pub mod packbits;
mod panel;

pub use frame::{Frame, Region};
pub use framebuffer::FramebufferDisplay;
pub use line::{LineDisplay, LineDisplaySpec, encode_init as encode_line_init, encode_line, encode_line_text};
pub use panel::{
    ACK, FEATURE_PACKBITS, NAK, PanelDisplay, PanelError, PanelFormat, PanelMessage, blit_pixels, crc16,
    decode_host_message, encode_blit, encode_blit_packed, encode_hello, encode_hello_reply, rgb565_to_rgb888,
    unpack_blit,
};

/// A display the daemon can show frames on.
pub trait CustomerDisplay: Send {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Shows `frame` (same size as the display), sending only what changed. The display
    /// keeps it (by move, not by copy: a frame is up to 1.15 MB) to tell what changes next.
    fn show(&mut self, frame: Frame) -> Result<(), PanelError>;
    /// Checks the display still answers (when its link can tell).
    fn ping(&mut self) -> Result<(), PanelError> {
        Ok(())
    }
    /// The firmware version the display reported, if it can tell.
    fn firmware(&self) -> Option<String> {
        None
    }
    /// Whether the display shows 1 bit per pixel (images are dithered for it).
    fn is_mono(&self) -> bool {
        false
    }
}
