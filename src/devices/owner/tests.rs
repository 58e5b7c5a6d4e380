//! The policy for every kind of error, and the owner loop on scripted devices: reopened
//! after a failure, a timed-out job done again only when that is harmless, a device
//! gone and back noticed by the checks, a bounded queue.

use super::*;
use crate::config::Endpoint;
use crate::devices::{PROBE_INTERVAL, new_health, read_health};
use posagent_drivers::transport::{Script, ScriptedTransport, Transport};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

type Plugs = Arc<Mutex<VecDeque<ScriptedTransport>>>;

/// A device that answers each job's bytes with one byte, found on the "port" as the
/// test plugs scripted transports in.
struct Echo {
    link: Link<ScriptedTransport>,
    plugs: Plugs,
    opened: Arc<Mutex<u32>>,
    /// Pause in a check, for [`Pace::Always`].
    idle: Duration,
}

enum Job {
    Send {
        bytes: Vec<u8>,
        repeatable: bool,
        done: oneshot::Sender<Result<u8, String>>,
    },
    /// Holds the owner until the test lets go (told when it holds).
    Hold {
        holding: std::sync::mpsc::Sender<()>,
        until: std::sync::mpsc::Receiver<()>,
    },
}

fn plug_in(plugs: &Plugs) -> impl FnMut() -> Result<ScriptedTransport, TransportError> + '_ {
    move || {
        let next = plugs.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        next.ok_or_else(|| TransportError::Open {
            target: "echo".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "nothing is plugged in"),
        })
    }
}

impl Owned for Echo {
    type Job = Job;

    fn run(&mut self, job: Job) {
        match job {
            Job::Send { bytes, repeatable, done } => {
                let opened = &self.opened;
                let mut open = plug_in(&self.plugs);
                let open = || {
                    *opened.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                    open()
                };
                let r = self.link.attempt(Work::Job { repeatable }, open, |t| {
                    t.write_all(&bytes)?;
                    let mut b = [0u8; 1];
                    t.read_exact(&mut b, Duration::from_millis(10))?;
                    Ok(b[0])
                });
                let _ = done.send(r.map_err(|e| e.to_string()));
            }
            Job::Hold { holding, until } => {
                let _ = holding.send(());
                let _ = until.recv();
            }
        }
    }

    fn probe(&mut self) {
        std::thread::sleep(self.idle);
        if self.link.is_open() || self.link.due() {
            let _ = self.link.attempt(Work::Probe, plug_in(&self.plugs), |t| t.flush());
        }
    }

    fn close(&mut self) {
        self.link.close();
    }
}

struct Rig {
    jobs: Jobs<Job>,
    health: SharedHealth,
    plugs: Plugs,
    opened: Arc<Mutex<u32>>,
}

fn rig(pace: Pace, plugged: Vec<ScriptedTransport>) -> Result<Rig, std::io::Error> {
    let health = new_health("display", &Endpoint::Tcp("echo:1".into()));
    let plugs: Plugs = Arc::new(Mutex::new(plugged.into()));
    let opened = Arc::new(Mutex::new(0));
    let idle = if pace == Pace::Always { Duration::from_millis(5) } else { Duration::ZERO };
    let echo =
        Echo { link: Link::new(health.clone(), Duration::ZERO), plugs: plugs.clone(), opened: opened.clone(), idle };
    let jobs = spawn("echo", pace, echo)?;
    Ok(Rig { jobs, health, plugs, opened })
}

impl Rig {
    async fn send(&self, bytes: &[u8], repeatable: bool) -> Result<u8, String> {
        let bytes = bytes.to_vec();
        self.jobs.ask(|done| Job::Send { bytes, repeatable, done }).await.ok_or("stopped")?
    }

    fn plug(&self, t: ScriptedTransport) {
        self.plugs.lock().unwrap_or_else(|p| p.into_inner()).push_back(t);
    }

    fn opened(&self) -> u32 {
        *self.opened.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (10 s at most) until the health shows what `pred` wants; how long it took.
    async fn until(&self, what: &str, pred: impl Fn(&crate::devices::DeviceHealth) -> bool) -> Duration {
        let start = std::time::Instant::now();
        loop {
            let h = read_health(&self.health);
            if pred(&h) {
                return start.elapsed();
            }
            assert!(start.elapsed() < Duration::from_secs(10), "never {what}: {h:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn checked(script: &Script) {
    if let Err(e) = script.check() {
        panic!("{e}");
    }
}

#[test]
fn every_kind_of_error_has_its_response() {
    let all = [
        (ErrorKind::Disconnected, Response::Reopen),
        (ErrorKind::Timeout, Response::RetryAfterReopen),
        (ErrorKind::Protocol, Response::Reopen),
        (ErrorKind::PaperOut, Response::AlertCashier),
        (ErrorKind::CoverOpen, Response::AlertCashier),
        (ErrorKind::DeviceFault, Response::OutOfService),
        (ErrorKind::Configuration, Response::GiveUp),
    ];
    for (kind, response) in all {
        assert_eq!(respond(kind), response, "{kind:?}");
    }
    // Closed: the link is gone, out of step or wrong. Kept open: the device speaks and
    // will say when the cashier or IT has mended it.
    let closes: Vec<_> = all.iter().filter(|(_, r)| r.closes()).map(|(k, _)| *k).collect();
    assert_eq!(closes, [ErrorKind::Disconnected, ErrorKind::Timeout, ErrorKind::Protocol, ErrorKind::Configuration]);
}

#[test]
fn the_link_closes_shows_and_paces_by_the_policy() {
    let health = new_health("printer", &Endpoint::Tcp("p:9100".into()));
    let mut link: Link<ScriptedTransport> = Link::new(health.clone(), Duration::from_millis(500));
    let gone = TransportError::Closed { target: "p".into() };
    assert!(link.open_with(|| Ok::<_, TransportError>(ScriptedTransport::new("p"))).is_ok());
    assert!(read_health(&health).connected);
    assert_eq!(link.failed(&gone, Work::Probe), Response::Reopen);
    let h = read_health(&health);
    assert!(!h.connected && h.last_error.as_deref() == Some("p closed the connection"), "{h:?}");
    assert!(!link.due(), "reopened no sooner than its pause");
    // Paper out: open, shown, the job failed.
    let paper = PrinterError::NotReady(posagent_drivers::printer::PrinterStatus {
        paper_out: true,
        offline: true,
        ..Default::default()
    });
    assert!(link.open_with(|| Ok::<_, TransportError>(ScriptedTransport::new("p"))).is_ok());
    assert_eq!(link.failed(&paper, Work::Job { repeatable: false }), Response::AlertCashier);
    assert!(link.is_open() && read_health(&health).connected);
    // A device of another protocol version: closed, left alone for a while.
    let wrong = CardReaderError::Version { major: 3, minor: 0 };
    assert_eq!(link.failed(&wrong, Work::Probe), Response::GiveUp);
    assert!(!link.is_open() && !link.due());
    link.close();
    assert_eq!(read_health(&health).last_error.as_deref(), Some("closed: the daemon stopped"));
}

#[tokio::test]
async fn a_failed_job_closes_the_device_and_the_next_job_reopens_it() -> Result<(), Box<dyn std::error::Error>> {
    let first = ScriptedTransport::new("first").expect_write(b"a").reply(&[1]).disconnect();
    let second = ScriptedTransport::new("second").expect_write(b"c").reply(&[3]);
    let (s1, s2) = (first.script(), second.script());
    let rig = rig(Pace::Every(Duration::from_secs(3600)), vec![first, second])?;
    // The first check opens the device at start.
    rig.until("opened at start", |h| h.connected).await;
    assert_eq!(rig.send(b"a", true).await, Ok(1));
    let e = rig.send(b"b", true).await.err().unwrap_or_default();
    assert!(e.contains("closed the connection"), "{e}");
    assert!(!read_health(&rig.health).connected);
    // Not done again on a second device: a disconnect is not a timeout.
    assert_eq!(rig.opened(), 0);
    assert_eq!(rig.send(b"c", true).await, Ok(3));
    assert_eq!(rig.opened(), 1, "reopened by the next job");
    assert!(read_health(&rig.health).connected && read_health(&rig.health).last_error.is_none());
    checked(&s1);
    checked(&s2);
    Ok(())
}

#[tokio::test]
async fn a_timed_out_job_is_done_again_on_the_reopened_device_only_if_that_is_harmless()
-> Result<(), Box<dyn std::error::Error>> {
    let slow = ScriptedTransport::new("slow").expect_write(b"screen").timeout();
    let again = ScriptedTransport::new("again").expect_write(b"screen").reply(&[7]);
    let (s1, s2) = (slow.script(), again.script());
    let rig = rig(Pace::Every(Duration::from_secs(3600)), vec![slow, again])?;
    rig.until("opened at start", |h| h.connected).await;
    assert_eq!(rig.send(b"screen", true).await, Ok(7), "shown on the reopened device");
    checked(&s1);
    checked(&s2);
    // A receipt is never printed twice: the timeout is the job's answer.
    let stalled = ScriptedTransport::new("stalled").expect_write(b"receipt").timeout();
    let untouched = ScriptedTransport::new("untouched").expect_write(b"next");
    let (s3, s4) = (stalled.script(), untouched.script());
    let rig = self::rig(Pace::Every(Duration::from_secs(3600)), vec![stalled, untouched])?;
    rig.until("opened at start", |h| h.connected).await;
    let e = rig.send(b"receipt", false).await.err().unwrap_or_default();
    assert!(e.contains("did not answer"), "{e}");
    checked(&s3);
    assert!(s4.written().is_empty(), "the job was not done again");
    assert_eq!(rig.opened(), 0);
    assert!(!read_health(&rig.health).connected);
    Ok(())
}

#[tokio::test]
async fn a_device_that_goes_away_is_noticed_by_the_checks_and_taken_back() -> Result<(), Box<dyn std::error::Error>> {
    let first = ScriptedTransport::new("first");
    let s1 = first.script();
    let rig = rig(Pace::Every(PROBE_INTERVAL), vec![first])?;
    rig.until("opened at start", |h| h.connected).await;
    s1.unplug();
    let noticed = rig.until("seen gone", |h| !h.connected).await;
    assert!(noticed <= PROBE_INTERVAL * 2, "seen gone after {noticed:?}");
    // Nothing there: the checks keep trying, and show why it is not open.
    rig.until("tried again", |h| h.last_error.as_deref().is_some_and(|e| e.contains("nothing is plugged in"))).await;
    rig.plug(ScriptedTransport::new("back"));
    let back = rig.until("taken back", |h| h.connected && h.last_error.is_none()).await;
    assert!(back <= PROBE_INTERVAL * 2, "taken back after {back:?}");
    Ok(())
}

#[tokio::test]
async fn the_queue_is_bounded_and_a_closed_owner_takes_no_job() -> Result<(), Box<dyn std::error::Error>> {
    let rig = rig(Pace::Always, vec![ScriptedTransport::new("dev").expect_write(b"x").reply(&[9])])?;
    let (holding, held) = std::sync::mpsc::channel();
    let (release, until) = std::sync::mpsc::channel();
    assert_eq!(rig.jobs.try_send(Job::Hold { holding, until }), Ok(()));
    held.recv_timeout(Duration::from_secs(10))?;
    let mut answers = vec![];
    let mut queued = 0;
    loop {
        let (done, answer) = oneshot::channel();
        let job = Job::Send { bytes: b"x".to_vec(), repeatable: false, done };
        match rig.jobs.try_send(job) {
            Ok(()) => {
                queued += 1;
                answers.push(answer);
            }
            Err(refused) => {
                assert_eq!(refused, Refused::Full);
                break;
            }
        }
        assert!(queued <= JOB_QUEUE, "the queue takes more than {JOB_QUEUE}");
    }
    assert_eq!(queued, JOB_QUEUE);
    release.send(())?;
    // Every queued job is answered: the first by the device, the others by its script's end.
    let mut results = vec![];
    for a in answers {
        results.push(a.await?);
    }
    assert_eq!(results[0], Ok(9));
    assert!(results[1..].iter().all(Result::is_err), "{results:?}");
    rig.jobs.close().await;
    assert_eq!(read_health(&rig.health).last_error.as_deref(), Some("closed: the daemon stopped"));
    let (done, _) = oneshot::channel();
    assert_eq!(rig.jobs.try_send(Job::Send { bytes: vec![], repeatable: false, done }), Err(Refused::Stopped));
    Ok(())
}
