//! Whole exchanges over a PTY with the serial framing, against a scripted PT on the
//! master side (a blocking thread reading and writing canned bytes).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::time::Duration;

use posagent_zvt_register::serial::{ACK, CrcVariant, NAK, frame};
use posagent_zvt_register::{Behaviour, End, Link, Register, SerialFaults, SerialTimers, command};

fn pty() -> (std::fs::File, std::path::PathBuf) {
    let master = rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY).unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
    let path = std::path::PathBuf::from(name.to_str().unwrap());
    (std::fs::File::from(master), path)
}

fn read_exact(master: &mut std::fs::File, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    master.read_exact(&mut buf).unwrap();
    buf
}

fn fast_timers() -> SerialTimers {
    SerialTimers { t2: Duration::from_millis(500), ..SerialTimers::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_off_over_serial_with_a_corrupted_first_crc_and_a_dropped_ack() {
    let (mut master, path) = pty();
    let command = command::log_off().encode();
    let pt = std::thread::spawn(move || {
        let good = frame(CrcVariant::Kermit, &command);
        // First frame: CRC corrupted → NAK; the repeat is good → ACK.
        let first = read_exact(&mut master, good.len());
        assert_ne!(first, good);
        assert_eq!(first[..first.len() - 1], good[..good.len() - 1]);
        master.write_all(&[NAK]).unwrap();
        assert_eq!(read_exact(&mut master, good.len()), good);
        master.write_all(&[ACK]).unwrap();
        // The PT answers 80 00 00 (a DLE-free APDU); the register withholds the first ACK.
        let answer = frame(CrcVariant::Kermit, &[0x80, 0x00, 0x00]);
        master.write_all(&answer).unwrap();
        master.write_all(&answer).unwrap();
        assert_eq!(read_exact(&mut master, 1), vec![ACK]);
    });
    let link = Link::serial(&path, fast_timers(), SerialFaults::default()).unwrap();
    let mut register = Register::new(link);
    register.behaviour = Behaviour {
        serial: SerialFaults { corrupt_first_crc: true, drop_first_ack: true, pause_in_first_frame: None },
        ..Behaviour::default()
    };
    let outcome = register.log_off().await;
    pt.join().unwrap();
    assert_eq!(outcome.end, End::Completed, "{}", outcome.transcript.dump());
    assert!(outcome.transcript.violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dle_in_the_pt_frame_is_unstuffed_and_a_bad_crc_is_naked() {
    let (mut master, path) = pty();
    let command = command::log_off().encode();
    let pt = std::thread::spawn(move || {
        let good = frame(CrcVariant::Kermit, &command);
        assert_eq!(read_exact(&mut master, good.len()), good);
        master.write_all(&[ACK]).unwrap();
        // 84 10 00: a DLE in the APDU, stuffed on the line. First with a bad CRC.
        let answer = frame(CrcVariant::Kermit, &[0x84, 0x10, 0x00]);
        assert_eq!(&answer[..6], &[0x10, 0x02, 0x84, 0x10, 0x10, 0x00]);
        let mut broken = answer.clone();
        let last = broken.len() - 1;
        broken[last] ^= 0x55;
        master.write_all(&broken).unwrap();
        assert_eq!(read_exact(&mut master, 1), vec![NAK]);
        master.write_all(&answer).unwrap();
        assert_eq!(read_exact(&mut master, 1), vec![ACK]);
    });
    let link = Link::serial(&path, fast_timers(), SerialFaults::default()).unwrap();
    let mut register = Register::new(link);
    let outcome = register.log_off().await;
    pt.join().unwrap();
    assert_eq!(outcome.end, End::Refused(0x10), "{}", outcome.transcript.dump());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_over_t1_mid_frame_is_repeated_after_the_nak() {
    let (mut master, path) = pty();
    let command = command::log_off().encode();
    let pt = std::thread::spawn(move || {
        let good = frame(CrcVariant::Kermit, &command);
        // The PT sees half a frame, a gap, the rest: it NAKs; the register repeats.
        assert_eq!(read_exact(&mut master, good.len()), good);
        master.write_all(&[NAK]).unwrap();
        assert_eq!(read_exact(&mut master, good.len()), good);
        master.write_all(&[ACK]).unwrap();
        master.write_all(&frame(CrcVariant::Kermit, &[0x80, 0x00, 0x00])).unwrap();
        assert_eq!(read_exact(&mut master, 1), vec![ACK]);
    });
    let link = Link::serial(&path, fast_timers(), SerialFaults::default()).unwrap();
    let mut register = Register::new(link);
    register.behaviour = Behaviour {
        serial: SerialFaults { pause_in_first_frame: Some(Duration::from_millis(250)), ..SerialFaults::default() },
        ..Behaviour::default()
    };
    let outcome = register.log_off().await;
    pt.join().unwrap();
    assert_eq!(outcome.end, End::Completed, "{}", outcome.transcript.dump());
    assert!(outcome.transcript.entries.iter().any(|e| e.bytes == vec![NAK]));
}
