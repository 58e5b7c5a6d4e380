//! The card reader driver over a real pseudo-terminal, against an independent counterpart
//! that writes and checks raw bytes as the spec (`docs/card-reader-protocol.md`) gives them.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use posagent_drivers::card_reader::{CardReader, CardReaderError, EntryMode, Event};
use posagent_drivers::transport::SerialTransport;
use serialport::SerialPort;
use std::io::{Read, Write};
use std::time::Duration;

fn lrc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// A frame built by hand from the spec, not with the driver's encoder.
fn frame(cmd: u8, data: &[u8]) -> Vec<u8> {
    let len = data.len() + 1;
    let mut body = vec![(len >> 8) as u8, len as u8, cmd];
    body.extend_from_slice(data);
    body.push(0x03);
    let mut out = vec![0x02];
    out.extend_from_slice(&body);
    out.push(lrc(&body));
    out
}

fn pty() -> (serialport::TTYPort, String) {
    let (mut master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal");
    master.set_timeout(Duration::from_secs(3)).unwrap();
    let name = slave.name().unwrap();
    // Keep the slave end open for the whole test: closing it would hang up the line.
    std::mem::forget(slave);
    (master, name)
}

fn read_exact(port: &mut serialport::TTYPort, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    port.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn enable_card_read_and_acknowledgements_over_a_pty() {
    let (mut reader_side, path) = pty();
    let counterpart = std::thread::spawn(move || {
        // ENABLE 12,50 EUR, 30 s, byte for byte.
        let expected = frame(0x10, &[0x00, 0x00, 0x04, 0xE2, b'E', b'U', b'R', 30]);
        assert_eq!(read_exact(&mut reader_side, expected.len()), expected);
        // First a NAK (line noise), so the host must resend; then ACK.
        reader_side.write_all(&[0x15]).unwrap();
        assert_eq!(read_exact(&mut reader_side, expected.len()), expected);
        reader_side.write_all(&[0x06]).unwrap();
        // Card presented (contactless), then the encrypted read.
        reader_side.write_all(&frame(0x81, &[2])).unwrap();
        assert_eq!(read_exact(&mut reader_side, 1), [0x06]);
        let pan = b"541333******4111";
        let mut tlv = vec![0x01, 0, pan.len() as u8];
        tlv.extend_from_slice(pan);
        tlv.extend_from_slice(&[0x02, 0, 3, 0xFF, 0xEE, 0x01]);
        tlv.extend_from_slice(&[0x03, 0, 5, 9, 8, 7, 6, 5]);
        tlv.extend_from_slice(&[0x04, 0, 1, 2]);
        // A damaged copy first: the host must answer NAK.
        let mut damaged = frame(0x82, &tlv);
        let last = damaged.len() - 1;
        damaged[last] ^= 0x5A;
        reader_side.write_all(&damaged).unwrap();
        assert_eq!(read_exact(&mut reader_side, 1), [0x15]);
        reader_side.write_all(&frame(0x82, &tlv)).unwrap();
        assert_eq!(read_exact(&mut reader_side, 1), [0x06]);
        reader_side.write_all(&frame(0x83, &[])).unwrap();
        assert_eq!(read_exact(&mut reader_side, 1), [0x06]);
        // CANCEL.
        let cancel = frame(0x11, &[]);
        assert_eq!(read_exact(&mut reader_side, cancel.len()), cancel);
        reader_side.write_all(&[0x06]).unwrap();
        reader_side
    });
    let mut reader = CardReader::new(SerialTransport::open(&path, 115_200).unwrap());
    reader.enable(1250, "EUR", 30).unwrap();
    assert_eq!(reader.next_event(Duration::from_secs(3)).unwrap(), Some(Event::CardPresented(EntryMode::Contactless)));
    match reader.next_event(Duration::from_secs(3)).unwrap() {
        Some(Event::CardRead(r)) => {
            assert_eq!(r.masked_pan, "541333******4111");
            assert_eq!(r.ksn, vec![0xFF, 0xEE, 0x01]);
            assert_eq!(r.payload, vec![9, 8, 7, 6, 5]);
            assert_eq!(r.entry_mode, EntryMode::Contactless);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(reader.next_event(Duration::from_secs(3)).unwrap(), Some(Event::CardRemoved));
    reader.cancel().unwrap();
    assert_eq!(reader.next_event(Duration::from_millis(50)).unwrap(), None);
    counterpart.join().unwrap();
}

#[test]
fn a_silent_reader_gives_a_clear_error_after_bounded_retransmits() {
    let (mut reader_side, path) = pty();
    let mut reader = CardReader::new(SerialTransport::open(&path, 115_200).unwrap());
    let e = reader.beep(1).unwrap_err();
    assert!(matches!(e, CardReaderError::NoAck(4)), "{e}");
    // It sent the frame four times.
    let f = frame(0x12, &[1]);
    let mut got = vec![0u8; f.len() * 4];
    reader_side.read_exact(&mut got).unwrap();
    assert!(got.chunks(f.len()).all(|c| c == f.as_slice()));
}

#[test]
fn info_gives_the_firmware_version_and_keeps_other_events() {
    let (mut reader_side, path) = pty();
    let counterpart = std::thread::spawn(move || {
        let info = frame(0x14, &[]);
        assert_eq!(read_exact(&mut reader_side, info.len()), info);
        reader_side.write_all(&[0x06]).unwrap();
        // A card removal arrives before the answer: the host keeps it for later.
        reader_side.write_all(&frame(0x83, &[])).unwrap();
        assert_eq!(read_exact(&mut reader_side, 1), [0x06]);
        reader_side.write_all(&frame(0x87, b"2.4.1\0SR-300")).unwrap();
        assert_eq!(read_exact(&mut reader_side, 1), [0x06]);
        // An older reader: acknowledges INFO and never answers.
        assert_eq!(read_exact(&mut reader_side, info.len()), info);
        reader_side.write_all(&[0x06]).unwrap();
        reader_side
    });
    let mut reader = CardReader::new(SerialTransport::open(&path, 115_200).unwrap());
    assert_eq!(reader.info(Duration::from_secs(3)).unwrap(), Some(("2.4.1".into(), "SR-300".into())));
    assert_eq!(reader.next_event(Duration::from_secs(1)).unwrap(), Some(Event::CardRemoved));
    assert_eq!(reader.info(Duration::from_millis(300)).unwrap(), None);
    counterpart.join().unwrap();
}
