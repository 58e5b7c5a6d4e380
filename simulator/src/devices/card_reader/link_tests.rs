//! Byte-exact tests of the reader's link: CRC, frames, ACK/NAK, resync, timeouts, resends.
#![allow(clippy::unwrap_used)]

use super::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn crc_is_ccitt_false_with_the_published_check_value() {
    assert_eq!(crc16(b"123456789"), 0x29B1);
    assert_eq!(crc16(b""), 0xFFFF);
    assert_eq!(crc16(&[0x00]), 0xE1F0);
}

#[test]
fn frames_are_encoded_as_the_spec_examples() {
    // §9: INFO 2.0 as the host's first frame.
    assert_eq!(encode(1, 0x14, &[2, 0]), hex("02 00 04 01 14 02 00 03 D2 6B"));
    // §9: ENABLE txn 0x2A, 12,50 EUR, exponent 2, 30 s, no flags, SEQ 1.
    let enable = hex("00 00 00 2A 00 00 04 E2 45 55 52 02 1E 00");
    assert_eq!(encode(1, 0x10, &enable), hex("02 00 10 01 10 00 00 00 2A 00 00 04 E2 45 55 52 02 1E 00 03 21 E2"));
    assert_eq!(encode(2, 0x11, &hex("00 00 00 2A")), hex("02 00 06 02 11 00 00 00 2A 03 7E 30"));
    assert_eq!(encode(1, 0x86, &hex("00 00 00 2A 00")), hex("02 00 07 01 86 00 00 00 2A 00 03 6C F9"));
    assert_eq!(encode(1, 0x16, &[]), hex("02 00 02 01 16 03 52 E2"));
    assert_eq!(ack(1), [0x06, 0x01, 0xFE]);
    assert_eq!(ack(2), [0x06, 0x02, 0xFD]);
    // The CRC covers LEN_H … ETX.
    let f = encode(7, 0x88, &[1, 2, 3]);
    assert_eq!(u16::from_be_bytes([f[f.len() - 2], f[f.len() - 1]]), crc16(&f[1..f.len() - 2]));
    // The largest frame: 1022 bytes of DATA, 1030 bytes in all; more DATA is cut.
    assert_eq!(encode(1, 0x82, &[0x55; 1022]).len(), 1030);
    assert_eq!(encode(1, 0x82, &[0x55; 2000]).len(), 1030);
}

#[test]
fn sequence_numbers_wrap_from_255_to_1() {
    assert_eq!(next_seq(1), 2);
    assert_eq!(next_seq(254), 255);
    assert_eq!(next_seq(255), 1);
}

fn items(p: &mut Parser, now: Instant) -> Vec<Item> {
    std::iter::from_fn(|| p.next(now)).collect()
}

fn frame_item(seq: u8, cmd: u8, data: &[u8]) -> Item {
    let f = encode(seq, cmd, data);
    Item::Frame(Frame { seq, cmd, data: data.to_vec(), crc: u16::from_be_bytes([f[f.len() - 2], f[f.len() - 1]]) })
}

#[test]
fn parser_finds_frames_acks_and_naks_and_drops_noise() {
    let t = Instant::now();
    let mut p = Parser::default();
    // Special bytes inside a frame are data (no stuffing).
    let data = [0x02, 0x03, 0x06, 0x15, 0x02];
    let mut bytes = vec![0x00, 0xFF];
    bytes.extend(encode(5, 0x10, &data));
    bytes.extend([0x06, 0x09, 0xF6, 0x15, 0x41]);
    p.push(&bytes, t);
    assert_eq!(items(&mut p, t), [frame_item(5, 0x10, &data), Item::Ack(9), Item::Nak]);
    // An 06 not followed by SEQ ~SEQ is noise; so is an ACK of SEQ 0.
    p.push(&[0x06, 0x09, 0x00, 0x06, 0x00, 0xFF], t);
    assert_eq!(items(&mut p, t), []);
}

#[test]
fn parser_waits_for_a_frame_split_across_reads() {
    let t = Instant::now();
    let mut p = Parser::default();
    let f = encode(1, 0x16, &[]);
    p.push(&f[..4], t);
    assert_eq!(p.next(t + ms(10)), None);
    p.push(&f[4..], t + ms(20));
    assert_eq!(p.next(t + ms(20)), Some(frame_item(1, 0x16, &[])));
    // An ACK split in two is waited for too.
    p.push(&[0x06], t + ms(30));
    assert_eq!(p.next(t + ms(30)), None);
    p.push(&[0x04, 0xFB], t + ms(40));
    assert_eq!(p.next(t + ms(40)), Some(Item::Ack(4)));
}

#[test]
fn damaged_frames_drop_only_their_stx_and_the_next_frame_is_found() {
    let t = Instant::now();
    let good = encode(2, 0x16, &[]);
    let cases: Vec<(Vec<u8>, Damage)> = vec![
        (hex("02 00 01 01"), Damage::BadLen),
        (hex("02 04 01 01 16"), Damage::BadLen),
        (
            {
                let mut f = encode(1, 0x16, &[]);
                f[5] = 0x04;
                f
            },
            Damage::NoEtx,
        ),
        (
            {
                let mut f = encode(1, 0x16, &[]);
                f[7] ^= 1;
                f
            },
            Damage::BadCrc,
        ),
    ];
    for (bad, why) in cases {
        let mut p = Parser::default();
        let mut bytes = bad.clone();
        bytes.extend(&good);
        p.push(&bytes, t);
        // A 02 inside the dropped bytes may start a long frame: one more timeout then.
        let mut found = items(&mut p, t);
        found.extend(items(&mut p, t + INTER_BYTE_TIMEOUT));
        assert_eq!(found.first(), Some(&Item::Damaged(why)), "{bad:02X?}");
        assert_eq!(found.last(), Some(&frame_item(2, 0x16, &[])), "{bad:02X?}: {found:?}");
    }
}

#[test]
fn a_stray_stx_costs_one_timeout_and_the_frame_behind_it_gets_through() {
    let t = Instant::now();
    let mut p = Parser::default();
    let mut bytes = vec![STX];
    bytes.extend(encode(3, 0x16, &[]));
    p.push(&bytes, t);
    // 02 02 00 reads as LEN 0x0200: a frame in progress until the inter-byte timeout.
    assert_eq!(items(&mut p, t + ms(49)), []);
    assert_eq!(items(&mut p, t + ms(50)), [Item::Damaged(Damage::Partial), frame_item(3, 0x16, &[])]);
}

#[test]
fn a_truncated_frame_never_swallows_the_resend() {
    let t = Instant::now();
    let mut p = Parser::default();
    let f = encode(4, 0x11, &[0, 0, 0, 0x2A]);
    p.push(&f[..6], t);
    assert_eq!(items(&mut p, t + ms(30)), []);
    assert_eq!(items(&mut p, t + ms(60)), [Item::Damaged(Damage::Partial)]);
    p.push(&f, t + ms(70));
    assert_eq!(items(&mut p, t + ms(70)), [frame_item(4, 0x11, &[0, 0, 0, 0x2A])]);
    // A resend arriving inside the truncated frame is found once its STX is dropped.
    let mut p = Parser::default();
    p.push(&f[..6], t);
    p.push(&f, t + ms(10));
    let found = items(&mut p, t + ms(10));
    assert_eq!(found.last(), Some(&frame_item(4, 0x11, &[0, 0, 0, 0x2A])), "{found:?}");
}

fn writes(link: &mut Link, now: Instant) -> Vec<u8> {
    link.poll(now).0.concat()
}

#[test]
fn intact_frames_are_acked_and_duplicates_not_acted_on_twice() {
    let t = Instant::now();
    let mut link = Link::default();
    let ping = encode(1, 0x16, &[]);
    assert_eq!(link.receive(&ping, t).frames.len(), 1);
    assert_eq!(writes(&mut link, t), ack(1));
    // The same SEQ and CRC again: its ACK was lost. ACKed again, not delivered.
    let rx = link.receive(&ping, t);
    assert_eq!((rx.frames.len(), rx.intact), (0, 1));
    assert_eq!(writes(&mut link, t), ack(1));
    // Same SEQ, other CRC: new.
    assert_eq!(link.receive(&encode(1, 0x12, &[1]), t).frames.len(), 1);
    // INFO is always acted on.
    let info = encode(9, 0x14, &[2, 0]);
    assert_eq!(link.receive(&info, t).frames.len(), 1);
    assert_eq!(link.receive(&info, t).frames.len(), 1);
    assert_eq!((link.stats.counters.frames_received, link.stats.counters.duplicates_received), (5, 1));
}

#[test]
fn damaged_frames_are_naked_at_most_once_per_100_ms() {
    let t = Instant::now();
    let mut link = Link::default();
    link.receive(&hex("02 00 00 02 00 01"), t);
    assert_eq!(writes(&mut link, t), [NAK]);
    link.receive(&hex("02 00 00"), t + ms(99));
    assert_eq!(writes(&mut link, t + ms(99)), [0u8; 0]);
    link.receive(&hex("02 00 00"), t + ms(100));
    assert_eq!(writes(&mut link, t + ms(100)), [NAK]);
    assert_eq!((link.stats.counters.damaged_received, link.stats.counters.naks_sent), (4, 2));
}

fn out(cmd: u8) -> Outgoing {
    Outgoing { cmd, data: vec![0, 0, 0, 0x2A, 0] }
}

#[test]
fn stop_and_wait_one_frame_at_a_time_numbered_from_1() {
    let t = Instant::now();
    let mut link = Link::default();
    link.send(out(0x86));
    link.send(out(0x88));
    let first = encode(1, 0x86, &out(0x86).data);
    assert_eq!(writes(&mut link, t), first);
    assert_eq!(writes(&mut link, t + ms(10)), [0u8; 0]);
    // An ACK for another SEQ, or a malformed one, changes nothing.
    link.receive(&[0x06, 0x02, 0xFD, 0x06, 0x01, 0xFF], t + ms(20));
    assert_eq!(writes(&mut link, t + ms(20)), [0u8; 0]);
    link.receive(&ack(1), t + ms(30));
    assert_eq!(writes(&mut link, t + ms(30)), encode(2, 0x88, &out(0x88).data));
    assert_eq!(link.stats.ack_latencies_us.back(), Some(&30_000));
    // While waiting for its own ACK the reader still acknowledges the host's frames.
    link.receive(&encode(1, 0x16, &[]), t + ms(40));
    assert_eq!(writes(&mut link, t + ms(40)), ack(1));
}

#[test]
fn resends_after_500_ms_or_on_nak_then_gives_up_after_four_sends() {
    let t = Instant::now();
    let mut link = Link::default();
    link.send(out(0x82));
    link.send(out(0x86));
    let f = encode(1, 0x82, &out(0x82).data);
    assert_eq!(writes(&mut link, t), f);
    assert_eq!(writes(&mut link, t + ms(499)), [0u8; 0]);
    assert_eq!(writes(&mut link, t + ms(500)), f, "same SEQ, byte for byte");
    link.receive(&[NAK], t + ms(600));
    // A NAK's resend waits until 150 ms after the previous send (§2.2).
    assert_eq!(writes(&mut link, t + ms(600)), [0u8; 0]);
    assert_eq!(writes(&mut link, t + ms(650)), f);
    assert_eq!(writes(&mut link, t + ms(1149)), [0u8; 0]);
    assert_eq!(writes(&mut link, t + ms(1150)), f);
    assert_eq!(link.stats.counters.resends, 3);
    // A NAK after the fourth send does not make a fifth.
    link.receive(&[NAK], t + ms(1200));
    assert_eq!(writes(&mut link, t + ms(1400)), [0u8; 0]);
    let (w, dropped) = link.poll(t + ms(1650));
    assert!(w.is_empty());
    assert_eq!(dropped, [out(0x82), out(0x86)], "the frame and those queued behind it");
    assert_eq!(link.stats.counters.frames_dropped, 2);
    // The next frame takes the next SEQ.
    link.send(out(0x88));
    assert_eq!(writes(&mut link, t + ms(1700)), encode(2, 0x88, &out(0x88).data));
}

#[test]
fn a_nak_with_nothing_outstanding_is_ignored() {
    let t = Instant::now();
    let mut link = Link::default();
    link.receive(&[NAK], t);
    assert_eq!(writes(&mut link, t), [0u8; 0]);
}

#[test]
fn slow_acks_are_written_late() {
    let t = Instant::now();
    let mut link = Link { ack_delay: ms(300), ..Link::default() };
    link.receive(&encode(1, 0x16, &[]), t);
    assert_eq!(writes(&mut link, t + ms(299)), [0u8; 0]);
    assert_eq!(writes(&mut link, t + ms(300)), ack(1));
}

#[test]
fn a_lost_ack_makes_a_resend_with_the_same_seq() {
    let t = Instant::now();
    let mut link = Link { lose_next_read: true, ..Link::default() };
    link.send(Outgoing { cmd: 0x82, data: vec![0, 0, 0, 1] });
    let f = encode(1, 0x82, &[0, 0, 0, 1]);
    assert_eq!(writes(&mut link, t), f);
    link.receive(&ack(1), t + ms(5));
    assert!(link.unacknowledged());
    assert_eq!(writes(&mut link, t + ms(500)), f);
    link.receive(&ack(1), t + ms(505));
    assert!(!link.unacknowledged());
    assert_eq!((link.stats.counters.acks_ignored, link.stats.counters.resends), (1, 1));
}

#[test]
fn a_damaged_copy_goes_before_the_next_frame() {
    use super::super::faults::{FrameDamage, TRUNCATED_PAUSE};
    let t = Instant::now();
    let f = encode(1, 0x86, &out(0x86).data);
    let mut link = Link { damage_next: [FrameDamage::BadCrc].into(), ..Link::default() };
    link.send(out(0x86));
    let mut bad = f.clone();
    *bad.last_mut().unwrap() ^= 0xFF;
    assert_eq!(writes(&mut link, t), [bad, f.clone()].concat());
    let mut link = Link { damage_next: [FrameDamage::Truncated, FrameDamage::StrayStx].into(), ..Link::default() };
    link.send(out(0x86));
    assert_eq!(writes(&mut link, t), f[..f.len() / 2]);
    // A NAK for the truncated copy arrives before the frame is sent: nothing to resend.
    link.receive(&[NAK], t + ms(60));
    assert_eq!(writes(&mut link, t + ms(60)), [0u8; 0]);
    assert_eq!(writes(&mut link, t + TRUNCATED_PAUSE), f);
    assert_eq!(writes(&mut link, t + TRUNCATED_PAUSE + ms(499)), [0u8; 0]);
    // Each armed copy goes in front of one frame: the next one gets the stray STX.
    link.receive(&ack(1), t + TRUNCATED_PAUSE + ms(499));
    link.send(out(0x88));
    let next = encode(2, 0x88, &out(0x88).data);
    assert_eq!(writes(&mut link, t + ms(600)), [&[STX][..], &next].concat());
    link.receive(&ack(2), t + ms(601));
    link.send(out(0x88));
    assert_eq!(writes(&mut link, t + ms(602)), encode(3, 0x88, &out(0x88).data));
}

#[test]
fn reboot_starts_seq_at_1_and_forgets_the_host() {
    let t = Instant::now();
    let mut link = Link::default();
    link.send(out(0x86));
    writes(&mut link, t);
    link.receive(&encode(1, 0x16, &[]), t);
    link.reboot();
    assert_eq!((link.next_seq(), link.unacknowledged()), (1, false));
    assert_eq!(link.receive(&encode(1, 0x16, &[]), t).frames.len(), 1, "not a duplicate after a power cycle");
    assert_eq!(link.stats.counters.frames_received, 2, "counters survive");
}
