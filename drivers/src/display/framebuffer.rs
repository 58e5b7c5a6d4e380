//! The Linux framebuffer (`/dev/fbN`): resolution, pixel format and line length read from
//! sysfs (`/sys/class/graphics/fbN/`), frames written in place, only the changed region.

use super::CustomerDisplay;
use super::frame::{Frame, Region};
use super::panel::PanelError;
use crate::transport::TransportError;
use embedded_graphics::pixelcolor::RgbColor;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// A framebuffer device.
pub struct FramebufferDisplay {
    file: File,
    target: String,
    width: u32,
    height: u32,
    bits_per_pixel: u32,
    stride: u64,
    last: Option<Frame>,
}

fn io(target: &str, source: std::io::Error) -> PanelError {
    PanelError::Transport(TransportError::Io { target: target.to_string(), source })
}

fn read_number(dir: &Path, name: &str) -> Result<Vec<u64>, PanelError> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path.display().to_string(), e))?;
    text.trim()
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| PanelError::Protocol(format!("{} holds `{}`, not a number", path.display(), text.trim())))
        })
        .collect()
}

impl FramebufferDisplay {
    /// Opens `device` (e.g. `/dev/fb0`) described by the sysfs folder `sysfs`
    /// (e.g. `/sys/class/graphics/fb0`).
    pub fn open(device: &Path, sysfs: &Path) -> Result<Self, PanelError> {
        let size = read_number(sysfs, "virtual_size")?;
        let bpp = read_number(sysfs, "bits_per_pixel")?;
        let stride = read_number(sysfs, "stride")?;
        let (&[w, h], &[bits], &[stride]) = (size.as_slice(), bpp.as_slice(), stride.as_slice()) else {
            return Err(PanelError::Protocol(format!("unexpected framebuffer description in {}", sysfs.display())));
        };
        if bits != 16 && bits != 32 {
            return Err(PanelError::Protocol(format!(
                "{bits} bits per pixel is not supported; use a 16- or 32-bit mode"
            )));
        }
        let target = device.display().to_string();
        let file = OpenOptions::new()
            .write(true)
            .open(device)
            .map_err(|source| PanelError::Transport(TransportError::Open { target: target.clone(), source }))?;
        Ok(FramebufferDisplay {
            file,
            target,
            width: w as u32,
            height: h as u32,
            bits_per_pixel: bits as u32,
            stride,
            last: None,
        })
    }

    fn encode_row(&self, frame: &Frame, y: u32, region: Region) -> Vec<u8> {
        let mut out = Vec::with_capacity((region.width * self.bits_per_pixel / 8) as usize);
        for x in region.x..region.x + region.width {
            let c = frame.pixel(x, y);
            if self.bits_per_pixel == 16 {
                let v = (u16::from(c.r() >> 3) << 11) | (u16::from(c.g() >> 2) << 5) | u16::from(c.b() >> 3);
                out.extend_from_slice(&v.to_le_bytes());
            } else {
                out.extend_from_slice(&[c.b(), c.g(), c.r(), 0xFF]);
            }
        }
        out
    }
}

impl CustomerDisplay for FramebufferDisplay {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn show(&mut self, frame: Frame) -> Result<(), PanelError> {
        super::panel::check_size(&frame, self.width, self.height)?;
        let Some(region) = frame.changed_region(self.last.as_ref()) else { return Ok(()) };
        let bytes_per_pixel = u64::from(self.bits_per_pixel / 8);
        for y in region.y..region.y + region.height {
            let row = self.encode_row(&frame, y, region);
            let offset = u64::from(y) * self.stride + u64::from(region.x) * bytes_per_pixel;
            self.file.seek(SeekFrom::Start(offset)).map_err(|e| io(&self.target, e))?;
            self.file.write_all(&row).map_err(|e| io(&self.target, e))?;
        }
        self.file.flush().map_err(|e| io(&self.target, e))?;
        self.last = Some(frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::Rgb888;

    fn fake(dir: &Path, w: u32, h: u32, bpp: u32) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
        let sys = dir.join("sys");
        std::fs::create_dir_all(&sys)?;
        std::fs::write(sys.join("virtual_size"), format!("{w},{h}\n"))?;
        std::fs::write(sys.join("bits_per_pixel"), format!("{bpp}\n"))?;
        std::fs::write(sys.join("stride"), format!("{}\n", w * bpp / 8 + 8))?; // padded lines
        let dev = dir.join("fb0");
        std::fs::write(&dev, vec![0xAAu8; ((w * bpp / 8 + 8) * h) as usize])?;
        Ok((dev, sys))
    }

    #[test]
    fn writes_pixels_where_they_belong_and_only_what_changed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (dev, sys) = fake(dir.path(), 4, 3, 16)?;
        let mut fb = FramebufferDisplay::open(&dev, &sys)?;
        assert_eq!(fb.size(), (4, 3));
        let mut f = Frame::new(4, 3, Rgb888::WHITE);
        f.set_pixel(1, 2, Rgb888::new(255, 0, 0));
        fb.show(f.clone())?;
        let bytes = std::fs::read(&dev)?;
        let stride = 4 * 2 + 8;
        assert_eq!(&bytes[..2], &[0xFF, 0xFF]);
        assert_eq!(&bytes[2 * stride + 2..2 * stride + 4], &0xF800u16.to_le_bytes());
        assert_eq!(&bytes[8..16], &[0xAA; 8], "line padding is left alone");
        // Mark a pixel outside the next change; it must stay untouched.
        let mut marked = bytes.clone();
        marked[0] = 0x11;
        std::fs::write(&dev, &marked)?;
        let mut g = f.clone();
        g.set_pixel(3, 1, Rgb888::BLACK);
        fb.show(g.clone())?;
        let after = std::fs::read(&dev)?;
        assert_eq!(after[0], 0x11);
        assert_eq!(&after[stride + 6..stride + 8], &[0, 0]);
        Ok(())
    }

    #[test]
    fn thirty_two_bits_and_bad_descriptions() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (dev, sys) = fake(dir.path(), 2, 2, 32)?;
        let mut fb = FramebufferDisplay::open(&dev, &sys)?;
        let mut f = Frame::new(2, 2, Rgb888::BLACK);
        f.set_pixel(0, 0, Rgb888::new(1, 2, 3));
        fb.show(f.clone())?;
        assert_eq!(&std::fs::read(&dev)?[..4], &[3, 2, 1, 0xFF]);
        std::fs::write(sys.join("bits_per_pixel"), "24\n")?;
        assert!(FramebufferDisplay::open(&dev, &sys).is_err());
        std::fs::write(sys.join("virtual_size"), "lots\n")?;
        assert!(FramebufferDisplay::open(&dev, &sys).is_err());
        assert!(fb.show(Frame::new(3, 3, Rgb888::BLACK)).is_err());
        Ok(())
    }
}
