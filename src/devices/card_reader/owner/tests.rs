//! The card reader's link on scripted readers: a reader of another protocol version is
//! given up for a while, one that goes away is closed and reopened after its pause.

use super::*;
use crate::config::Endpoint;
use crate::devices::{new_health, read_health};
use posagent_drivers::card_reader::{ack, cmd, encode, evt, info_request};
use posagent_drivers::transport::{ScriptedTransport, TransportError};
use std::collections::VecDeque;
use std::sync::Mutex;

/// A reader's answer to INFO: protocol `major`.0, PIN pad and all entry modes.
fn info(major: u8) -> Vec<u8> {
    encode(1, evt::INFO, &[&[major, 0, 0x0F][..], b"TEST 1.0\0scripted reader"].concat())
}

/// The opening: INFO out and acknowledged, the reader's INFO in and acknowledged.
fn opening(major: u8) -> ScriptedTransport {
    ScriptedTransport::new("reader")
        .expect_write(&encode(1, cmd::INFO, &info_request()))
        .reply(&ack(1))
        .reply(&info(major))
        .expect_write(&ack(1))
}

fn reader(plugged: Vec<ScriptedTransport>) -> (Owner, Arc<Mutex<u32>>) {
    let profile = CardReaderProfile { endpoint: Endpoint::Tcp("reader:1".into()), firmware: vec![] };
    let health = new_health("card_reader", &profile.endpoint);
    let plugs = Mutex::new(VecDeque::from(plugged));
    let opened = Arc::new(Mutex::new(0));
    let count = opened.clone();
    let connect: Connect = Box::new(move || {
        *count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let next = plugs.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        next.map(|t| Box::new(t) as Box<dyn Transport>)
            .ok_or_else(|| TransportError::Closed { target: "reader".into() })
    });
    (Owner::new(profile, health, Arc::new(ReaderCounters::default()), connect), opened)
}

#[test]
fn a_reader_of_another_protocol_version_is_left_alone_for_a_while() -> Result<(), Box<dyn std::error::Error>> {
    let v3 = opening(3);
    let script = v3.script();
    let (mut owner, opened) = reader(vec![v3, opening(2)]);
    owner.probe();
    script.check()?;
    let h = read_health(&owner.health);
    assert!(!h.connected && h.last_error.as_deref().is_some_and(|e| e.contains("needs v2")), "{h:?}");
    // The next turns do not try again (the v2 reader waiting on the port is not opened).
    owner.probe();
    assert_eq!(*opened.lock().unwrap_or_else(|p| p.into_inner()), 1);
    assert!(!owner.link.due());
    Ok(())
}

#[test]
fn a_reader_that_goes_away_is_closed_and_reopened_after_its_pause() -> Result<(), Box<dyn std::error::Error>> {
    // Opened; a moment of silence, then the port is gone.
    let gone = opening(2).timeout().disconnect();
    let script = gone.script();
    let (mut owner, opened) = reader(vec![gone, opening(2)]);
    // Opened, then the port closes under the first read.
    owner.probe();
    script.check()?;
    let h = read_health(&owner.health);
    assert_eq!(h.firmware.as_deref(), Some("TEST 1.0"));
    assert!(!h.connected && h.last_error.as_deref().is_some_and(|e| e.contains("closed")), "{h:?}");
    owner.probe();
    assert_eq!(*opened.lock().unwrap_or_else(|p| p.into_inner()), 1, "not before its pause");
    let start = Instant::now();
    while !owner.link.is_open() {
        assert!(start.elapsed() < Duration::from_secs(5), "never reopened");
        owner.probe();
    }
    assert!(start.elapsed() >= REOPEN / 2, "reopened after {:?}", start.elapsed());
    assert!(read_health(&owner.health).connected);
    Ok(())
}
