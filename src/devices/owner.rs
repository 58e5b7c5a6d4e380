//! The one device owner: a thread that holds a driver, takes jobs from a bounded
//! channel, checks the device while idle, and meets every failure with one policy keyed
//! on the drivers' [`ErrorKind`] ([`respond`]). Display, printer and card reader each
//! bring their jobs and what they report of themselves; how a device is opened, closed,
//! reopened and shown in `/health` is here.

use super::{JOB_QUEUE, SharedHealth, set_health};
use posagent_drivers::ErrorKind;
use posagent_drivers::card_reader::CardReaderError;
use posagent_drivers::display::PanelError;
use posagent_drivers::printer::PrinterError;
use posagent_drivers::transport::{Transport, TransportError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

/// How long a device that does not fit its profile is left closed before it is tried
/// again (a wrong protocol version, a panel of another size).
pub(crate) const MISCONFIGURED_PAUSE: Duration = Duration::from_secs(5);

/// How an owner reaches its device's byte stream: `open_transport` of the profile's
/// endpoint in the daemon, scripted transports in tests.
pub(crate) type Connect = Box<dyn FnMut() -> Result<Box<dyn Transport>, TransportError> + Send>;

/// The daemon's way: the endpoint's transport.
pub(crate) fn connect_to(endpoint: &crate::config::Endpoint) -> Connect {
    let endpoint = endpoint.clone();
    Box::new(move || super::open_transport(&endpoint))
}

/// A driver error the owner can act on.
pub(crate) trait Fault: std::fmt::Display {
    /// What kind of failure it is.
    fn kind(&self) -> ErrorKind;
}

impl Fault for TransportError {
    fn kind(&self) -> ErrorKind {
        TransportError::kind(self)
    }
}
impl Fault for PanelError {
    fn kind(&self) -> ErrorKind {
        PanelError::kind(self)
    }
}
impl Fault for PrinterError {
    fn kind(&self) -> ErrorKind {
        PrinterError::kind(self)
    }
}
impl Fault for CardReaderError {
    fn kind(&self) -> ErrorKind {
        CardReaderError::kind(self)
    }
}

/// What the owner does about a failed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Response {
    /// The device did not answer in time: close it, and do the job once more on the
    /// reopened device if doing it twice is harmless (a screen; never a receipt).
    RetryAfterReopen,
    /// The link is gone or out of step: close it; it is reopened by the next job or
    /// check.
    Reopen,
    /// The device needs the cashier (paper, cover): it stays open, the job fails (a
    /// receipt is held) and the condition shows until the device reports it cleared.
    AlertCashier,
    /// The device reports a fault of its own: it stays open and shows out of service
    /// for store IT until it reports itself well.
    OutOfService,
    /// The device does not fit its profile: the job is given up, the device closed and
    /// tried again only after [`MISCONFIGURED_PAUSE`].
    GiveUp,
}

/// The one policy: what every kind of driver error calls for.
pub(crate) fn respond(kind: ErrorKind) -> Response {
    match kind {
        ErrorKind::Timeout => Response::RetryAfterReopen,
        ErrorKind::Disconnected | ErrorKind::Protocol => Response::Reopen,
        ErrorKind::PaperOut | ErrorKind::CoverOpen => Response::AlertCashier,
        ErrorKind::DeviceFault => Response::OutOfService,
        ErrorKind::Configuration => Response::GiveUp,
        // A kind added to the drivers later: start over from a fresh link.
        _ => Response::Reopen,
    }
}

impl Response {
    /// Whether the device is closed.
    pub(crate) fn closes(self) -> bool {
        matches!(self, Response::RetryAfterReopen | Response::Reopen | Response::GiveUp)
    }
}

/// What an operation on the device is done for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// A job someone waits for; `repeatable` when doing it twice is harmless.
    Job {
        /// Safe to do again after a timeout.
        repeatable: bool,
    },
    /// The owner's own check while idle: never repeated, a failure logged when it is news.
    Probe,
}

/// The device as its owner holds it: the open driver (or none), when it may be opened
/// again, and its state in `/health`.
pub(crate) struct Link<D> {
    driver: Option<D>,
    health: SharedHealth,
    device: &'static str,
    /// Not opened by a check before this.
    next_open: Instant,
    /// How long a closed device stays closed before a check opens it again.
    pause: Duration,
    /// The last failure, so a check that keeps failing alike is logged once.
    last_error: Option<String>,
}

impl<D> Link<D> {
    /// A closed link; after a failure it is reopened by a check no sooner than `pause`.
    pub(crate) fn new(health: SharedHealth, pause: Duration) -> Self {
        let device = health.lock().unwrap_or_else(|p| p.into_inner()).device;
        Link { driver: None, health, device, next_open: Instant::now(), pause, last_error: None }
    }

    /// The open driver.
    pub(crate) fn driver(&mut self) -> Option<&mut D> {
        self.driver.as_mut()
    }

    /// The open driver, to read.
    pub(crate) fn driver_ref(&self) -> Option<&D> {
        self.driver.as_ref()
    }

    /// Whether the device is open.
    pub(crate) fn is_open(&self) -> bool {
        self.driver.is_some()
    }

    /// Whether a check should open the device now.
    pub(crate) fn due(&self) -> bool {
        self.driver.is_none() && Instant::now() >= self.next_open
    }

    /// The open driver, opening it with `open` first if it is closed. A failure to open
    /// is the caller's to hand to [`Self::failed`].
    pub(crate) fn open_with<E>(&mut self, open: impl FnOnce() -> Result<D, E>) -> Result<&mut D, E> {
        let driver = match self.driver.take() {
            Some(d) => d,
            None => {
                let d = open()?;
                self.answered();
                d
            }
        };
        Ok(self.driver.insert(driver))
    }

    /// Records an operation that went through.
    pub(crate) fn succeeded(&mut self) {
        if self.driver.is_some() {
            self.answered();
        }
    }

    fn answered(&mut self) {
        if self.last_error.take().is_some() {
            tracing::info!(device = self.device, "device answers again");
        }
        set_health(&self.health, true, None);
    }

    /// Meets a failure with the policy: closes the device if it calls for that, logs it
    /// (a check's only when it is news) and shows it in `/health`.
    pub(crate) fn failed(&mut self, e: &dyn Fault, work: Work) -> Response {
        let response = respond(e.kind());
        let was_open = self.driver.is_some();
        if response.closes() {
            self.driver = None;
            let pause = if response == Response::GiveUp { MISCONFIGURED_PAUSE } else { self.pause };
            self.next_open = Instant::now() + pause;
        }
        let text = e.to_string();
        let news = self.last_error.as_deref() != Some(text.as_str()) || (was_open && response.closes());
        if work != Work::Probe || news {
            let device = self.device;
            match response {
                Response::RetryAfterReopen | Response::Reopen if !was_open => {
                    tracing::warn!(device, error = %text, "device cannot be opened; it is tried again");
                }
                Response::RetryAfterReopen | Response::Reopen => {
                    tracing::warn!(device, error = %text, "device failed; it is reopened");
                }
                Response::AlertCashier => tracing::warn!(device, error = %text, "device needs the cashier"),
                Response::OutOfService => {
                    tracing::error!(device, error = %text, "device reports a fault of its own; store IT should look at it");
                }
                Response::GiveUp => tracing::error!(
                    device,
                    error = %text,
                    "device does not fit its profile; fix the device profile (tried again every {MISCONFIGURED_PAUSE:?})"
                ),
            }
        }
        set_health(&self.health, self.driver.is_some(), Some(text.clone()));
        self.last_error = Some(text);
        response
    }

    /// Does `work` on the device, opening it first if it is closed, and meets a failure
    /// with the policy: a repeatable job that timed out is done once more on the
    /// reopened device.
    pub(crate) fn attempt<E: Fault, T>(
        &mut self,
        work: Work,
        mut open: impl FnMut() -> Result<D, E>,
        mut op: impl FnMut(&mut D) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut retried = false;
        loop {
            let result = self.open_with(&mut open).and_then(&mut op);
            let e = match result {
                Ok(v) => {
                    self.succeeded();
                    return Ok(v);
                }
                Err(e) => e,
            };
            let response = self.failed(&e, work);
            if response == Response::RetryAfterReopen && work == (Work::Job { repeatable: true }) && !retried {
                retried = true;
                continue;
            }
            return Err(e);
        }
    }

    /// Closes the device for good (the daemon stops).
    pub(crate) fn close(&mut self) {
        drop(self.driver.take());
        set_health(&self.health, false, Some("closed: the daemon stopped".into()));
    }
}

/// A device's owner: what it does with its jobs and while idle.
pub(crate) trait Owned: Send + 'static {
    /// The device's jobs.
    type Job: Send + 'static;
    /// Does one job.
    fn run(&mut self, job: Self::Job);
    /// Checks the device (opens it if it is due, asks the open one how it is).
    fn probe(&mut self);
    /// The daemon stops: close the device.
    fn close(&mut self);
}

/// When the owner checks its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Every so often while the service exists; skipped while jobs fill the queue.
    Every(Duration),
    /// Whenever no job waits: the check is the owner's turn of reading the device (a
    /// card reader, read all the time), and it must not block for long.
    Always,
}

enum Msg<J> {
    Job(J),
    Probe,
    Close(oneshot::Sender<()>),
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue is full.
    Full,
    /// The owner thread is gone.
    Stopped,
}

/// The sending side of an owner's bounded queue.
pub(crate) struct Jobs<J> {
    tx: mpsc::Sender<Msg<J>>,
}

impl<J> Clone for Jobs<J> {
    fn clone(&self) -> Self {
        Jobs { tx: self.tx.clone() }
    }
}

impl<J: Send + 'static> Jobs<J> {
    /// Queues the job `make` builds around its answer's sender (waiting while the queue
    /// is full) and waits for the answer; `None` when the owner is gone.
    pub(crate) async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> J) -> Option<T> {
        let (done, answer) = oneshot::channel();
        self.tx.send(Msg::Job(make(done))).await.ok()?;
        answer.await.ok()
    }

    /// Queues `job` if there is room, without waiting.
    pub(crate) fn try_send(&self, job: J) -> Result<(), Refused> {
        self.tx.try_send(Msg::Job(job)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Refused::Full,
            mpsc::error::TrySendError::Closed(_) => Refused::Stopped,
        })
    }

    /// Closes the device after the jobs queued before; the owner thread ends.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

/// Starts `owner` on a thread named `name`, with a queue of [`JOB_QUEUE`] jobs.
pub(crate) fn spawn<O: Owned>(name: &str, pace: Pace, owner: O) -> std::io::Result<Jobs<O::Job>> {
    let (tx, rx) = mpsc::channel(JOB_QUEUE);
    std::thread::Builder::new().name(name.into()).spawn(move || run(rx, pace, owner))?;
    if let Pace::Every(every) = pace {
        spawn_prober(&tx, every);
    }
    Ok(Jobs { tx })
}

fn run<O: Owned>(mut rx: mpsc::Receiver<Msg<O::Job>>, pace: Pace, mut owner: O) {
    loop {
        let msg = match pace {
            Pace::Every(_) => rx.blocking_recv(),
            Pace::Always => match rx.try_recv() {
                Ok(msg) => Some(msg),
                Err(TryRecvError::Empty) => {
                    owner.probe();
                    continue;
                }
                Err(TryRecvError::Disconnected) => None,
            },
        };
        match msg {
            Some(Msg::Job(job)) => owner.run(job),
            Some(Msg::Probe) => owner.probe(),
            Some(Msg::Close(done)) => {
                owner.close();
                // Later jobs are refused as soon as the close is answered.
                drop(rx);
                let _ = done.send(());
                return;
            }
            None => {
                owner.close();
                return;
            }
        }
    }
}

/// Sends a check to the owner every `every` while its service exists; skipped when
/// the queue is full.
fn spawn_prober<J: Send + 'static>(jobs: &mpsc::Sender<Msg<J>>, every: Duration) {
    let weak = jobs.downgrade();
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let Some(jobs) = weak.upgrade() else { return };
                let _ = jobs.try_send(Msg::Probe);
            }
        });
    }
}

#[cfg(test)]
mod tests;
