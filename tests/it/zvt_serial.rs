//! posagent as a ZVT payment terminal on RS-232: the independent register
//! (`posagent-zvt-register`) and the daemon each open a pseudo-terminal, joined by a
//! null-modem thread pair; the link layer's faults (a corrupted CRC, a withheld ACK, a
//! gap over T1) are the register's.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use posagent_zvt_register::{Behaviour, End, Link, Register, Registration, SerialFaults, SerialTimers};
use serialport::SerialPort;
use std::io::{Read, Write};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Two pseudo-terminals whose masters are wired to each other: what is written to one
/// slave comes out of the other. Returns both slave paths (the ports stay open).
fn null_modem(stop: &CancellationToken) -> (String, String, Vec<serialport::TTYPort>) {
    let (master_a, slave_a) = serialport::TTYPort::pair().unwrap();
    let (master_b, slave_b) = serialport::TTYPort::pair().unwrap();
    let (path_a, path_b) = (slave_a.name().unwrap(), slave_b.name().unwrap());
    let wire = |mut from: serialport::TTYPort, mut to: serialport::TTYPort| {
        from.set_timeout(Duration::from_millis(50)).unwrap();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while !stop.is_cancelled() {
                match from.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = to.write_all(&buf[..n]);
                    }
                    _ => {}
                }
            }
        });
    };
    wire(master_a.try_clone_native().unwrap(), master_b.try_clone_native().unwrap());
    wire(master_b, master_a);
    (path_a, path_b, vec![slave_a, slave_b])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_on_a_serial_line_runs_its_day_through_link_faults() {
    let stop = CancellationToken::new();
    let _stop_wires = stop.clone().drop_guard();
    let (daemon_side, register_side, _ports) = null_modem(&stop);
    let mut h = Harness::without_daemon().await;
    h.start_daemon_with(|c| {
        let zvt = c.zvt.as_mut().unwrap();
        zvt.listen = vec![];
        zvt.serial = Some(daemon_side.clone().into());
    })
    .await;
    let link =
        Link::serial(std::path::Path::new(&register_side), SerialTimers::default(), SerialFaults::default()).unwrap();
    let mut register = Register::new(link);
    // The register's first block arrives with a bad CRC: posagent answers NAK, the repeat
    // is taken.
    register.behaviour = Behaviour {
        serial: SerialFaults { corrupt_first_crc: true, ..SerialFaults::default() },
        ..Behaviour::default()
    };
    let out = register.register(&Registration { currency: Some(752), ..Registration::new(0) }).await;
    assert_eq!(out.end, End::Completed, "{}", out.transcript.dump());
    // Every flow of the day, with a gap over T1 inside the first block of every command:
    // NAK, repeated, taken.
    register.behaviour = Behaviour {
        serial: SerialFaults { pause_in_first_frame: Some(Duration::from_millis(400)), ..SerialFaults::default() },
        ..Behaviour::default()
    };
    crate::zvt::every_flow(&h, &mut register).await;
}
