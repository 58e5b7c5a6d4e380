//! Owner thread of the receipt printer.

use super::owner::{self, Connect, Jobs, Link, Owned, Pace, Work};
use super::{
    DeviceError, DeviceHealth, PROBE_INTERVAL, SharedHealth, new_health, printer_conditions, read_health,
    set_conditions, set_firmware,
};
use crate::config::PrinterProfileConfig;
use posagent_drivers::printer::{Block, Document, PrinterError, Raster, ReceiptPrinter};
use posagent_drivers::transport::Transport;
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// What became of a held receipt when it is asked for by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// It was waiting; it is taken off the queue (print it now).
    Released,
    /// It came out already, when the fault cleared (print a copy).
    AlreadyPrinted,
    /// The printer thread does not know it (e.g. after a restart).
    Unknown,
}

enum Job {
    Print {
        document: Document,
        hold_as: Option<String>,
        done: oneshot::Sender<Result<(), DeviceError>>,
    },
    Release {
        tag: String,
        done: oneshot::Sender<Held>,
    },
    /// Kicks the cash drawer open.
    OpenDrawer(oneshot::Sender<Result<(), DeviceError>>),
    /// Answers once every job before it is done, with the receipts still held.
    Flush(oneshot::Sender<usize>),
}

/// Handle to the printer thread.
#[derive(Clone)]
pub struct PrinterService {
    jobs: Jobs<Job>,
    health: SharedHealth,
    printed_later: broadcast::Sender<String>,
    has_drawer: bool,
}

/// Receipts kept while the printer cannot print, printed whole once it can.
#[derive(Default)]
struct HeldJobs {
    queue: VecDeque<(String, Document)>,
    printed: HashSet<String>,
}

impl HeldJobs {
    /// Takes `tag` off the queue, if it waits there.
    fn release(&mut self, tag: &str) -> Held {
        if let Some(i) = self.queue.iter().position(|(t, _)| t == tag) {
            self.queue.remove(i);
            Held::Released
        } else if self.printed.contains(tag) {
            Held::AlreadyPrinted
        } else {
            Held::Unknown
        }
    }
}

type Printer = ReceiptPrinter<Box<dyn Transport>>;

/// The printer's owner: prints, holds receipts through a fault, checks the paper.
struct PrinterOwner {
    profile: PrinterProfileConfig,
    connect: Connect,
    logo: Option<Raster>,
    health: SharedHealth,
    link: Link<Printer>,
    held: HeldJobs,
    announce: broadcast::Sender<String>,
}

impl Owned for PrinterOwner {
    type Job = Job;

    fn run(&mut self, job: Job) {
        match job {
            Job::Print { document, hold_as, done } => {
                let r = self.print(&document);
                if let (Err(_), Some(tag)) = (&r, hold_as) {
                    self.held.queue.push_back((tag, document));
                }
                let _ = done.send(r.map_err(DeviceError::from));
            }
            Job::Release { tag, done } => {
                let _ = done.send(self.held.release(&tag));
            }
            Job::OpenDrawer(done) => {
                let r = self.open_drawer();
                let _ = done.send(r.map_err(DeviceError::from));
            }
            Job::Flush(done) => {
                let _ = done.send(self.held.queue.len());
            }
        }
    }

    fn probe(&mut self) {
        if !self.link.is_open() && !self.link.due() {
            return;
        }
        let (connect, profile, health) = (&mut self.connect, &self.profile, &self.health);
        let r = self.link.attempt(Work::Probe, || open(connect, profile, health), |p| status(p, profile, health));
        self.note(&r);
        if r.is_ok() {
            self.print_held();
        }
    }

    fn close(&mut self) {
        self.link.close();
    }
}

impl PrinterOwner {
    /// Prints `doc` (with the logo) on the printer, opening it first if need be.
    fn print(&mut self, doc: &Document) -> Result<(), PrinterError> {
        let doc = with_logo(doc, self.logo.as_ref());
        let (connect, profile, health) = (&mut self.connect, &self.profile, &self.health);
        // A receipt is never printed twice: one that timed out is held, not sent again.
        let work = Work::Job { repeatable: false };
        let r = self.link.attempt(work, || open(connect, profile, health), |p| p.print(&doc));
        self.note(&r);
        r
    }

    fn open_drawer(&mut self) -> Result<(), PrinterError> {
        let Some(pin) = self.profile.cash_drawer else { return Ok(()) };
        let (connect, profile, health) = (&mut self.connect, &self.profile, &self.health);
        let r = self.link.attempt(
            Work::Job { repeatable: false },
            || open(connect, profile, health),
            |p| p.open_drawer(pin),
        );
        self.note(&r);
        r
    }

    /// The fault cleared: prints what waited, in order, each whole.
    fn print_held(&mut self) {
        while let Some((tag, doc)) = self.held.queue.pop_front() {
            if let Err(e) = self.print(&doc) {
                tracing::warn!(error = %e, "held receipt still cannot be printed");
                self.held.queue.push_front((tag, doc));
                break;
            }
            tracing::info!(tag = %tag, "held receipt printed");
            let _ = self.announce.send(tag.clone());
            self.held.printed.insert(tag);
        }
    }

    /// Shows the conditions an operation's outcome tells.
    fn note(&self, r: &Result<(), PrinterError>) {
        match r {
            Ok(()) => {
                // It printed (or its status is fine): only a roll near its end stays.
                let low = read_health(&self.health).conditions.contains(&"paper_low");
                set_conditions(&self.health, if low { vec!["paper_low"] } else { vec![] });
            }
            Err(PrinterError::NotReady(status)) => set_conditions(&self.health, printer_conditions(status)),
            // Closed: what it reported no longer holds.
            Err(_) if !self.link.is_open() => set_conditions(&self.health, vec![]),
            Err(_) => {}
        }
    }
}

impl PrinterService {
    /// Starts the owner thread; the printer is opened by the first check. `logo` is
    /// printed at the top of every document.
    pub fn start(profile: PrinterProfileConfig, logo: Option<Raster>) -> std::io::Result<Self> {
        let health = new_health("printer", &profile.endpoint);
        let (printed_later, _) = broadcast::channel(64);
        let has_drawer = profile.cash_drawer.is_some();
        let link = Link::new(health.clone(), Duration::ZERO);
        let announce = printed_later.clone();
        let connect = owner::connect_to(&profile.endpoint);
        let held = HeldJobs::default();
        let printer = PrinterOwner { profile, connect, logo, health: health.clone(), link, held, announce };
        let jobs = owner::spawn("printer", Pace::Every(PROBE_INTERVAL), printer)?;
        Ok(PrinterService { jobs, health, printed_later, has_drawer })
    }

    async fn submit(&self, document: Document, hold_as: Option<String>) -> Result<(), DeviceError> {
        let job = |done| Job::Print { document, hold_as, done };
        self.jobs.ask(job).await.ok_or(DeviceError::Stopped("printer"))?
    }

    /// Waits until every receipt sent before is printed (or held); returns how many are
    /// held for a printer fault (they stay unprinted in the journal).
    pub async fn flush(&self) -> usize {
        self.jobs.ask(Job::Flush).await.unwrap_or(0)
    }

    /// Closes the printer (the thread ends; later jobs answer `Stopped`).
    pub async fn close(&self) {
        self.jobs.close().await;
    }

    /// Kicks the cash drawer wired to the printer open; `Ok(false)` if the profile has none.
    pub async fn open_drawer(&self) -> Result<bool, DeviceError> {
        if !self.has_drawer {
            return Ok(false);
        }
        self.jobs.ask(Job::OpenDrawer).await.ok_or(DeviceError::Stopped("printer"))?.map(|()| true)
    }

    /// Prints `document` whole, or reports why not.
    pub async fn print(&self, document: Document) -> Result<(), DeviceError> {
        self.submit(document, None).await
    }

    /// Prints `document`; if the printer cannot (paper out, cover open, unplugged) the
    /// document is kept and printed whole once it can, and `tag` is announced to
    /// [`Self::subscribe_printed_later`]. The error still tells why it did not print now.
    pub async fn print_or_hold(&self, document: Document, tag: &str) -> Result<(), DeviceError> {
        self.submit(document, Some(tag.to_string())).await
    }

    /// Takes a held document off the queue (to print it by hand instead).
    pub async fn release(&self, tag: &str) -> Held {
        let tag = tag.to_string();
        self.jobs.ask(|done| Job::Release { tag, done }).await.unwrap_or(Held::Unknown)
    }

    /// Tags of held documents as they get printed.
    pub fn subscribe_printed_later(&self) -> broadcast::Receiver<String> {
        self.printed_later.subscribe()
    }

    /// The printer's state.
    pub fn health(&self) -> DeviceHealth {
        read_health(&self.health)
    }
}

/// `doc` with the store's logo on top (borrowed as it is without a logo).
fn with_logo<'a>(doc: &'a Document, logo: Option<&Raster>) -> std::borrow::Cow<'a, Document> {
    match logo {
        Some(l) => {
            let mut blocks = Vec::with_capacity(doc.blocks.len() + 1);
            blocks.push(Block::Image(l.clone()));
            blocks.extend(doc.blocks.iter().cloned());
            std::borrow::Cow::Owned(Document { blocks })
        }
        None => std::borrow::Cow::Borrowed(doc),
    }
}

/// Opens the printer and reads its firmware version into the health.
fn open(connect: &mut Connect, profile: &PrinterProfileConfig, health: &SharedHealth) -> Result<Printer, PrinterError> {
    let mut p = ReceiptPrinter::new(connect()?, profile.profile.clone(), profile.reads_status);
    set_firmware(health, p.firmware_version()?, &profile.firmware);
    Ok(p)
}

/// Reads the open printer's status (paper, cover, errors), if the link can.
fn status(p: &mut Printer, profile: &PrinterProfileConfig, health: &SharedHealth) -> Result<(), PrinterError> {
    if !profile.reads_status {
        return Ok(());
    }
    let s = p.status()?;
    set_conditions(health, printer_conditions(&s));
    if s.offline || s.paper_out || s.cover_open || s.error { Err(PrinterError::NotReady(s)) } else { Ok(()) }
}

#[cfg(test)]
mod tests;
