//! Owner thread of the receipt printer.

use super::{DeviceError, DeviceHealth, JOB_QUEUE, SharedHealth, new_health, open_transport, read_health, set_health};
use crate::config::PrinterProfileConfig;
use posagent_drivers::printer::{Document, PrinterError, ReceiptPrinter};
use posagent_drivers::transport::Transport;
use tokio::sync::{mpsc, oneshot};

enum Job {
    Print { document: Document, done: oneshot::Sender<Result<(), DeviceError>> },
    Probe,
}

/// Handle to the printer thread.
#[derive(Clone)]
pub struct PrinterService {
    jobs: mpsc::Sender<Job>,
    health: SharedHealth,
}

impl PrinterService {
    /// Starts the owner thread; the printer is opened on the first job.
    pub fn start(profile: PrinterProfileConfig) -> std::io::Result<Self> {
        let (jobs, mut rx) = mpsc::channel::<Job>(JOB_QUEUE);
        let health = new_health("printer", &profile.endpoint);
        let h = health.clone();
        std::thread::Builder::new().name("printer".into()).spawn(move || {
            let mut printer: Option<ReceiptPrinter<Box<dyn Transport>>> = None;
            while let Some(job) = rx.blocking_recv() {
                let (result, done) = match job {
                    Job::Print { document, done } => (print(&mut printer, &profile, &document), Some(done)),
                    Job::Probe => (probe(&mut printer, &profile), None),
                };
                match &result {
                    Ok(()) => set_health(&h, true, None),
                    Err(e) => {
                        if done.is_some() {
                            tracing::warn!(error = %e, "receipt printer failed");
                        }
                        if matches!(e, PrinterError::Transport(_) | PrinterError::BadStatus(_)) {
                            printer = None;
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
        Ok(PrinterService { jobs, health })
    }

    /// Prints `document` whole, or reports why not.
    pub async fn print(&self, document: Document) -> Result<(), DeviceError> {
        let (done, rx) = oneshot::channel();
        self.jobs.send(Job::Print { document, done }).await.map_err(|_| DeviceError::Stopped("printer"))?;
        rx.await.map_err(|_| DeviceError::Stopped("printer"))?
    }

    /// The printer's state.
    pub fn health(&self) -> DeviceHealth {
        read_health(&self.health)
    }
}

fn open(profile: &PrinterProfileConfig) -> Result<ReceiptPrinter<Box<dyn Transport>>, PrinterError> {
    Ok(ReceiptPrinter::new(open_transport(&profile.endpoint)?, profile.profile.clone(), profile.reads_status))
}

/// Opens the printer, or reads the open one's status (paper, cover, errors).
fn probe(
    printer: &mut Option<ReceiptPrinter<Box<dyn Transport>>>,
    profile: &PrinterProfileConfig,
) -> Result<(), PrinterError> {
    if printer.is_none() {
        *printer = Some(open(profile)?);
    }
    match printer.as_mut() {
        Some(p) if profile.reads_status => {
            let s = p.status()?;
            if s.offline || s.paper_out || s.cover_open || s.error { Err(PrinterError::NotReady(s)) } else { Ok(()) }
        }
        _ => Ok(()),
    }
}

fn print(
    printer: &mut Option<ReceiptPrinter<Box<dyn Transport>>>,
    profile: &PrinterProfileConfig,
    doc: &Document,
) -> Result<(), PrinterError> {
    if printer.is_none() {
        *printer = Some(open(profile)?);
    }
    match printer.as_mut() {
        Some(p) => p.print(doc),
        None => Ok(()),
    }
}
