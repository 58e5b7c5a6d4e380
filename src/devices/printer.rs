//! Owner thread of the receipt printer.

use super::{
    DeviceError, DeviceHealth, JOB_QUEUE, SharedHealth, new_health, open_transport, printer_conditions, read_health,
    set_conditions, set_firmware, set_health,
};
use crate::config::PrinterProfileConfig;
use posagent_drivers::printer::{Block, Document, PrinterError, Raster, ReceiptPrinter};
use posagent_drivers::transport::Transport;
use std::collections::{HashSet, VecDeque};
use tokio::sync::{broadcast, mpsc, oneshot};

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
    Probe,
    /// Kicks the cash drawer open.
    OpenDrawer(oneshot::Sender<Result<(), DeviceError>>),
    /// Answers once every job before it is done, with the receipts still held.
    Flush(oneshot::Sender<usize>),
    Close(oneshot::Sender<()>),
}

/// Handle to the printer thread.
#[derive(Clone)]
pub struct PrinterService {
    jobs: mpsc::Sender<Job>,
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

impl PrinterService {
    /// Starts the owner thread; the printer is opened on the first job. `logo` is printed
    /// at the top of every document.
    pub fn start(profile: PrinterProfileConfig, logo: Option<Raster>) -> std::io::Result<Self> {
        let (jobs, mut rx) = mpsc::channel::<Job>(JOB_QUEUE);
        let health = new_health("printer", &profile.endpoint);
        let h = health.clone();
        let (printed_later, _) = broadcast::channel(64);
        let announce = printed_later.clone();
        let has_drawer = profile.cash_drawer.is_some();
        std::thread::Builder::new().name("printer".into()).spawn(move || {
            let mut printer: Option<ReceiptPrinter<Box<dyn Transport>>> = None;
            let mut held = HeldJobs::default();
            while let Some(job) = rx.blocking_recv() {
                let (result, done) = match job {
                    Job::Print { document, hold_as, done } => {
                        let r = print(&mut printer, &profile, &h, &with_logo(&document, logo.as_ref()));
                        if let (Err(_), Some(tag)) = (&r, hold_as) {
                            held.queue.push_back((tag, document));
                        }
                        (r, Some(done))
                    }
                    Job::Release { tag, done } => {
                        let answer = if let Some(i) = held.queue.iter().position(|(t, _)| *t == tag) {
                            held.queue.remove(i);
                            Held::Released
                        } else if held.printed.contains(&tag) {
                            Held::AlreadyPrinted
                        } else {
                            Held::Unknown
                        };
                        let _ = done.send(answer);
                        continue;
                    }
                    Job::OpenDrawer(done) => {
                        let r = open_drawer(&mut printer, &profile, &h);
                        (r, Some(done))
                    }
                    Job::Flush(done) => {
                        let _ = done.send(held.queue.len());
                        continue;
                    }
                    Job::Close(done) => {
                        drop(printer.take());
                        set_health(&h, false, Some("closed: the daemon stopped".into()));
                        let _ = done.send(());
                        return;
                    }
                    Job::Probe => {
                        let r = probe(&mut printer, &profile, &h);
                        if r.is_ok() {
                            // The fault cleared: print what waited, in order, each whole.
                            while let Some((tag, doc)) = held.queue.pop_front() {
                                if let Err(e) = print(&mut printer, &profile, &h, &with_logo(&doc, logo.as_ref())) {
                                    tracing::warn!(error = %e, "held receipt still cannot be printed");
                                    held.queue.push_front((tag, doc));
                                    break;
                                }
                                tracing::info!(tag = %tag, "held receipt printed");
                                let _ = announce.send(tag.clone());
                                held.printed.insert(tag);
                            }
                        }
                        (r, None)
                    }
                };
                match &result {
                    Ok(()) => {
                        // It printed (or its status is fine): only a roll near its end stays.
                        let low = h.lock().unwrap_or_else(|p| p.into_inner()).conditions.contains(&"paper_low");
                        set_conditions(&h, if low { vec!["paper_low"] } else { vec![] });
                        set_health(&h, true, None);
                    }
                    Err(e) => {
                        if done.is_some() {
                            tracing::warn!(error = %e, "receipt printer failed");
                        }
                        if let PrinterError::NotReady(status) = e {
                            set_conditions(&h, printer_conditions(status));
                        }
                        if matches!(e, PrinterError::Transport(_) | PrinterError::BadStatus(_)) {
                            printer = None;
                            // Closed: what it reported no longer holds.
                            set_conditions(&h, vec![]);
                        }
                        set_health(&h, printer.is_some(), Some(e.to_string()));
                    }
                }
                if let Some(done) = done {
                    let _ = done.send(result.map_err(DeviceError::from));
                }
            }
        })?;
        super::spawn_prober(&jobs, || Job::Probe);
        Ok(PrinterService { jobs, health, printed_later, has_drawer })
    }

    async fn submit(&self, document: Document, hold_as: Option<String>) -> Result<(), DeviceError> {
        let (done, rx) = oneshot::channel();
        self.jobs.send(Job::Print { document, hold_as, done }).await.map_err(|_| DeviceError::Stopped("printer"))?;
        rx.await.map_err(|_| DeviceError::Stopped("printer"))?
    }

    /// Waits until every receipt sent before is printed (or held); returns how many are
    /// held for a printer fault (they stay unprinted in the journal).
    pub async fn flush(&self) -> usize {
        let (done, rx) = oneshot::channel();
        if self.jobs.send(Job::Flush(done)).await.is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    /// Closes the printer (the thread ends; later jobs answer `Stopped`).
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Kicks the cash drawer wired to the printer open; `Ok(false)` if the profile has none.
    pub async fn open_drawer(&self) -> Result<bool, DeviceError> {
        if !self.has_drawer {
            return Ok(false);
        }
        let (done, rx) = oneshot::channel();
        self.jobs.send(Job::OpenDrawer(done)).await.map_err(|_| DeviceError::Stopped("printer"))?;
        rx.await.map_err(|_| DeviceError::Stopped("printer"))?.map(|()| true)
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
        let (done, rx) = oneshot::channel();
        if self.jobs.send(Job::Release { tag: tag.to_string(), done }).await.is_err() {
            return Held::Unknown;
        }
        rx.await.unwrap_or(Held::Unknown)
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

fn open_drawer(
    printer: &mut Option<ReceiptPrinter<Box<dyn Transport>>>,
    profile: &PrinterProfileConfig,
    health: &SharedHealth,
) -> Result<(), PrinterError> {
    let Some(pin) = profile.cash_drawer else { return Ok(()) };
    if printer.is_none() {
        *printer = Some(open(profile, health)?);
    }
    match printer.as_mut() {
        Some(p) => p.open_drawer(pin),
        None => Ok(()),
    }
}

/// Opens the printer and reads its firmware version into the health.
fn open(
    profile: &PrinterProfileConfig,
    health: &SharedHealth,
) -> Result<ReceiptPrinter<Box<dyn Transport>>, PrinterError> {
    let mut p = ReceiptPrinter::new(open_transport(&profile.endpoint)?, profile.profile.clone(), profile.reads_status);
    set_firmware(health, p.firmware_version()?, &profile.firmware);
    Ok(p)
}

/// Opens the printer, or reads the open one's status (paper, cover, errors).
fn probe(
    printer: &mut Option<ReceiptPrinter<Box<dyn Transport>>>,
    profile: &PrinterProfileConfig,
    health: &SharedHealth,
) -> Result<(), PrinterError> {
    if printer.is_none() {
        *printer = Some(open(profile, health)?);
    }
    match printer.as_mut() {
        Some(p) if profile.reads_status => {
            let s = p.status()?;
            set_conditions(health, printer_conditions(&s));
            if s.offline || s.paper_out || s.cover_open || s.error { Err(PrinterError::NotReady(s)) } else { Ok(()) }
        }
        _ => Ok(()),
    }
}

fn print(
    printer: &mut Option<ReceiptPrinter<Box<dyn Transport>>>,
    profile: &PrinterProfileConfig,
    health: &SharedHealth,
    doc: &Document,
) -> Result<(), PrinterError> {
    if printer.is_none() {
        *printer = Some(open(profile, health)?);
    }
    match printer.as_mut() {
        Some(p) => p.print(doc),
        None => Ok(()),
    }
}
