//! posagent's serial panel protocol for graphic customer displays, and its driver.
//!
//! Host → panel: `STX 'P' cmd len:u32le payload crc:u16le`, the CRC-16/CCITT-FALSE over
//! `cmd len payload`. Commands: `0x01` HELLO (no payload), `0x02` BLIT
//! (`x y w h` as u16le, then the pixels row-major: RGB565 big-endian, or 1 bit per pixel
//! MSB-first with rows padded to a byte for monochrome panels).
//! Panel → host: HELLO is answered with `STX 'P' 0x81 len [w:u16le h:u16le format:u8
//! (fw_len:u8 firmware)] crc` (len 5 from a panel that does not tell its firmware);
//! BLIT with `ACK` (0x06) once shown, or `NAK` (0x15) if the CRC or geometry is wrong.
//! The full specification is in `docs/protocols.md`.

use super::CustomerDisplay;
use super::frame::{Frame, Region};
use crate::ErrorKind;
use crate::transport::{Transport, TransportError};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use std::time::Duration;

/// Start of a message.
pub const STX: u8 = 0x02;
/// Frame accepted and shown.
pub const ACK: u8 = 0x06;
/// Frame refused (bad CRC or geometry); the host resends.
pub const NAK: u8 = 0x15;
const MAGIC: u8 = b'P';
const CMD_HELLO: u8 = 0x01;
const CMD_BLIT: u8 = 0x02;
const CMD_HELLO_REPLY: u8 = 0x81;
/// Largest payload accepted (a full 1280×800 RGB565 frame plus header).
pub const MAX_PAYLOAD: usize = 1280 * 800 * 2 + 8;
/// How long the panel may take to acknowledge a frame.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Resends of a NAKed frame before giving up.
pub const MAX_RESENDS: usize = 3;

/// Pixel format of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelFormat {
    /// 16-bit colour.
    Rgb565,
    /// 1 bit per pixel (dark = 1).
    Mono,
}

impl PanelFormat {
    fn code(self) -> u8 {
        match self {
            PanelFormat::Rgb565 => 0,
            PanelFormat::Mono => 1,
        }
    }
    fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(PanelFormat::Rgb565),
            1 => Some(PanelFormat::Mono),
            _ => None,
        }
    }
}

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

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF).
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

fn message(cmd: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 5);
    body.push(cmd);
    body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    body.extend_from_slice(payload);
    let crc = crc16(&body);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&[STX, MAGIC]);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The HELLO request.
pub fn encode_hello() -> Vec<u8> {
    message(CMD_HELLO, &[])
}

/// Longest firmware version a panel may report.
pub const MAX_FIRMWARE_LEN: usize = 32;

/// Whether `v` is a firmware version as the protocol carries it: 1 to 32 printable ASCII.
fn is_firmware_version(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= MAX_FIRMWARE_LEN && v.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
}

/// The panel's HELLO reply; `firmware` (1 to 32 printable ASCII characters) is appended
/// after its length byte, or left out (the 5-byte reply of a panel that does not tell).
pub fn encode_hello_reply(
    width: u16,
    height: u16,
    format: PanelFormat,
    firmware: Option<&str>,
) -> Result<Vec<u8>, PanelError> {
    let mut p = Vec::with_capacity(6 + MAX_FIRMWARE_LEN);
    p.extend_from_slice(&width.to_le_bytes());
    p.extend_from_slice(&height.to_le_bytes());
    p.push(format.code());
    if let Some(v) = firmware {
        if !is_firmware_version(v.as_bytes()) {
            return Err(PanelError::Protocol(format!("`{v}` is not a firmware version (1-32 printable ASCII)")));
        }
        p.push(v.len() as u8);
        p.extend_from_slice(v.as_bytes());
    }
    Ok(message(CMD_HELLO_REPLY, &p))
}

/// A BLIT of `region` of `frame` in `format`.
pub fn encode_blit(frame: &Frame, region: Region, format: PanelFormat) -> Vec<u8> {
    let mut p = Vec::new();
    for v in [region.x, region.y, region.width, region.height] {
        p.extend_from_slice(&(v as u16).to_le_bytes());
    }
    match format {
        PanelFormat::Rgb565 => {
            for y in region.y..region.y + region.height {
                for x in region.x..region.x + region.width {
                    let c = frame.pixel(x, y);
                    let v = (u16::from(c.r() >> 3) << 11) | (u16::from(c.g() >> 2) << 5) | u16::from(c.b() >> 3);
                    p.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        PanelFormat::Mono => {
            for y in region.y..region.y + region.height {
                let mut byte = 0u8;
                for (i, x) in (region.x..region.x + region.width).enumerate() {
                    if frame.is_dark(x, y) {
                        byte |= 0x80 >> (i % 8);
                    }
                    if i % 8 == 7 {
                        p.push(byte);
                        byte = 0;
                    }
                }
                if region.width % 8 != 0 {
                    p.push(byte);
                }
            }
        }
    }
    message(CMD_BLIT, &p)
}

/// A decoded message from the host or the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PanelMessage {
    /// Host asks for size and format.
    Hello,
    /// Panel answers with size and format.
    HelloReply {
        /// Width.
        width: u16,
        /// Height.
        height: u16,
        /// Pixel format.
        format: PanelFormat,
        /// Firmware version, if the panel tells it.
        firmware: Option<String>,
    },
    /// Host sends pixels of a region; `pixels` is the raw pixel payload.
    Blit {
        /// The region.
        region: Region,
        /// Pixel bytes.
        pixels: Vec<u8>,
    },
}

/// Decodes one message from the front of `buf`: `Ok(None)` if more bytes are needed,
/// otherwise the message and how many bytes it used.
pub fn decode_host_message(buf: &[u8]) -> Result<Option<(PanelMessage, usize)>, PanelError> {
    if buf.len() < 7 {
        return Ok(None);
    }
    if buf[0] != STX || buf[1] != MAGIC {
        return Err(PanelError::Protocol(format!("expected STX 'P', got {:02x} {:02x}", buf[0], buf[1])));
    }
    let len = u32::from_le_bytes([buf[3], buf[4], buf[5], buf[6]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(PanelError::Protocol(format!("payload of {len} bytes is too large")));
    }
    let total = 7 + len + 2;
    if buf.len() < total {
        return Ok(None);
    }
    let crc = u16::from_le_bytes([buf[total - 2], buf[total - 1]]);
    if crc16(&buf[2..total - 2]) != crc {
        return Err(PanelError::Protocol("CRC mismatch".into()));
    }
    let payload = &buf[7..7 + len];
    let u16_at = |i: usize| u16::from_le_bytes([payload[i], payload[i + 1]]);
    let msg = match buf[2] {
        CMD_HELLO if len == 0 => PanelMessage::Hello,
        CMD_HELLO_REPLY if len == 5 || (len >= 7 && len == 6 + usize::from(payload[5])) => {
            let firmware = match payload.get(6..) {
                Some(v) if !v.is_empty() => {
                    if !is_firmware_version(v) {
                        return Err(PanelError::Protocol("the firmware version is not printable ASCII".into()));
                    }
                    Some(String::from_utf8_lossy(v).into_owned())
                }
                _ => None,
            };
            PanelMessage::HelloReply {
                width: u16_at(0),
                height: u16_at(2),
                format: PanelFormat::from_code(payload[4])
                    .ok_or_else(|| PanelError::Protocol(format!("unknown pixel format {}", payload[4])))?,
                firmware,
            }
        }
        CMD_BLIT if len >= 8 => PanelMessage::Blit {
            region: Region {
                x: u32::from(u16_at(0)),
                y: u32::from(u16_at(2)),
                width: u32::from(u16_at(4)),
                height: u32::from(u16_at(6)),
            },
            pixels: payload[8..].to_vec(),
        },
        cmd => return Err(PanelError::Protocol(format!("unknown command {cmd:#04x} with {len} bytes"))),
    };
    Ok(Some((msg, total)))
}

/// Converts one RGB565 big-endian pixel back to RGB888 (for panels and simulators).
pub fn rgb565_to_rgb888(hi: u8, lo: u8) -> Rgb888 {
    let v = u16::from_be_bytes([hi, lo]);
    let r = ((v >> 11) & 0x1F) as u8;
    let g = ((v >> 5) & 0x3F) as u8;
    let b = (v & 0x1F) as u8;
    Rgb888::new((r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2))
}

/// A graphic panel speaking the panel protocol over some transport.
pub struct PanelDisplay<T: Transport> {
    transport: T,
    width: u32,
    height: u32,
    format: PanelFormat,
    firmware: Option<String>,
    last: Option<Frame>,
}

/// What a HELLO reply tells: width, height, pixel format, firmware version.
type Hello = (u16, u16, PanelFormat, Option<String>);

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
                    PanelMessage::HelloReply { width, height, format, firmware } => {
                        Ok((width, height, format, firmware))
                    }
                    other => Err(PanelError::Protocol(format!("expected a HELLO reply, got {other:?}"))),
                };
            }
        }
    }

    /// Greets the panel and learns its size and format.
    pub fn open(mut transport: T) -> Result<Self, PanelError> {
        let (width, height, format, firmware) = Self::hello(&mut transport)?;
        Ok(PanelDisplay { transport, width: u32::from(width), height: u32::from(height), format, firmware, last: None })
    }

    /// Checks the panel still answers (a HELLO round trip). A panel that answers with
    /// another size was swapped: the next frame is sent whole.
    fn hello_again(&mut self) -> Result<(), PanelError> {
        let (w, h, format, firmware) = Self::hello(&mut self.transport)?;
        if (u32::from(w), u32::from(h), format) != (self.width, self.height, self.format) {
            (self.width, self.height, self.format) = (u32::from(w), u32::from(h), format);
            self.last = None;
        }
        self.firmware = firmware;
        Ok(())
    }

    /// The panel's pixel format.
    pub fn format(&self) -> PanelFormat {
        self.format
    }
}

impl<T: Transport> CustomerDisplay for PanelDisplay<T> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn ping(&mut self) -> Result<(), PanelError> {
        self.hello_again()
    }

    fn firmware(&self) -> Option<String> {
        self.firmware.clone()
    }

    fn is_mono(&self) -> bool {
        self.format == PanelFormat::Mono
    }

    fn show(&mut self, frame: &Frame) -> Result<(), PanelError> {
        check_size(frame, self.width, self.height)?;
        let Some(region) = frame.changed_region(self.last.as_ref()) else { return Ok(()) };
        let msg = encode_blit(frame, region, self.format);
        for _ in 0..=MAX_RESENDS {
            self.transport.write_all(&msg)?;
            self.transport.flush()?;
            let mut reply = [0u8; 1];
            self.transport.read_exact(&mut reply, ACK_TIMEOUT)?;
            match reply[0] {
                ACK => {
                    self.last = Some(frame.clone());
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
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn hello_is_byte_exact() {
        let crc = crc16(&[0x01, 0, 0, 0, 0]).to_le_bytes();
        assert_eq!(encode_hello(), vec![0x02, b'P', 0x01, 0, 0, 0, 0, crc[0], crc[1]]);
    }

    #[test]
    fn hello_replies_are_byte_exact_with_and_without_firmware() -> Result<(), PanelError> {
        // 800×480 RGB565, no firmware: the 5-byte reply.
        let body = [0x81, 5, 0, 0, 0, 0x20, 0x03, 0xE0, 0x01, 0x00];
        let crc = crc16(&body).to_le_bytes();
        let legacy = encode_hello_reply(800, 480, PanelFormat::Rgb565, None)?;
        assert_eq!(legacy, [&[0x02, b'P'][..], &body, &crc].concat());
        // 240×320 mono with "PNL 1.2": its length, then the ASCII bytes.
        let body = [&[0x81, 13, 0, 0, 0, 0xF0, 0x00, 0x40, 0x01, 0x01, 7][..], b"PNL 1.2"].concat();
        let crc = crc16(&body).to_le_bytes();
        let told = encode_hello_reply(240, 320, PanelFormat::Mono, Some("PNL 1.2"))?;
        assert_eq!(told, [&[0x02, b'P'][..], &body, &crc].concat());
        for (msg, firmware) in [(legacy, None), (told, Some("PNL 1.2".to_string()))] {
            match decode_host_message(&msg)? {
                Some((PanelMessage::HelloReply { firmware: f, .. }, used)) => {
                    assert_eq!((f, used), (firmware, msg.len()));
                }
                other => return Err(PanelError::Protocol(format!("{other:?}"))),
            }
        }
        // A length byte that disagrees with the payload, or a version that is not
        // printable, is refused; so is a version nobody could print.
        let bad_len = message(CMD_HELLO_REPLY, &[0x20, 0x03, 0xE0, 0x01, 0x00, 9, b'X']);
        assert!(decode_host_message(&bad_len).is_err());
        let unprintable = message(CMD_HELLO_REPLY, &[0x20, 0x03, 0xE0, 0x01, 0x00, 2, b'1', 0x07]);
        assert!(decode_host_message(&unprintable).is_err());
        assert!(encode_hello_reply(1, 1, PanelFormat::Mono, Some("")).is_err());
        assert!(encode_hello_reply(1, 1, PanelFormat::Mono, Some(&"9".repeat(33))).is_err());
        Ok(())
    }

    #[test]
    fn blit_round_trips_and_corruption_is_caught() -> Result<(), PanelError> {
        let mut f = Frame::new(4, 2, Rgb888::WHITE);
        f.set_pixel(1, 1, Rgb888::new(255, 0, 0));
        let msg = encode_blit(&f, Region { x: 1, y: 1, width: 2, height: 1 }, PanelFormat::Rgb565);
        let Some((PanelMessage::Blit { region, pixels }, used)) = decode_host_message(&msg)? else {
            return Err(PanelError::Protocol("not a blit".into()));
        };
        assert_eq!(used, msg.len());
        assert_eq!(region, Region { x: 1, y: 1, width: 2, height: 1 });
        assert_eq!(pixels, vec![0xF8, 0x00, 0xFF, 0xFF]);
        assert_eq!(rgb565_to_rgb888(0xF8, 0x00), Rgb888::new(255, 0, 0));
        let mut bad = msg.clone();
        bad[10] ^= 0xFF;
        assert!(decode_host_message(&bad).is_err());
        assert_eq!(decode_host_message(&msg[..msg.len() - 1])?, None);
        Ok(())
    }

    #[test]
    fn mono_rows_are_padded_to_bytes() -> Result<(), PanelError> {
        let mut f = Frame::new(10, 1, Rgb888::WHITE);
        f.set_pixel(0, 0, Rgb888::BLACK);
        f.set_pixel(9, 0, Rgb888::BLACK);
        let msg = encode_blit(&f, Region { x: 0, y: 0, width: 10, height: 1 }, PanelFormat::Mono);
        match decode_host_message(&msg)? {
            Some((PanelMessage::Blit { pixels, .. }, _)) => assert_eq!(pixels, vec![0x80, 0x40]),
            other => return Err(PanelError::Protocol(format!("{other:?}"))),
        }
        Ok(())
    }

    #[test]
    fn a_panel_is_greeted_sent_only_what_changed_and_a_refused_frame_sent_again()
    -> Result<(), Box<dyn std::error::Error>> {
        use crate::transport::ScriptedTransport;
        let white = Frame::new(4, 2, Rgb888::WHITE);
        let mut dot = white.clone();
        dot.set_pixel(2, 1, Rgb888::BLACK);
        let whole = Region { x: 0, y: 0, width: 4, height: 2 };
        let wire = ScriptedTransport::new("panel")
            .expect_write(&encode_hello())
            .reply(&encode_hello_reply(4, 2, PanelFormat::Mono, Some("PNL 1.2"))?)
            // The first frame whole; a NAK, and the same bytes again.
            .expect_write(&encode_blit(&white, whole, PanelFormat::Mono))
            .reply(&[NAK])
            .expect_write(&encode_blit(&white, whole, PanelFormat::Mono))
            .reply(&[ACK])
            // One pixel changed: that pixel only.
            .expect_write(&encode_blit(&dot, Region { x: 2, y: 1, width: 1, height: 1 }, PanelFormat::Mono))
            .reply(&[ACK])
            // An answer that is neither: refused, and the next frame goes whole.
            .expect_write(&encode_blit(&white, Region { x: 2, y: 1, width: 1, height: 1 }, PanelFormat::Mono))
            .reply(&[0x42])
            .expect_write(&encode_blit(&white, whole, PanelFormat::Mono))
            .reply(&[ACK])
            // The check: a HELLO round trip; a panel of another size was put in.
            .expect_write(&encode_hello())
            .reply(&encode_hello_reply(2, 2, PanelFormat::Mono, None)?);
        let script = wire.script();
        let mut panel = PanelDisplay::open(wire)?;
        assert_eq!((panel.size(), panel.firmware().as_deref(), panel.is_mono()), ((4, 2), Some("PNL 1.2"), true));
        panel.show(&white)?;
        panel.show(&dot)?;
        panel.show(&dot)?; // nothing changed: nothing sent
        assert!(matches!(panel.show(&white), Err(PanelError::Protocol(_))));
        panel.show(&white)?;
        panel.ping()?;
        assert_eq!((panel.size(), panel.firmware()), ((2, 2), None));
        // A frame of the old size does not fit the new panel: a configuration error.
        let e = panel.show(&white).err().map(|e| e.kind());
        assert_eq!(e, Some(crate::ErrorKind::Configuration));
        script.check()?;
        Ok(())
    }
}
