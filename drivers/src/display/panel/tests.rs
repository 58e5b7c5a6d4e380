//! The panel protocol's codec and driver, byte for byte.

use super::codec::{CMD_HELLO_REPLY, message};
use super::*;
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};

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
    let legacy = encode_hello_reply(800, 480, PanelFormat::Rgb565, None, 0)?;
    assert_eq!(legacy, [&[0x02, b'P'][..], &body, &crc].concat());
    // 240×320 mono with "PNL 1.2": its length, then the ASCII bytes.
    let body = [&[0x81, 13, 0, 0, 0, 0xF0, 0x00, 0x40, 0x01, 0x01, 7][..], b"PNL 1.2"].concat();
    let crc = crc16(&body).to_le_bytes();
    let told = encode_hello_reply(240, 320, PanelFormat::Mono, Some("PNL 1.2"), 0)?;
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
    assert!(encode_hello_reply(1, 1, PanelFormat::Mono, Some(""), 0).is_err());
    assert!(encode_hello_reply(1, 1, PanelFormat::Mono, Some(&"9".repeat(33)), 0).is_err());
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
fn a_panel_is_greeted_sent_only_what_changed_and_a_refused_frame_sent_again() -> Result<(), Box<dyn std::error::Error>>
{
    use crate::transport::ScriptedTransport;
    let white = Frame::new(4, 2, Rgb888::WHITE);
    let mut dot = white.clone();
    dot.set_pixel(2, 1, Rgb888::BLACK);
    let whole = Region { x: 0, y: 0, width: 4, height: 2 };
    let wire = ScriptedTransport::new("panel")
        .expect_write(&encode_hello())
        .reply(&encode_hello_reply(4, 2, PanelFormat::Mono, Some("PNL 1.2"), 0)?)
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
        .reply(&encode_hello_reply(2, 2, PanelFormat::Mono, None, 0)?);
    let script = wire.script();
    let mut panel = PanelDisplay::open(wire)?;
    assert_eq!((panel.size(), panel.firmware().as_deref(), panel.is_mono()), ((4, 2), Some("PNL 1.2"), true));
    panel.show(white.clone())?;
    panel.show(dot.clone())?;
    panel.show(dot.clone())?; // nothing changed: nothing sent
    assert!(matches!(panel.show(white.clone()), Err(PanelError::Protocol(_))));
    panel.show(white.clone())?;
    panel.ping()?;
    assert_eq!((panel.size(), panel.firmware()), ((2, 2), None));
    // A frame of the old size does not fit the new panel: a configuration error.
    let e = panel.show(white.clone()).err().map(|e| e.kind());
    assert_eq!(e, Some(crate::ErrorKind::Configuration));
    script.check()?;
    Ok(())
}

#[test]
fn a_hello_reply_tells_its_features_after_the_firmware() -> Result<(), PanelError> {
    // 800×480 RGB565, "PNL 2.0", PackBits: the firmware's length and bytes, then 0x01.
    let body = [&[0x81, 14, 0, 0, 0, 0x20, 0x03, 0xE0, 0x01, 0x00, 7][..], b"PNL 2.0", &[0x01]].concat();
    let crc = crc16(&body).to_le_bytes();
    let msg = encode_hello_reply(800, 480, PanelFormat::Rgb565, Some("PNL 2.0"), FEATURE_PACKBITS)?;
    assert_eq!(msg, [&[0x02, b'P'][..], &body, &crc].concat());
    match decode_host_message(&msg)? {
        Some((PanelMessage::HelloReply { firmware, features, .. }, _)) => {
            assert_eq!((firmware.as_deref(), features), (Some("PNL 2.0"), FEATURE_PACKBITS));
        }
        other => return Err(PanelError::Protocol(format!("{other:?}"))),
    }
    // Bits this host does not know are kept (and never acted on).
    let later = encode_hello_reply(800, 480, PanelFormat::Rgb565, Some("PNL 9"), 0x81)?;
    assert!(matches!(decode_host_message(&later)?, Some((PanelMessage::HelloReply { features: 0x81, .. }, _))));
    // Features need a firmware version before them; a reply two bytes past it is refused.
    assert!(encode_hello_reply(800, 480, PanelFormat::Rgb565, None, FEATURE_PACKBITS).is_err());
    let too_long = message(CMD_HELLO_REPLY, &[0x20, 0x03, 0xE0, 0x01, 0x00, 1, b'X', 1, 0]);
    assert!(decode_host_message(&too_long).is_err());
    Ok(())
}

#[test]
fn a_packbits_blit_is_byte_exact_and_gives_the_blits_pixels_back() -> Result<(), PanelError> {
    // A white 8×1 row with a red pixel at x=5: FF FF ×5, F8 00, FF FF.
    let mut f = Frame::new(8, 1, Rgb888::WHITE);
    f.set_pixel(5, 0, Rgb888::new(255, 0, 0));
    let region = Region { x: 0, y: 0, width: 8, height: 1 };
    let msg = encode_blit_packed(&f, region, PanelFormat::Rgb565);
    // Region, then PackBits over pixels: 5 × white (FC FF FF), then a literal of three
    // (02 F8 00 FF FF FF FF): a run of two inside a literal is not cut out.
    let payload = [0, 0, 0, 0, 8, 0, 1, 0, 0xFC, 0xFF, 0xFF, 0x02, 0xF8, 0x00, 0xFF, 0xFF, 0xFF, 0xFF];
    let mut body = vec![0x03, payload.len() as u8, 0, 0, 0];
    body.extend_from_slice(&payload);
    let crc = crc16(&body).to_le_bytes();
    assert_eq!(msg, [&[0x02, b'P'][..], &body, &crc].concat());
    let Some((PanelMessage::BlitPacked { region: r, packed }, used)) = decode_host_message(&msg)? else {
        return Err(PanelError::Protocol("not a packed blit".into()));
    };
    assert_eq!((r, used), (region, msg.len()));
    assert_eq!(unpack_blit(r, &packed, PanelFormat::Rgb565)?, blit_pixels(&f, region, PanelFormat::Rgb565));
    // The same data read by a 1-bit panel (byte units) does not add up: refused.
    assert!(unpack_blit(r, &packed, PanelFormat::Mono).is_err());
    // Pixels that do not shrink go as a plain BLIT.
    let mut noise = Frame::new(8, 1, Rgb888::WHITE);
    for x in 0..8 {
        noise.set_pixel(x, 0, Rgb888::new(x as u8 * 30, 255 - x as u8 * 20, x as u8 * 7));
    }
    assert_eq!(
        encode_blit_packed(&noise, region, PanelFormat::Rgb565),
        encode_blit(&noise, region, PanelFormat::Rgb565)
    );
    Ok(())
}

#[test]
fn a_panel_that_takes_packbits_is_sent_packbits_and_a_swapped_one_the_whole_frame_again()
-> Result<(), Box<dyn std::error::Error>> {
    use crate::transport::ScriptedTransport;
    let white = Frame::new(16, 2, Rgb888::WHITE);
    let mut dot = white.clone();
    dot.set_pixel(3, 1, Rgb888::BLACK);
    let whole = Region { x: 0, y: 0, width: 16, height: 2 };
    let wire = ScriptedTransport::new("panel")
        .expect_write(&encode_hello())
        .reply(&encode_hello_reply(16, 2, PanelFormat::Mono, Some("PNL 2.0"), FEATURE_PACKBITS)?)
        .expect_write(&encode_blit_packed(&white, whole, PanelFormat::Mono))
        .reply(&[ACK])
        .expect_write(&encode_blit_packed(&dot, Region { x: 3, y: 1, width: 1, height: 1 }, PanelFormat::Mono))
        .reply(&[ACK])
        // The same size, but a panel without PackBits now: the next frame whole, plain.
        .expect_write(&encode_hello())
        .reply(&encode_hello_reply(16, 2, PanelFormat::Mono, Some("PNL 1.2"), 0)?)
        .expect_write(&encode_blit(&dot, whole, PanelFormat::Mono))
        .reply(&[ACK]);
    let script = wire.script();
    let mut panel = PanelDisplay::open(wire)?;
    panel.show(white.clone())?;
    panel.show(dot.clone())?;
    panel.ping()?;
    panel.show(dot.clone())?;
    script.check()?;
    // The whole white frame is 4 bytes of zero bits: one run, shorter than plain.
    assert_ne!(encode_blit_packed(&white, whole, PanelFormat::Mono), encode_blit(&white, whole, PanelFormat::Mono));
    Ok(())
}
