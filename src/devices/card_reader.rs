//! Owner thread of the secure card reader: enables it for an amount and waits for an
//! encrypted read, a cancel, or the timeout.

use super::{DeviceHealth, JOB_QUEUE, SharedHealth, new_health, open_transport, read_health, set_firmware, set_health};
use crate::config::CardReaderProfile;
use posagent_drivers::card_reader::{CardRead, CardReader, CardReaderError, Event};
use posagent_drivers::transport::Transport;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How often the owner thread looks at the cancel flag while waiting for a card.
const POLL: Duration = Duration::from_millis(100);

/// Why no card read came back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardWaitError {
    /// The reader failed.
    #[error("card reader: {0}")]
    Reader(#[from] CardReaderError),
    /// The cashier canceled.
    #[error("canceled")]
    Canceled,
    /// No card within the time.
    #[error("no card was presented in time")]
    TimedOut,
    /// The reader reported an error of its own.
    #[error("card reader error {code}: {text}")]
    ReaderReported {
        /// Reader's code.
        code: u8,
        /// Reader's text.
        text: String,
    },
    /// The owner thread is gone.
    #[error("the card reader is stopped")]
    Stopped,
}

enum Job {
    Read(ReadJob),
    Probe,
    Close(oneshot::Sender<()>),
}

struct ReadJob {
    amount: u32,
    pin: bool,
    currency: String,
    timeout: Duration,
    cancel: Arc<AtomicBool>,
    done: oneshot::Sender<Result<CardRead, CardWaitError>>,
}

/// Handle to the card reader thread.
#[derive(Clone)]
pub struct CardReaderService {
    jobs: mpsc::Sender<Job>,
    health: SharedHealth,
}

type Reader = CardReader<Box<dyn Transport>>;

/// How long a reader may take to answer INFO when it is opened.
const INFO_WAIT: Duration = Duration::from_secs(1);

/// Opens the reader and reads its firmware version into the health.
fn open_reader(profile: &CardReaderProfile, health: &SharedHealth) -> Result<Reader, CardReaderError> {
    let mut r = CardReader::new(open_transport(&profile.endpoint)?);
    // A reader that cannot tell its version still takes payments: the version is unknown.
    let info = r.info(INFO_WAIT).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the card reader did not tell its firmware version");
        None
    });
    set_firmware(health, info.map(|(firmware, _model)| firmware), &profile.firmware);
    Ok(r)
}

/// Opens the reader, or checks the open one acknowledges (a zero-count beep).
fn probe(
    reader: &mut Option<Reader>,
    profile: &CardReaderProfile,
    health: &SharedHealth,
) -> Result<(), CardReaderError> {
    if reader.is_none() {
        *reader = Some(open_reader(profile, health)?);
    }
    match reader.as_mut() {
        Some(r) => r.beep(0),
        None => Ok(()),
    }
}

fn wait_for_card(
    reader: &mut Option<Reader>,
    profile: &CardReaderProfile,
    health: &SharedHealth,
    job: &ReadJob,
) -> Result<CardRead, CardWaitError> {
    if reader.is_none() {
        *reader = Some(open_reader(profile, health)?);
    }
    let Some(r) = reader.as_mut() else { return Err(CardWaitError::Stopped) };
    let secs = u8::try_from(job.timeout.as_secs()).unwrap_or(u8::MAX);
    if job.pin {
        r.enable_with_pin(job.amount, &job.currency, secs)?;
    } else {
        r.enable(job.amount, &job.currency, secs)?;
    }
    let deadline = Instant::now() + job.timeout;
    loop {
        if job.cancel.load(Ordering::SeqCst) {
            r.cancel()?;
            return Err(CardWaitError::Canceled);
        }
        if Instant::now() >= deadline {
            r.cancel()?;
            return Err(CardWaitError::TimedOut);
        }
        match r.next_event(POLL)? {
            Some(Event::CardRead(read)) => return Ok(read),
            Some(Event::Idle) => return Err(CardWaitError::TimedOut),
            Some(Event::Error { code, text }) => return Err(CardWaitError::ReaderReported { code, text }),
            _ => {}
        }
    }
}

impl CardReaderService {
    /// Starts the owner thread; the reader is opened on the first job.
    pub fn start(profile: CardReaderProfile) -> std::io::Result<Self> {
        let (jobs, mut rx) = mpsc::channel::<Job>(JOB_QUEUE);
        let health = new_health("card_reader", &profile.endpoint);
        let h = health.clone();
        std::thread::Builder::new().name("card-reader".into()).spawn(move || {
            let mut reader: Option<Reader> = None;
            while let Some(job) = rx.blocking_recv() {
                let job = match job {
                    Job::Read(job) => job,
                    Job::Probe => {
                        match probe(&mut reader, &profile, &h) {
                            Ok(()) => set_health(&h, true, None),
                            Err(e) => {
                                reader = None;
                                set_health(&h, false, Some(e.to_string()));
                            }
                        }
                        continue;
                    }
                    Job::Close(done) => {
                        drop(reader.take());
                        set_health(&h, false, Some("closed: the daemon stopped".into()));
                        let _ = done.send(());
                        return;
                    }
                };
                let result = wait_for_card(&mut reader, &profile, &h, &job);
                match &result {
                    Ok(_) | Err(CardWaitError::Canceled | CardWaitError::TimedOut) => set_health(&h, true, None),
                    Err(e) => {
                        tracing::warn!(error = %e, "card reader failed; it will be reopened");
                        reader = None;
                        set_health(&h, false, Some(e.to_string()));
                    }
                }
                let _ = job.done.send(result);
            }
        })?;
        super::spawn_prober(&jobs, || Job::Probe);
        Ok(CardReaderService { jobs, health })
    }

    /// Enables the reader for `amount` and waits for a card; `cancel` stops the wait.
    /// With `pin` the customer inserts the card and enters the PIN.
    pub async fn read_card(
        &self,
        amount: u32,
        currency: &str,
        pin: bool,
        timeout: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Result<CardRead, CardWaitError> {
        let (done, rx) = oneshot::channel();
        let job = Job::Read(ReadJob { amount, pin, currency: currency.to_string(), timeout, cancel, done });
        self.jobs.send(job).await.map_err(|_| CardWaitError::Stopped)?;
        rx.await.map_err(|_| CardWaitError::Stopped)?
    }

    /// Closes the reader (the thread ends; later jobs answer `Stopped`).
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The reader's state.
    pub fn health(&self) -> DeviceHealth {
        read_health(&self.health)
    }
}
