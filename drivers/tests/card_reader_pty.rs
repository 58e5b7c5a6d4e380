//! The card reader link over a real pseudo-terminal, against a counterpart that builds
//! and checks raw bytes as docs/card-reader-protocol.md gives them (its own CRC, not the
//! driver's encoder): version refusal, resends with the same SEQ, duplicate events
//! dropped, damaged frames NAKed and resynchronised, every frame ACKed within 100 ms.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use posagent_drivers::card_reader::{CardReader, CardReaderError, Enable, Event, IdleReason, Inbound};
use posagent_drivers::transport::SerialTransport;
use serialport::SerialPort;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// CRC-16/CCITT-FALSE, bit by bit, as the document states it.
fn crc(bytes: &[u8]) -> u16 {
    let mut c: u16 = 0xFFFF;
    for &b in bytes {
        c ^= u16::from(b) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 { (c << 1) ^ 0x1021 } else { c << 1 };
        }
    }
    c
}

fn frame(seq: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let len = data.len() + 2;
    let mut body = vec![(len >> 8) as u8, len as u8, seq, cmd];
    body.extend_from_slice(data);
    body.push(0x03);
    let c = crc(&body);
    let mut out = vec![0x02];
    out.extend_from_slice(&body);
    out.extend_from_slice(&c.to_be_bytes());
    out
}

fn pty() -> (serialport::TTYPort, String) {
    let (mut master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal");
    master.set_timeout(Duration::from_secs(3)).unwrap();
    let name = slave.name().unwrap();
    std::mem::forget(slave);
    (master, name)
}

fn read_n(port: &mut serialport::TTYPort, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    port.read_exact(&mut buf).unwrap();
    buf
}

/// Reads one host frame (STX … CRC) and checks its CRC; returns (seq, cmd, data).
fn read_frame(port: &mut serialport::TTYPort) -> (u8, u8, Vec<u8>) {
    let head = read_n(port, 3);
    assert_eq!(head[0], 0x02, "a frame starts with STX");
    let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
    let rest = read_n(port, len + 3);
    let mut body = head[1..].to_vec();
    body.extend_from_slice(&rest[..len + 1]);
    assert_eq!(rest[len], 0x03, "ETX");
    assert_eq!(u16::from_be_bytes([rest[len + 1], rest[len + 2]]), crc(&body), "CRC");
    (rest[0], rest[1], rest[2..len].to_vec())
}

fn info_answer(seq: u8, major: u8) -> Vec<u8> {
    frame(seq, 0x87, &[&[major, 0, 0x0F][..], b"TEST 1.0\0PTY reader"].concat())
}

/// The reader side of the opening: INFO in, INFO out.
fn answer_open(port: &mut serialport::TTYPort) {
    let (seq, cmd, data) = read_frame(port);
    assert_eq!((cmd, data.as_slice()), (0x14, &[2u8, 0][..]));
    port.write_all(&[0x06, seq, !seq]).unwrap();
    port.write_all(&info_answer(1, 2)).unwrap();
    assert_eq!(read_n(port, 3), [0x06, 1, 0xFE], "the host acknowledges INFO");
}

fn open(path: &str) -> CardReader<SerialTransport> {
    let (r, info) = CardReader::open(SerialTransport::open(path, 115_200).unwrap(), Duration::from_secs(2)).unwrap();
    assert_eq!((info.major, info.firmware.as_str(), info.model.as_str()), (2, "TEST 1.0", "PTY reader"));
    r
}

fn next_event(r: &mut CardReader<SerialTransport>, within: Duration) -> Option<Inbound> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        r.poll(Duration::from_millis(20)).unwrap();
        if let Some(i) = r.take() {
            return Some(i);
        }
    }
    None
}

#[test]
fn enable_is_resent_with_the_same_seq_until_acknowledged() {
    let (mut port, path) = pty();
    let counterpart = std::thread::spawn(move || {
        answer_open(&mut port);
        let first = read_frame(&mut port);
        assert_eq!(first.1, 0x10, "ENABLE");
        assert_eq!(first.2, [0, 0, 0, 7, 0, 0, 0x04, 0xE2, b'E', b'U', b'R', 2, 30, 1]);
        // NAK: the same frame again; an ACK for another SEQ is ignored: again.
        port.write_all(&[0x15]).unwrap();
        assert_eq!(read_frame(&mut port), first);
        port.write_all(&[0x06, first.0.wrapping_add(1), !first.0.wrapping_add(1)]).unwrap();
        assert_eq!(read_frame(&mut port), first, "a wrong ACK is not this frame's");
        port.write_all(&[0x06, first.0, !first.0]).unwrap();
        port
    });
    let mut r = open(&path);
    let e = Enable { txn: 7, amount: 1250, currency: *b"EUR", exponent: 2, timeout_secs: 30, flags: 1 };
    r.enable(&e).unwrap();
    assert_eq!(r.stats().resends, 2);
    counterpart.join().unwrap();
}

#[test]
fn a_resent_event_is_acknowledged_twice_and_delivered_once() {
    let (mut port, path) = pty();
    let counterpart = std::thread::spawn(move || {
        answer_open(&mut port);
        let idle = frame(2, 0x86, &[0, 0, 0, 9, 1]);
        // The host's ACK "was lost": the reader resends the same frame.
        port.write_all(&idle).unwrap();
        assert_eq!(read_n(&mut port, 3), [0x06, 2, 0xFD]);
        port.write_all(&idle).unwrap();
        assert_eq!(read_n(&mut port, 3), [0x06, 2, 0xFD], "a duplicate is acknowledged again");
        // Damage: a bad LEN, a stray STX, a truncated frame, then the next event.
        port.write_all(&[0x02, 0xFF, 0xFF, 0x02, 0x00, 0x40]).unwrap();
        std::thread::sleep(Duration::from_millis(120));
        port.write_all(&frame(3, 0x86, &[0, 0, 0, 10, 0])).unwrap();
        let mut seen = vec![];
        while seen.len() < 4 {
            seen.extend(read_n(&mut port, 1));
            if seen.ends_with(&[0x06, 3, 0xFC]) {
                break;
            }
        }
        assert!(seen.contains(&0x15), "the damaged bytes were NAKed: {seen:02X?}");
        assert!(seen.ends_with(&[0x06, 3, 0xFC]), "{seen:02X?}");
        port
    });
    let mut r = open(&path);
    let got = next_event(&mut r, Duration::from_secs(2));
    assert_eq!(got, Some(Inbound::Event(Event::Idle { txn: 9, reason: IdleReason::TimedOut })));
    let got = next_event(&mut r, Duration::from_secs(2));
    assert_eq!(
        got,
        Some(Inbound::Event(Event::Idle { txn: 10, reason: IdleReason::Canceled })),
        "the duplicate is dropped"
    );
    assert_eq!(r.stats().duplicates, 1);
    counterpart.join().unwrap();
}

#[test]
fn every_event_is_acknowledged_within_100_ms() {
    let (mut port, path) = pty();
    let counterpart = std::thread::spawn(move || {
        answer_open(&mut port);
        let mut worst = Duration::ZERO;
        for seq in 2..40u8 {
            port.write_all(&frame(seq, 0x83, &[0, 0, 0, 1])).unwrap();
            let sent = Instant::now();
            assert_eq!(read_n(&mut port, 3), [0x06, seq, !seq]);
            worst = worst.max(sent.elapsed());
        }
        (worst, port)
    });
    let mut r = open(&path);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !counterpart.is_finished() && Instant::now() < deadline {
        if r.poll(Duration::from_millis(20)).is_err() {
            break;
        }
        while r.take().is_some() {}
    }
    let (worst, _port) = counterpart.join().unwrap();
    assert!(worst < Duration::from_millis(100), "slowest ACK {worst:?}");
}

#[test]
fn a_v1_reader_and_a_v3_reader_are_refused_with_what_to_do() {
    // v1: its LRC never matches a v2 frame, so it answers NAK to everything.
    let (mut port, path) = pty();
    let v1 = std::thread::spawn(move || {
        for _ in 0..8 {
            let _ = read_frame(&mut port);
            port.write_all(&[0x15]).unwrap();
        }
        port
    });
    let e = CardReader::open(SerialTransport::open(&path, 115_200).unwrap(), Duration::from_secs(1)).err().unwrap();
    assert!(matches!(e, CardReaderError::RefusesEveryFrame), "{e}");
    assert!(e.to_string().contains("v2"), "{e}");
    v1.join().unwrap();
    let (mut port, path) = pty();
    let v3 = std::thread::spawn(move || {
        let (seq, _, _) = read_frame(&mut port);
        port.write_all(&[0x06, seq, !seq]).unwrap();
        port.write_all(&info_answer(1, 3)).unwrap();
        let _ = read_n(&mut port, 3);
        port
    });
    let e = CardReader::open(SerialTransport::open(&path, 115_200).unwrap(), Duration::from_secs(1)).err().unwrap();
    assert!(matches!(e, CardReaderError::Version { major: 3, .. }), "{e}");
    v3.join().unwrap();
}
