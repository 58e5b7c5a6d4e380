//! The reader on a real pseudo-terminal, driven by a minimal host written in the test:
//! timing, a sale, faults, and what the host's port sees when the cable is pulled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::link::{Frame, Item, NAK, Parser, ack, encode};
use super::machine::{self, CANCEL, ENABLE, INFO, OUTCOME, PING};
use super::*;
use std::io::{Read, Write};

/// A host: the test's side of the port.
struct Host {
    port: serialport::TTYPort,
    parser: Parser,
    seq: u8,
    items: std::collections::VecDeque<Item>,
}

impl Host {
    fn open(path: &str) -> Host {
        let port = serialport::new(path, 115_200).timeout(Duration::from_millis(20)).open_native().unwrap();
        Host { port, parser: Parser::default(), seq: 0, items: Default::default() }
    }

    fn send(&mut self, cmd: u8, data: &[u8]) -> u8 {
        self.seq = link::next_seq(self.seq);
        self.port.write_all(&encode(self.seq, cmd, data)).unwrap();
        self.seq
    }

    fn write(&mut self, bytes: &[u8]) {
        self.port.write_all(bytes).unwrap();
    }

    /// The next item within `timeout`, and when it was complete.
    fn next(&mut self, timeout: Duration) -> Option<(Item, Instant)> {
        let end = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        loop {
            let now = Instant::now();
            if let Some(i) = self.items.pop_front() {
                return Some((i, now));
            }
            if let Some(i) = self.parser.next(now) {
                return Some((i, now));
            }
            if now > end {
                return None;
            }
            match self.port.read(&mut buf) {
                Ok(n) => self.parser.push(&buf[..n], Instant::now()),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("host read failed: {e}"),
            }
        }
    }

    fn expect_ack(&mut self, seq: u8) -> Instant {
        match self.next(Duration::from_secs(1)) {
            Some((Item::Ack(s), at)) if s == seq => at,
            other => panic!("expected ACK {seq}, got {other:?}"),
        }
    }

    /// The reader's next frame, acknowledged.
    fn frame(&mut self) -> Frame {
        self.frame_unacked(true)
    }

    fn frame_unacked(&mut self, acknowledge: bool) -> Frame {
        loop {
            match self.next(Duration::from_secs(2)) {
                Some((Item::Frame(f), _)) => {
                    if acknowledge {
                        self.write(&ack(f.seq));
                    }
                    return f;
                }
                Some((Item::Ack(_) | Item::Damaged(_), _)) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    fn quiet(&mut self, d: Duration) -> bool {
        self.next(d).is_none()
    }
}

fn reader() -> (Arc<SimCardReader>, CancellationToken) {
    let cancel = CancellationToken::new();
    let r = SimCardReader::start_with(cancel.clone(), machine::tests::fake_crypto()).unwrap();
    (r, cancel)
}

fn enable(txn: u32, amount: u32) -> Vec<u8> {
    let mut d = txn.to_be_bytes().to_vec();
    d.extend(amount.to_be_bytes());
    d.extend(b"SEK");
    d.extend([2, 30, 0]);
    d
}

#[test]
fn answers_info_and_ping_within_100_ms_on_a_real_pty() {
    let (r, _c) = reader();
    assert!(std::fs::symlink_metadata(&r.path).unwrap().file_type().is_symlink());
    let mut h = Host::open(&r.path);
    for _ in 0..20 {
        let sent = Instant::now();
        let seq = h.send(PING, &[]);
        assert!(h.expect_ack(seq) - sent < Duration::from_millis(100));
        let status = h.frame();
        assert_eq!((status.cmd, status.data.as_slice()), (machine::STATUS, &[0, 0, 0, 0, 0, 0][..]));
    }
    let seq = h.send(INFO, &[2, 0]);
    h.expect_ack(seq);
    let info = h.frame();
    assert_eq!((info.cmd, info.seq), (machine::INFO_REPLY, 21));
    assert!(info.data.ends_with(b"SIM-RDR 2.4.1\0posagent-sim reader"));
    wait(|| r.stats().host_ack_latencies_us.len() == 21);
    let s = r.stats();
    assert_eq!((s.link.frames_received, s.link.frames_sent), (21, 21));
    assert!(s.summary().ack_max_us.unwrap() < 100_000, "{:?}", s.summary());
    assert_eq!(r.state().host_version, Some((2, 0)));
}

#[test]
fn a_card_sale_over_the_pty() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    assert_eq!(r.present(TestCard::Approve, Presentation::Tap), Err("the card reader is not waiting for a card"));
    let seq = h.send(ENABLE, &enable(0x2A, 8990));
    h.expect_ack(seq);
    wait(|| r.state().waiting_for == Some((8990, "SEK".into())));
    assert_eq!((r.state().state, r.state().transaction_id), (ReaderPhase::Waiting, Some(0x2A)));
    r.present(TestCard::Approve, Presentation::Tap).unwrap();
    assert_eq!(h.frame().cmd, machine::CARD_PRESENTED);
    let read = h.frame();
    assert_eq!((read.cmd, read.data[..4].to_vec()), (machine::CARD_READ, vec![0, 0, 0, 0x2A]));
    wait(|| r.state().state == ReaderPhase::Read);
    let seq = h.send(OUTCOME, &[0, 0, 0, 0x2A, 0, 0, 0]);
    h.expect_ack(seq);
    let idle = h.frame();
    assert_eq!((idle.cmd, idle.data), (machine::IDLE, vec![0, 0, 0, 0x2A, 2]));
    wait(|| r.state().last_idle == Some((0x2A, "COMPLETED")));
    let s = r.stats();
    assert_eq!(s.reads_sent, 1);
    assert!(
        read.data.windows(s.last_card_data.as_ref().unwrap().len()).any(|w| w == s.last_card_data.as_deref().unwrap())
    );
}

/// Waits for `cond`, polling every 5 ms, up to 10 s (generous for a loaded CI machine;
/// a passing test waits only as long as the condition takes).
fn wait(cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "condition not met in 10 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn duplicates_are_acked_and_dropped_and_damage_is_naked() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    let f = encode(1, PING, &[]);
    h.write(&f);
    h.expect_ack(1);
    h.frame();
    h.write(&f);
    h.expect_ack(1);
    assert!(h.quiet(Duration::from_millis(100)), "a duplicate PING is not answered again");
    // A damaged frame then the good one: NAK, then the frame is found and acted on.
    let mut bad = encode(2, PING, &[]);
    bad[6] ^= 0x55;
    h.write(&[&[0x77, 0x02, 0x00][..], &bad, &encode(2, PING, &[])].concat());
    assert!(matches!(h.next(Duration::from_secs(1)), Some((Item::Nak, _))));
    h.expect_ack(2);
    assert_eq!(h.frame().cmd, machine::STATUS);
    let s = r.stats();
    assert_eq!((s.link.duplicates_received, s.link.naks_sent), (1, 1));
    // A partial frame is dropped after 50 ms of silence (NAKs at most every 100 ms).
    std::thread::sleep(Duration::from_millis(100));
    h.write(&encode(3, PING, &[])[..4]);
    let (item, _) = h.next(Duration::from_millis(200)).unwrap();
    assert_eq!(item, Item::Nak);
}

#[test]
fn the_reader_resends_an_unacknowledged_frame_with_the_same_seq() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    let first = h.frame_unacked(false);
    let again = h.frame_unacked(true);
    assert_eq!(first, again);
    assert!(h.quiet(Duration::from_millis(600)));
    // The NAK asks for it at once.
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    let f = h.frame_unacked(false);
    h.write(&[NAK]);
    assert_eq!(h.frame(), f);
    assert_eq!(r.stats().link.resends, 2);
}

#[test]
fn faults_stray_read_resend_garbage_damage_and_dead() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    r.inject(ReaderFault::StrayRead { card: TestCard::Approve, txn: None }).unwrap();
    let stray = h.frame();
    assert_eq!((stray.cmd, stray.data[..4].to_vec()), (machine::CARD_READ, vec![0, 0, 0, 0]));
    // resend_next_read: the read comes twice with the same SEQ.
    let seq = h.send(ENABLE, &enable(9, 100));
    h.expect_ack(seq);
    r.inject(ReaderFault::ResendNextRead).unwrap();
    wait(|| r.state().waiting_for.is_some());
    r.present(TestCard::Approve, Presentation::Tap).unwrap();
    h.frame();
    let read = h.frame();
    assert_eq!(h.frame(), read, "resent 500 ms later");
    assert_eq!(r.stats().link.acks_ignored, 1);
    // Garbage then a damaged copy in front of the next frame: the frame still arrives.
    r.inject(ReaderFault::Garbage { bytes: vec![0x00, 0x41, 0xFF] }).unwrap();
    r.inject(ReaderFault::DamagedFrame { how: FrameDamage::BadCrc }).unwrap();
    let seq = h.send(CANCEL, &[0, 0, 0, 9]);
    h.expect_ack(seq);
    assert!(matches!(h.next(Duration::from_secs(1)), Some((Item::Damaged(link::Damage::BadCrc), _))));
    let idle = h.frame();
    assert_eq!(idle.data, [0, 0, 0, 9, 0]);
    // Dead: nothing is answered; alive again, it answers.
    wait(|| !r.state().unacknowledged);
    r.inject(ReaderFault::Dead { on: true }).unwrap();
    assert!(r.present(TestCard::Approve, Presentation::Tap).is_err());
    h.send(PING, &[]);
    assert!(h.quiet(Duration::from_millis(300)));
    r.inject(ReaderFault::Dead { on: false }).unwrap();
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    // Slow ACKs.
    h.frame();
    r.inject(ReaderFault::SlowAcks { ms: 200 }).unwrap();
    let sent = Instant::now();
    let seq = h.send(PING, &[]);
    // The STATUS goes out at once; the ACK of the PING 200 ms late.
    assert_eq!(h.frame().cmd, machine::STATUS);
    assert!(h.expect_ack(seq) - sent >= Duration::from_millis(200));
}

#[test]
fn an_error_puts_the_reader_out_of_service_until_repaired() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    r.inject(ReaderFault::Error { code: 0x32, text: None }).unwrap();
    let e = h.frame();
    assert_eq!((e.cmd, e.data), (machine::ERROR, [&[0, 0, 0, 0, 0x32][..], b"TAMPER"].concat()));
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    assert_eq!(h.frame().data, [0xFF, 0, 0, 0, 0, 0x32]);
    assert_eq!(r.state().state, ReaderPhase::OutOfService);
    r.inject(ReaderFault::Repair).unwrap();
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    assert_eq!(h.frame().data, [0, 0, 0, 0, 0, 0]);
    assert!(r.inject(ReaderFault::Error { code: 0, text: None }).is_err());
}

#[test]
fn reboot_restarts_seq_at_1_and_forgets_the_transaction() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    let seq = h.send(ENABLE, &enable(5, 100));
    h.expect_ack(seq);
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    assert_eq!(h.frame().seq, 1);
    r.inject(ReaderFault::Reboot).unwrap();
    // Powered up again: INFO unasked, SEQ 1 (§2.1), then the STATUS of an idle reader.
    let hello = h.frame();
    assert_eq!((hello.seq, hello.cmd), (1, 0x87));
    assert_eq!(r.state().state, ReaderPhase::Idle);
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    let status = h.frame();
    assert_eq!((status.seq, status.data), (2, vec![0, 0, 0, 0, 0, 0]));
}

#[test]
fn unplugging_fails_the_hosts_open_port_and_replugging_keeps_the_path() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    h.frame();
    r.set_plugged(false);
    assert!(!r.state().plugged);
    assert!(std::fs::symlink_metadata(&r.path).is_err(), "the path is gone");
    assert_eq!(r.present(TestCard::Approve, Presentation::Tap), Err("the card reader is unplugged"));
    // Linux hangs up the slave when the master closes: poll reports POLLHUP, so the
    // serialport crate's read and write fail (BrokenPipe), not time out.
    let mut buf = [0u8; 16];
    let read = h.port.read(&mut buf);
    assert!(matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe), "{read:?}");
    let write = h.port.write(&encode(3, PING, &[]));
    assert!(matches!(&write, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe), "{write:?}");
    assert!(serialport::new(&r.path, 115_200).open_native().is_err());
    r.set_plugged(true);
    assert!(r.state().plugged);
    assert!(std::fs::read_link(&r.path).unwrap().starts_with("/dev/pts"), "a fresh PTY behind the same path");
    let mut h = Host::open(&r.path);
    let hello = h.frame();
    assert_eq!((hello.seq, hello.cmd), (1, 0x87), "powered up again: INFO unasked");
    let seq = h.send(PING, &[]);
    h.expect_ack(seq);
    assert_eq!(h.frame().seq, 2);
}

#[test]
fn the_path_is_removed_when_the_reader_stops() {
    let (r, cancel) = reader();
    let path = r.path.clone();
    let dir = std::path::Path::new(&path).parent().unwrap().to_path_buf();
    cancel.cancel();
    wait(|| !dir.exists());
    drop(r);
}

#[test]
fn acks_come_within_100_ms_during_pin_entry_and_with_a_frame_of_its_own_outstanding() {
    let (r, _c) = reader();
    let mut h = Host::open(&r.path);
    let mut e = enable(3, 30000);
    e[13] = machine::FLAG_PIN;
    let seq = h.send(ENABLE, &e);
    h.expect_ack(seq);
    wait(|| r.state().pin);
    r.present(TestCard::PinRequired, Presentation::Insert).unwrap();
    let presented = h.frame_unacked(false);
    assert_eq!(presented.cmd, machine::CARD_PRESENTED);
    assert_eq!(r.state().state, ReaderPhase::Pin);
    let sent = Instant::now();
    let seq = h.send(PING, &[]);
    assert!(h.expect_ack(seq) - sent < Duration::from_millis(100));
    assert!(r.state().unacknowledged);
}

#[test]
fn a_card_read_unacknowledged_after_four_sends_is_forgotten() {
    let t = Instant::now();
    let mut core = Core::new(machine::tests::fake_crypto(), t);
    core.step(&encode(1, ENABLE, &enable(7, 100)), t);
    core.machine.present(TestCard::Approve, Presentation::Tap, t).map(|o| core.send_all(o)).unwrap();
    let first = core.step(&[], t).concat();
    assert!(first.starts_with(&[0x02, 0x00, 0x07, 0x01, machine::CARD_PRESENTED]), "{first:02X?}");
    // Nobody acknowledges: the CARD_PRESENTED and the CARD_READ behind it are given up.
    for i in 1..=4 {
        core.step(&[], t + link::RESEND_AFTER * i);
    }
    assert_eq!(core.stats().link.frames_dropped, 2);
    assert_eq!(core.machine.phase(), ReaderPhase::Idle, "the read is forgotten");
    let status = core.step(&encode(2, PING, &[]), t + Duration::from_secs(3)).concat();
    assert_eq!(status, [&ack(2)[..], &encode(2, machine::STATUS, &[0, 0, 0, 0, 0, 0])].concat());
}
