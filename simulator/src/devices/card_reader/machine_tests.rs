//! Tests of the reader's transaction state machine, with stand-in crypto.
#![allow(clippy::unwrap_used)]

use super::reads::Encrypted;
use super::*;
use crate::card_crypto::{CryptoError, PlainRead};

fn fake_tlv(items: &[(&[u8], &[u8])]) -> Vec<u8> {
    items.iter().flat_map(|(t, v)| [t.to_vec(), vec![v.len() as u8], v.to_vec()].concat()).collect()
}

fn fake_encrypt(_ksn: &[u8; 12], read: &PlainRead) -> Result<Encrypted, CryptoError> {
    let mut data = read.emv_tlv.clone();
    data.push(0x80);
    data.resize(data.len().div_ceil(16) * 16, 0);
    Ok((data, read.pin.as_ref().map(|_| [0xB1; 16])))
}

/// Stand-in crypto: the plaintext padded, PIN block 16 × B1.
pub(crate) fn fake_crypto() -> Crypto {
    Crypto { emv_tlv: fake_tlv, encrypt: fake_encrypt }
}

fn machine(t: Instant) -> Machine {
    Machine::new(fake_crypto(), t)
}

fn enable(txn: u32, amount: u32, currency: &str, timeout: u8, flags: u8) -> Vec<u8> {
    let mut d = txn.to_be_bytes().to_vec();
    d.extend(amount.to_be_bytes());
    d.extend(currency.as_bytes());
    d.extend([2, timeout, flags]);
    d
}

fn ev(cmd: u8, txn: u32, rest: &[u8]) -> Outgoing {
    frame(cmd, txn, rest)
}

fn outcome(txn: u32, result: u8) -> Vec<u8> {
    let mut d = txn.to_be_bytes().to_vec();
    d.extend([result, 0, 0]);
    d
}

/// TLV items of a CARD_READ (after the txn).
fn tags(read: &Outgoing) -> Vec<(u8, Vec<u8>)> {
    let mut d = &read.data[4..];
    let mut out = vec![];
    while d.len() >= 3 {
        let n = usize::from(u16::from_be_bytes([d[1], d[2]]));
        out.push((d[0], d[3..3 + n].to_vec()));
        d = &d[3 + n..];
    }
    assert!(d.is_empty());
    out
}

fn tag(read: &Outgoing, t: u8) -> Option<Vec<u8>> {
    tags(read).into_iter().find(|(k, _)| *k == t).map(|(_, v)| v)
}

#[test]
fn a_tapped_card_is_read_and_the_outcome_ends_the_transaction() {
    let t = Instant::now();
    let mut m = machine(t);
    assert_eq!(m.command(ENABLE, &enable(0x2A, 1250, "EUR", 30, 0), t), []);
    assert_eq!((m.phase(), m.waiting_for()), (Phase::Waiting, Some((1250, "EUR".into()))));
    let out = m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(out[0], ev(CARD_PRESENTED, 0x2A, &[2]));
    let read = &out[1];
    assert_eq!((read.cmd, read.txn()), (CARD_READ, 0x2A));
    let keys: Vec<u8> = tags(read).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [1, 2, 3, 4, 6, 7, 8]);
    assert_eq!(tag(read, 1).unwrap(), b"411111******1111");
    assert_eq!(
        (tag(read, 7).unwrap(), tag(read, 8).unwrap()),
        (vec![0xA0, 0, 0, 0, 3, 0x10, 0x10], b"VISA CREDIT".to_vec())
    );
    assert_eq!(tag(read, 2).unwrap(), [0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0, 0, 0, 1]);
    assert_eq!((tag(read, 4).unwrap(), tag(read, 6).unwrap()), (vec![2], vec![0]));
    let data = tag(read, 3).unwrap();
    assert_eq!(data.len() % 16, 0);
    assert_eq!(m.stats.last_card_data.as_ref(), Some(&data));
    // The plaintext carries the ENABLE's amount and currency.
    assert!(data.windows(9).any(|w| w == [0x9F, 0x02, 6, 0, 0, 0, 0, 0x12, 0x50]));
    assert!(data.windows(5).any(|w| w == [0x5F, 0x2A, 2, 0x09, 0x78]));
    assert_eq!(m.phase(), Phase::Read);
    assert_eq!(m.present(TestCard::Approve, Presentation::Tap, t), Err(NOT_WAITING));
    assert_eq!(m.command(OUTCOME, &outcome(0x2A, 0), t), [idle(0x2A, COMPLETED)]);
    assert_eq!((m.phase(), m.led, m.beeps), (Phase::Idle, 1, 1));
    // The next read uses the next KSN.
    m.command(ENABLE, &enable(0x2B, 6000, "SEK", 30, 0), t);
    let out = m.present(TestCard::Decline, Presentation::Tap, t).unwrap();
    assert_eq!(tag(&out[1], 2).unwrap()[8..], [0, 0, 0, 2]);
    assert_eq!(tag(&out[1], 6).unwrap(), [4], "contactless over the CVM limit: consumer device");
}

#[test]
fn an_inserted_card_is_removed_before_the_idle() {
    let t = Instant::now();
    let mut m = machine(t);
    m.command(ENABLE, &enable(7, 1000, "SEK", 30, 0), t);
    let out = m.present(TestCard::Approve, Presentation::Insert, t).unwrap();
    assert_eq!((tag(&out[1], 4).unwrap(), tag(&out[1], 6).unwrap()), (vec![1], vec![2]));
    assert!(m.card_inserted());
    // IDLE at once; the customer takes the card out a moment later.
    assert_eq!(m.command(OUTCOME, &outcome(7, 1), t), [idle(7, COMPLETED)]);
    assert_eq!((m.led, m.beeps, m.card_inserted()), (2, 2, true));
    assert_eq!(m.tick(t + CARD_REMOVAL / 2), []);
    assert_eq!(m.tick(t + CARD_REMOVAL), [ev(CARD_REMOVED, 7, &[])]);
    assert!(!m.card_inserted());
    // The chip declines after an approval: CARD_DECLINED.
    m.armed.chip_declines = true;
    m.command(ENABLE, &enable(8, 1000, "SEK", 30, 0), t);
    m.present(TestCard::Approve, Presentation::Insert, t).unwrap();
    assert_eq!(m.command(OUTCOME, &outcome(8, 0), t), [idle(8, CARD_DECLINED)]);
    // A card presented for the next transaction: the old one comes out first.
    m.command(ENABLE, &enable(9, 1000, "SEK", 30, 0), t);
    let out = m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(out[..2], [ev(CARD_REMOVED, 8, &[]), ev(CARD_PRESENTED, 9, &[2])]);
}

#[test]
fn pin_transactions_take_only_the_chip_and_read_after_the_pin() {
    let t = Instant::now();
    let mut m = machine(t);
    m.command(ENABLE, &enable(9, 30000, "SEK", 30, FLAG_PIN), t);
    assert!(m.pin_requested());
    let out = m.present(TestCard::PinRequired, Presentation::Tap, t).unwrap();
    assert_eq!(out, [ev(CARD_PRESENTED, 9, &[2]), error(9, USE_CHIP, "insert the card")]);
    assert_eq!(m.phase(), Phase::Waiting);
    let out = m.present(TestCard::PinRequired, Presentation::Insert, t).unwrap();
    assert_eq!(out, [ev(CARD_PRESENTED, 9, &[1])]);
    assert_eq!(m.phase(), Phase::Pin);
    assert_eq!(m.status().data, [3, 0, 0, 0, 9, 0]);
    assert_eq!(m.tick(t + PIN_ENTRY / 2), []);
    let out = m.tick(t + PIN_ENTRY);
    assert_eq!(tag(&out[0], 5).unwrap(), [0xB1; 16]);
    assert_eq!(tag(&out[0], 6).unwrap(), [1]);
    assert_eq!(m.stats.last_pin_block, Some([0xB1; 16]));
    assert_eq!(m.phase(), Phase::Read);
}

#[test]
fn no_swipe_refuses_the_stripe() {
    let t = Instant::now();
    let mut m = machine(t);
    m.command(ENABLE, &enable(3, 100, "SEK", 30, FLAG_NO_SWIPE), t);
    let out = m.present(TestCard::Approve, Presentation::Swipe, t).unwrap();
    assert_eq!(out[1], error(3, USE_CHIP, "insert the card"));
    let out = m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(out[1].cmd, CARD_READ);
}

#[test]
fn cancel_ends_an_open_transaction_and_answers_not_open_otherwise() {
    let t = Instant::now();
    let mut m = machine(t);
    assert_eq!(m.command(CANCEL, &[0, 0, 0, 5], t), [idle(5, NOT_OPEN)]);
    assert_eq!(m.command(OUTCOME, &outcome(5, 2), t), [idle(5, NOT_OPEN)]);
    m.command(ENABLE, &enable(5, 100, "SEK", 30, 0), t);
    assert_eq!(m.command(CANCEL, &[0, 0, 0, 5], t), [idle(5, CANCELED)]);
    m.command(ENABLE, &enable(6, 100, "SEK", 30, 0), t);
    m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(m.command(CANCEL, &[0, 0, 0, 6], t), [idle(6, CANCELED)]);
    assert_eq!(m.command(OUTCOME, &outcome(6, 0), t), [idle(6, NOT_OPEN)], "the read was forgotten");
}

#[test]
fn enable_supersedes_the_open_transaction() {
    let t = Instant::now();
    let mut m = machine(t);
    m.command(ENABLE, &enable(1, 100, "SEK", 30, 0), t);
    m.present(TestCard::Approve, Presentation::Insert, t).unwrap();
    let out = m.command(ENABLE, &enable(2, 100, "SEK", 30, 0), t);
    assert_eq!(out, [idle(1, SUPERSEDED)]);
    assert_eq!((m.open_txn(), m.phase()), (Some(2), Phase::Waiting));
    // The card of 1 is not read for 2; it comes out when asked.
    assert_eq!(m.tick(t + CARD_REMOVAL), [ev(CARD_REMOVED, 1, &[])]);
    assert_eq!(m.waiting_for(), Some((100, "SEK".into())));
}

#[test]
fn bad_commands_are_refused_with_bad_command() {
    let t = Instant::now();
    let mut m = machine(t);
    let bad = |txn: u32| (ERROR, txn, BAD_COMMAND);
    type Case = (u8, Vec<u8>, (u8, u32, u8));
    let cases: Vec<Case> = vec![
        (ENABLE, enable(0, 100, "SEK", 30, 0), bad(0)),
        (ENABLE, enable(4, 100, "SEK", 0, 0), bad(4)),
        (ENABLE, enable(4, 100, "SEK", 30, 0x04), bad(4)),
        (ENABLE, enable(4, 100, "sek", 30, 0), bad(4)),
        (ENABLE, enable(4, 100, "SEK", 30, 0)[..13].to_vec(), bad(4)),
        (CANCEL, vec![0, 0, 0, 0], bad(0)),
        (OUTCOME, vec![0, 0, 0, 4, 3, 0, 0], bad(4)),
        (OUTCOME, vec![0, 0, 0, 4, 0, 0, 2, 0x91], bad(4)),
        (BEEP, vec![6], bad(0)),
        (LED, vec![4], bad(0)),
        (PING, vec![0], bad(0)),
        (0x42, vec![], bad(0)),
    ];
    for (cmd, data, want) in cases {
        let out = m.command(cmd, &data, t);
        assert_eq!(out.len(), 1, "{cmd:02X} {data:02X?}");
        assert_eq!((out[0].cmd, out[0].txn(), out[0].data[4]), want, "{cmd:02X} {data:02X?}");
    }
    assert_eq!(m.phase(), Phase::Idle);
    // The exponent is checked too (byte 11).
    let mut e = enable(4, 100, "SEK", 30, 0);
    e[11] = 5;
    assert_eq!(m.command(ENABLE, &e, t)[0].data[4], BAD_COMMAND);
}

#[test]
fn an_unknown_currency_fails_the_transaction() {
    let t = Instant::now();
    let mut m = machine(t);
    let out = m.command(ENABLE, &enable(11, 100, "XTS", 30, 0), t);
    assert_eq!(out, [error(11, CURRENCY_NOT_SUPPORTED, "currency not supported"), idle(11, FAILED)]);
    assert_eq!(m.phase(), Phase::Idle);
}

#[test]
fn info_and_status_answer() {
    let t = Instant::now();
    let mut m = machine(t);
    let info = m.command(INFO, &[2, 0], t);
    let mut want = vec![2, 0, 0x0F];
    want.extend(b"SIM-RDR 2.4.1\0posagent-sim reader");
    assert_eq!(info, [Outgoing { cmd: INFO_REPLY, data: want }]);
    assert_eq!(m.host_version, Some((2, 0)));
    assert_eq!(m.command(PING, &[], t), [Outgoing { cmd: STATUS, data: vec![0, 0, 0, 0, 0, 0] }]);
    m.command(ENABLE, &enable(0x01020304, 100, "SEK", 30, 0), t);
    assert_eq!(m.command(PING, &[], t)[0].data, [1, 1, 2, 3, 4, 0]);
    assert_eq!(m.command(BEEP, &[3], t), []);
    assert_eq!(m.command(LED, &[3], t), []);
    assert_eq!((m.beeps, m.led), (3, 3));
}

#[test]
fn timers_end_transactions() {
    let t = Instant::now();
    let mut m = machine(t);
    m.command(ENABLE, &enable(1, 100, "SEK", 2, 0), t);
    assert_eq!(m.tick(t + Duration::from_millis(1999)), []);
    assert_eq!(m.tick(t + Duration::from_secs(2)), [idle(1, TIMED_OUT)]);
    m.command(ENABLE, &enable(2, 100, "SEK", 30, 0), t);
    m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    m.saw_frame(t + OUTCOME_TIMEOUT - Duration::from_secs(1));
    assert_eq!(m.tick(t + OUTCOME_TIMEOUT), [idle(2, OUTCOME_TIMED_OUT)]);
    let t2 = t + OUTCOME_TIMEOUT;
    m.command(ENABLE, &enable(3, 100, "SEK", 255, 0), t2);
    assert_eq!(m.tick(t2 + HOST_LOST_AFTER - Duration::from_millis(1)), []);
    assert_eq!(m.tick(t2 + HOST_LOST_AFTER), [idle(3, HOST_LOST)]);
}

#[test]
fn injected_errors_act_by_their_kind() {
    let t = Instant::now();
    let mut m = machine(t);
    assert_eq!(m.inject_error(0, "x", t), Err("ERROR code 0 does not exist"));
    assert_eq!(m.inject_error(0x01, "x", t).unwrap(), [error(0, 0x01, "x")]);
    m.command(ENABLE, &enable(1, 100, "SEK", 30, 0), t);
    assert_eq!(m.inject_error(0x01, "x", t).unwrap(), [error(1, 0x01, "x")]);
    assert_eq!(m.phase(), Phase::Waiting, "retryable");
    assert_eq!(m.inject_error(0x20, "x", t).unwrap(), [error(1, 0x20, "x")]);
    assert_eq!(m.phase(), Phase::Waiting, "BAD_COMMAND changes nothing");
    assert_eq!(m.inject_error(0x10, "x", t).unwrap(), [error(1, 0x10, "x"), idle(1, FAILED)]);
    m.command(ENABLE, &enable(2, 100, "SEK", 30, 0), t);
    assert_eq!(m.inject_error(0x32, "x", t).unwrap(), [error(2, 0x32, "x"), idle(2, FAILED)]);
    assert_eq!((m.phase(), m.status().data), (Phase::OutOfService, vec![0xFF, 0, 0, 0, 0, 0x32]));
    assert_eq!(m.present(TestCard::Approve, Presentation::Tap, t), Err("the card reader is out of service"));
    let out = m.command(ENABLE, &enable(3, 100, "SEK", 30, 0), t);
    assert_eq!(out, [error(3, 0x32, "out of service"), idle(3, FAILED)]);
    m.reboot(t);
    assert_eq!(m.phase(), Phase::OutOfService, "a power cycle does not repair");
    m.repair();
    assert_eq!(m.status().data, [0, 0, 0, 0, 0, 0]);
}

#[test]
fn stray_reads_carry_a_transaction_that_is_not_open() {
    let t = Instant::now();
    let mut m = machine(t);
    let out = m.stray_read(TestCard::Approve, None).unwrap();
    assert_eq!((out[0].cmd, out[0].txn()), (CARD_READ, 0));
    m.command(ENABLE, &enable(5, 100, "SEK", 30, 0), t);
    m.command(CANCEL, &[0, 0, 0, 5], t);
    m.command(ENABLE, &enable(6, 100, "SEK", 30, 0), t);
    assert_eq!(m.stray_read(TestCard::Approve, None).unwrap()[0].txn(), 5, "the last ended one");
    assert!(m.stray_read(TestCard::Approve, Some(6)).is_err());
    assert_eq!(m.phase(), Phase::Waiting, "the open transaction is untouched");
    assert_eq!(m.stats.reads_sent, 2);
}

#[test]
fn a_held_read_crosses_the_cancel() {
    let t = Instant::now();
    let mut m = machine(t);
    m.armed.hold_read = Some(DEFAULT_HOLD);
    m.command(ENABLE, &enable(5, 100, "SEK", 30, 0), t);
    let out = m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(out, [ev(CARD_PRESENTED, 5, &[2])]);
    assert_eq!(m.present(TestCard::Approve, Presentation::Tap, t), Err(NOT_WAITING));
    let out = m.command(CANCEL, &[0, 0, 0, 5], t + Duration::from_millis(100));
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].cmd, out[0].txn()), (CARD_READ, 5));
    assert_eq!(out[1], idle(5, CANCELED));
    // Without a CANCEL the held read goes out after the hold.
    m.armed.hold_read = Some(DEFAULT_HOLD);
    m.command(ENABLE, &enable(6, 100, "SEK", 30, 0), t);
    m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(m.tick(t + DEFAULT_HOLD / 2), []);
    let out = m.tick(t + DEFAULT_HOLD);
    assert_eq!((out[0].cmd, m.phase()), (CARD_READ, Phase::Read));
}

#[test]
fn a_read_lost_on_the_link_ends_the_transaction_silently() {
    let t = Instant::now();
    let mut m = machine(t);
    m.command(ENABLE, &enable(5, 100, "SEK", 30, 0), t);
    m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    m.read_lost(5, t);
    assert_eq!((m.phase(), m.status().data), (Phase::Idle, vec![0, 0, 0, 0, 0, 0]));
}

#[test]
fn an_exhausted_dukpt_counter_puts_the_reader_out_of_service() {
    let t = Instant::now();
    let mut m = machine(t);
    m.counter = crate::card_crypto::MAX_COUNTER;
    m.command(ENABLE, &enable(4, 100, "SEK", 30, 0), t);
    let out = m.present(TestCard::Approve, Presentation::Tap, t).unwrap();
    assert_eq!(out[1..], [error(4, KEYS_EXHAUSTED, "DUKPT transaction counter exhausted"), idle(4, FAILED)]);
    assert_eq!(m.fault(), Some(KEYS_EXHAUSTED));
}

#[test]
fn reads_decrypt_with_the_test_bdk_to_the_enable_amount_currency_and_pin() {
    let t = Instant::now();
    let mut m = Machine::new(Crypto::real(), t);
    m.command(ENABLE, &enable(1, 30000, "SEK", 30, FLAG_PIN), t);
    m.present(TestCard::PinRequired, Presentation::Insert, t).unwrap();
    let read = m.tick(t + PIN_ENTRY).remove(0);
    let ksn: [u8; 12] = tag(&read, 2).unwrap().try_into().unwrap();
    let pin_block = tag(&read, 5).unwrap();
    let d = crate::card_crypto::decrypt_read(
        &crate::card_crypto::TEST_BDK,
        &ksn,
        &tag(&read, 3).unwrap(),
        Some(&pin_block),
    )
    .unwrap();
    assert_eq!((d.pan.as_str(), d.amount, d.currency_numeric), ("4000000000003220", 30000, 752));
    assert_eq!(d.pin.as_deref(), Some("1234"));
    assert!(d.tags.iter().any(|(k, _)| k == "9F26"));
    // A swipe, and a tap, each under the next counter.
    for (n, how, amount, currency) in [(2u32, Presentation::Swipe, 100, "EUR"), (3, Presentation::Tap, 9999, "CZK")] {
        m.command(ENABLE, &enable(n, amount, currency, 30, 0), t);
        let read = m.present(TestCard::Approve, how, t).unwrap().into_iter().find(|o| o.cmd == CARD_READ).unwrap();
        let ksn: [u8; 12] = tag(&read, 2).unwrap().try_into().unwrap();
        assert_eq!(ksn[8..], n.to_be_bytes());
        let d = crate::card_crypto::decrypt_read(&crate::card_crypto::TEST_BDK, &ksn, &tag(&read, 3).unwrap(), None)
            .unwrap();
        assert_eq!((d.pan.as_str(), d.amount, d.pin), ("4111111111111111", u64::from(amount), None));
        assert_eq!(Some(d.currency_numeric), crate::card_crypto::currency_numeric(currency));
        let track2 = d.tags.iter().any(|(k, _)| k == "57");
        assert_eq!(track2, how == Presentation::Swipe);
        m.command(OUTCOME, &outcome(n, 0), t);
    }
}
