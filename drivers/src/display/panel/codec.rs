//! The panel protocol's messages (`docs/protocols.md`), pure: framing with the
//! CRC-16/CCITT-FALSE, HELLO and its reply (size, pixel format, firmware, features), BLIT
//! and the PackBits-compressed BLIT, decoding of either side's messages.

use super::super::frame::{Frame, Region};
use super::super::packbits;
use super::PanelError;
use embedded_graphics::pixelcolor::Rgb888;

/// Start of a message.
pub const STX: u8 = 0x02;
/// Frame accepted and shown.
pub const ACK: u8 = 0x06;
/// Frame refused (bad CRC or geometry); the host resends.
pub const NAK: u8 = 0x15;
const MAGIC: u8 = b'P';
pub(super) const CMD_HELLO: u8 = 0x01;
const CMD_BLIT: u8 = 0x02;
const CMD_BLIT_PACKED: u8 = 0x03;
pub(super) const CMD_HELLO_REPLY: u8 = 0x81;
/// Largest payload accepted (a full 1280×800 RGB565 frame plus header).
pub const MAX_PAYLOAD: usize = 1280 * 800 * 2 + 8;
/// The HELLO reply's feature bit of a panel that takes the PackBits BLIT (`0x03`).
pub const FEATURE_PACKBITS: u8 = 0x01;
/// Longest firmware version a panel may report.
pub const MAX_FIRMWARE_LEN: usize = 32;

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

    /// Bytes of a BLIT's pixels for a `width`×`height` region.
    pub fn pixel_bytes(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        match self {
            PanelFormat::Rgb565 => w * h * 2,
            PanelFormat::Mono => w.div_ceil(8) * h,
        }
    }
}

const CRC16: crc::Crc<u16, crc::Table<16>> = crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_3740);

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; catalogued as CRC-16/IBM-3740).
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// Frames `payload` as command `cmd`: `STX 'P' cmd len payload crc`.
pub(super) fn message(cmd: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut digest = CRC16.digest();
    digest.update(&[cmd]);
    digest.update(&len);
    digest.update(payload);
    let mut out = Vec::with_capacity(payload.len() + 9);
    out.extend_from_slice(&[STX, MAGIC, cmd]);
    out.extend_from_slice(&len);
    out.extend_from_slice(payload);
    out.extend_from_slice(&digest.finalize().to_le_bytes());
    out
}

/// The HELLO request.
pub fn encode_hello() -> Vec<u8> {
    message(CMD_HELLO, &[])
}

/// Whether `v` is a firmware version as the protocol carries it: 1 to 32 printable ASCII.
fn is_firmware_version(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= MAX_FIRMWARE_LEN && v.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
}

/// The panel's HELLO reply; `firmware` (1 to 32 printable ASCII characters) is appended
/// after its length byte, or left out (the 5-byte reply of a panel that does not tell);
/// `features` (e.g. [`FEATURE_PACKBITS`]) follow the firmware, so only a panel that tells
/// its firmware can tell them (0: the reply has no features byte).
pub fn encode_hello_reply(
    width: u16,
    height: u16,
    format: PanelFormat,
    firmware: Option<&str>,
    features: u8,
) -> Result<Vec<u8>, PanelError> {
    let mut p = Vec::with_capacity(7 + MAX_FIRMWARE_LEN);
    p.extend_from_slice(&width.to_le_bytes());
    p.extend_from_slice(&height.to_le_bytes());
    p.push(format.code());
    match firmware {
        Some(v) if !is_firmware_version(v.as_bytes()) => {
            return Err(PanelError::Protocol(format!("`{v}` is not a firmware version (1-32 printable ASCII)")));
        }
        Some(v) => {
            p.push(v.len() as u8);
            p.extend_from_slice(v.as_bytes());
            if features != 0 {
                p.push(features);
            }
        }
        None if features != 0 => {
            return Err(PanelError::Protocol("a panel tells its features after its firmware version".into()));
        }
        None => {}
    }
    Ok(message(CMD_HELLO_REPLY, &p))
}

/// The pixel bytes of `region` of `frame` in `format`, as a BLIT carries them: RGB565
/// big-endian, or dark bits MSB first with each row padded to a byte.
pub fn blit_pixels(frame: &Frame, region: Region, format: PanelFormat) -> Vec<u8> {
    let mut p = Vec::with_capacity(format.pixel_bytes(region.width, region.height));
    let columns = region.x as usize..(region.x + region.width) as usize;
    for y in region.y..region.y + region.height {
        let Some(row) = frame.row(y).and_then(|r| r.get(columns.clone())) else { continue };
        match format {
            PanelFormat::Rgb565 => p.extend(row.iter().flat_map(|c| rgb565(*c).to_be_bytes())),
            PanelFormat::Mono => p.extend(row.chunks(8).map(|eight| {
                let dark = eight
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| super::super::frame::luma(super::super::frame::color(**c)) < 128);
                dark.fold(0u8, |b, (i, _)| b | (0x80 >> i))
            })),
        }
    }
    p
}

/// A stored `[r, g, b]` pixel as an RGB565 value.
fn rgb565([r, g, b]: [u8; 3]) -> u16 {
    (u16::from(r >> 3) << 11) | (u16::from(g >> 2) << 5) | u16::from(b >> 3)
}

/// The region's header of a BLIT: `x y w h` as u16le.
fn region_header(region: Region, capacity: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + capacity);
    for v in [region.x, region.y, region.width, region.height] {
        p.extend_from_slice(&(v as u16).to_le_bytes());
    }
    p
}

/// A BLIT of `region` of `frame` in `format`.
pub fn encode_blit(frame: &Frame, region: Region, format: PanelFormat) -> Vec<u8> {
    let pixels = blit_pixels(frame, region, format);
    let mut p = region_header(region, pixels.len());
    p.extend_from_slice(&pixels);
    message(CMD_BLIT, &p)
}

/// A PackBits BLIT (`0x03`) of `region` of `frame`, for a panel that tells
/// [`FEATURE_PACKBITS`]: the BLIT's pixel bytes coded as PackBits over pixels (2 bytes)
/// on RGB565 panels and over bytes on 1-bit ones; or the plain BLIT when coding would not
/// make it shorter (noise, photos).
pub fn encode_blit_packed(frame: &Frame, region: Region, format: PanelFormat) -> Vec<u8> {
    let pixels = blit_pixels(frame, region, format);
    let mut p = region_header(region, pixels.len() / 8);
    match format {
        PanelFormat::Rgb565 => packbits::encode_into::<2>(&pixels, &mut p),
        PanelFormat::Mono => packbits::encode_into::<1>(&pixels, &mut p),
    }
    if p.len() >= pixels.len() + 8 {
        let mut raw = region_header(region, pixels.len());
        raw.extend_from_slice(&pixels);
        return message(CMD_BLIT, &raw);
    }
    message(CMD_BLIT_PACKED, &p)
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
        /// The feature bits the panel tells (0 if it tells none); bits this host does not
        /// know are kept, never acted on.
        features: u8,
    },
    /// Host sends pixels of a region; `pixels` is the raw pixel payload.
    Blit {
        /// The region.
        region: Region,
        /// Pixel bytes.
        pixels: Vec<u8>,
    },
    /// Host sends pixels of a region coded as PackBits: [`unpack_blit`] gives the pixel
    /// bytes for the panel's format.
    BlitPacked {
        /// The region.
        region: Region,
        /// The PackBits data.
        packed: Vec<u8>,
    },
}

/// The pixel bytes of a PackBits BLIT of `region` on a panel of `format`: exactly what a
/// BLIT of that region carries, or an error (the panel answers NAK).
pub fn unpack_blit(region: Region, packed: &[u8], format: PanelFormat) -> Result<Vec<u8>, PanelError> {
    let expected = format.pixel_bytes(region.width, region.height);
    match format {
        PanelFormat::Rgb565 => packbits::decode_units::<2>(packed, expected),
        PanelFormat::Mono => packbits::decode_units::<1>(packed, expected),
    }
    .map_err(|e| PanelError::Protocol(format!("compressed BLIT: {e}")))
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
    let msg = match buf[2] {
        CMD_HELLO if len == 0 => PanelMessage::Hello,
        CMD_HELLO_REPLY => decode_hello_reply(payload)?,
        CMD_BLIT if len >= 8 => PanelMessage::Blit { region: region_at(payload), pixels: payload[8..].to_vec() },
        CMD_BLIT_PACKED if len >= 8 => {
            PanelMessage::BlitPacked { region: region_at(payload), packed: payload[8..].to_vec() }
        }
        cmd => return Err(PanelError::Protocol(format!("unknown command {cmd:#04x} with {len} bytes"))),
    };
    Ok(Some((msg, total)))
}

fn u16_at(payload: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([payload[i], payload[i + 1]])
}

/// The region of a BLIT's payload (at least 8 bytes).
fn region_at(payload: &[u8]) -> Region {
    Region {
        x: u32::from(u16_at(payload, 0)),
        y: u32::from(u16_at(payload, 2)),
        width: u32::from(u16_at(payload, 4)),
        height: u32::from(u16_at(payload, 6)),
    }
}

/// A HELLO reply's payload: 5 bytes, or with the firmware's length and version, and then
/// optionally one byte of features.
fn decode_hello_reply(payload: &[u8]) -> Result<PanelMessage, PanelError> {
    let len = payload.len();
    let fw_len = payload.get(5).map_or(0, |n| usize::from(*n));
    let (firmware, features) = match len {
        5 => (None, 0),
        _ if len >= 7 && (len == 6 + fw_len || len == 7 + fw_len) => {
            let v = &payload[6..6 + fw_len];
            if !is_firmware_version(v) {
                return Err(PanelError::Protocol("the firmware version is not printable ASCII".into()));
            }
            (Some(String::from_utf8_lossy(v).into_owned()), payload.get(6 + fw_len).copied().unwrap_or(0))
        }
        _ => return Err(PanelError::Protocol(format!("a HELLO reply of {len} bytes does not add up"))),
    };
    Ok(PanelMessage::HelloReply {
        width: u16_at(payload, 0),
        height: u16_at(payload, 2),
        format: PanelFormat::from_code(payload[4])
            .ok_or_else(|| PanelError::Protocol(format!("unknown pixel format {}", payload[4])))?,
        firmware,
        features,
    })
}

/// Converts one RGB565 big-endian pixel back to RGB888 (for panels and simulators).
pub fn rgb565_to_rgb888(hi: u8, lo: u8) -> Rgb888 {
    let v = u16::from_be_bytes([hi, lo]);
    let r = ((v >> 11) & 0x1F) as u8;
    let g = ((v >> 5) & 0x3F) as u8;
    let b = (v & 0x1F) as u8;
    Rgb888::new((r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2))
}
