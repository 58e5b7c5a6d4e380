//! The printer's owner on scripted printers, byte for byte: a receipt held through
//! paper out or an unplugged printer comes out whole, once, when a check finds the
//! printer ready again; paper out keeps the printer open and shows the condition.

use super::*;
use crate::config::Endpoint;
use posagent_drivers::printer::{Align, PrinterProfile, TextStyle, encode_document};
use posagent_drivers::transport::{Script, ScriptedTransport, TransportError};
use std::sync::{Arc, Mutex};

const GS_I_65: [u8; 3] = [0x1D, 0x49, 0x41];
const READY: [u8; 4] = [0x12; 4];
/// Paper end: offline because of it (DLE EOT 1, 2 and 4).
const PAPER_OUT: [u8; 4] = [0x1A, 0x32, 0x12, 0x72];

type Plugs = Arc<Mutex<VecDeque<ScriptedTransport>>>;

fn profile() -> PrinterProfileConfig {
    PrinterProfileConfig {
        endpoint: Endpoint::Tcp("printer:9100".into()),
        profile: PrinterProfile::default(),
        reads_status: true,
        cash_drawer: None,
        firmware: vec![],
    }
}

fn printer(plugs: &Plugs) -> (PrinterOwner, broadcast::Receiver<String>) {
    let profile = profile();
    let health = new_health("printer", &profile.endpoint);
    let plugs = plugs.clone();
    let connect: Connect = Box::new(move || {
        let next = plugs.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        next.map(|t| Box::new(t) as Box<dyn Transport>).ok_or_else(|| TransportError::Open {
            target: "printer:9100".into(),
            source: std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "unplugged"),
        })
    });
    let (announce, printed) = broadcast::channel(8);
    let link = Link::new(health.clone(), Duration::ZERO);
    let held = HeldJobs::default();
    (PrinterOwner { profile, connect, logo: None, health, link, held, announce }, printed)
}

fn receipt() -> Document {
    let line = |text: &str| Block::Line { text: text.into(), style: TextStyle::default(), align: Align::Left };
    Document { blocks: vec![line("Total 12.50"), line("Klarna ref K-1"), Block::Cut] }
}

/// Opened: the firmware asked for and told.
fn opened(t: ScriptedTransport) -> ScriptedTransport {
    t.expect_write(&GS_I_65).reply(b"_TM-T20II 1.0\0")
}

/// The real-time status asked for, `DLE EOT 1..4`, and answered with `replies`.
fn status(t: ScriptedTransport, replies: [u8; 4]) -> ScriptedTransport {
    (1u8..=4).zip(replies).fold(t, |t, (n, r)| t.expect_write(&[0x10, 0x04, n]).reply(&[r]))
}

/// The receipt printed: ready, then its bytes exactly.
fn printed(t: ScriptedTransport, doc: &Document) -> ScriptedTransport {
    status(t, READY).expect_write(&encode_document(doc, &PrinterProfile::default()))
}

fn print_or_hold(owner: &mut PrinterOwner, tag: &str) -> Result<(), DeviceError> {
    let (done, mut answer) = oneshot::channel();
    owner.run(Job::Print { document: receipt(), hold_as: Some(tag.into()), done });
    answer.try_recv().unwrap_or(Err(DeviceError::Stopped("printer")))
}

fn release(owner: &mut PrinterOwner, tag: &str) -> Option<Held> {
    let (done, mut answer) = oneshot::channel();
    owner.run(Job::Release { tag: tag.into(), done });
    answer.try_recv().ok()
}

fn checked(script: &Script) {
    if let Err(e) = script.check() {
        panic!("{e}");
    }
}

#[test]
fn a_receipt_held_by_paper_out_is_printed_once_when_the_paper_is_back() {
    let doc = receipt();
    let t = status(opened(ScriptedTransport::new("printer")), PAPER_OUT);
    // Checks: still out, then a new roll; the held receipt; a check with nothing held.
    let t = status(printed(status(status(t, PAPER_OUT), READY), &doc), READY);
    let script = t.script();
    let plugs: Plugs = Arc::new(Mutex::new(VecDeque::from([t])));
    let (mut owner, mut later) = printer(&plugs);
    let e = print_or_hold(&mut owner, "sale-1").err().map(|e| e.kind());
    assert_eq!(e, Some(posagent_drivers::ErrorKind::PaperOut));
    let h = read_health(&owner.health);
    assert!(h.connected && h.conditions == ["paper_out"], "kept open, the cashier told: {h:?}");
    owner.probe();
    assert_eq!(read_health(&owner.health).conditions, ["paper_out"]);
    assert!(later.try_recv().is_err(), "nothing printed on an empty printer");
    owner.probe();
    assert_eq!(later.try_recv().ok().as_deref(), Some("sale-1"));
    let h = read_health(&owner.health);
    assert!(h.connected && h.conditions.is_empty() && h.last_error.is_none(), "{h:?}");
    owner.probe();
    checked(&script);
    assert_eq!(release(&mut owner, "sale-1"), Some(Held::AlreadyPrinted));
    assert_eq!(release(&mut owner, "sale-2"), Some(Held::Unknown));
}

#[test]
fn a_receipt_held_by_an_unplugged_printer_is_printed_once_on_the_replugged_one() {
    let doc = receipt();
    let gone = opened(ScriptedTransport::new("before")).disconnect();
    let back = status(printed(status(opened(ScriptedTransport::new("after")), READY), &doc), READY);
    let (s1, s2) = (gone.script(), back.script());
    let plugs: Plugs = Arc::new(Mutex::new(VecDeque::from([gone])));
    let (mut owner, mut later) = printer(&plugs);
    let e = print_or_hold(&mut owner, "sale-1").err().map(|e| e.kind());
    assert_eq!(e, Some(posagent_drivers::ErrorKind::Disconnected));
    assert!(!read_health(&owner.health).connected);
    // Nothing on the port yet: the check says why.
    owner.probe();
    let h = read_health(&owner.health);
    assert!(!h.connected && h.last_error.as_deref().is_some_and(|e| e.contains("unplugged")), "{h:?}");
    assert_eq!(release(&mut owner, "other"), Some(Held::Unknown));
    plugs.lock().unwrap_or_else(|p| p.into_inner()).push_back(back);
    owner.probe();
    assert_eq!(later.try_recv().ok().as_deref(), Some("sale-1"));
    owner.probe();
    assert!(later.try_recv().is_err(), "printed once");
    checked(&s1);
    checked(&s2);
    // Asked for by hand after it came out: a copy is for the caller to print.
    assert_eq!(release(&mut owner, "sale-1"), Some(Held::AlreadyPrinted));
}

#[test]
fn a_receipt_released_by_hand_is_not_printed_when_the_printer_is_back() {
    let gone = opened(ScriptedTransport::new("before")).disconnect();
    let back = status(opened(ScriptedTransport::new("after")), READY);
    let s2 = back.script();
    let plugs: Plugs = Arc::new(Mutex::new(VecDeque::from([gone])));
    let (mut owner, mut later) = printer(&plugs);
    assert!(print_or_hold(&mut owner, "sale-1").is_err());
    assert_eq!(release(&mut owner, "sale-1"), Some(Held::Released));
    plugs.lock().unwrap_or_else(|p| p.into_inner()).push_back(back);
    owner.probe();
    assert!(later.try_recv().is_err());
    checked(&s2);
}
