//! The secure card reader as the checkout sees it: one owner thread holds the reader and
//! reads its port all the time (every frame acknowledged in time, sale or not); a card
//! read reaches a sale only when it carries that sale's transaction id.

mod owner;

use super::owner::{self as generic, Jobs, Pace, Refused};
use super::{DeviceHealth, SharedHealth, new_health, read_health};
use crate::config::CardReaderProfile;
use posagent_drivers::card_reader::{CardRead, CardReaderError, ErrorCode, Outcome};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Why no card read came back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardWaitError {
    /// The cashier canceled.
    #[error("canceled")]
    Canceled,
    /// The customer canceled at the reader.
    #[error("the customer canceled at the card reader")]
    CanceledAtReader,
    /// No card within the time.
    #[error("no card was presented in time")]
    TimedOut,
    /// The reader was disconnected when the time ran out.
    #[error("the card reader was disconnected and did not come back in time: {0}")]
    Disconnected(String),
    /// The customer or the card ended it (PIN canceled, PIN tries exceeded, chip declined).
    #[error("the card reader ended the payment: {0}")]
    EndedAtReader(ErrorCode),
    /// The reader cannot take this payment or is out of service. (The reader's text
    /// goes to the log only, scrubbed: it reaches no journal.)
    #[error("card reader error {code}")]
    ReaderFailed {
        /// Reader's code.
        code: ErrorCode,
        /// Reader's text.
        text: String,
    },
    /// The reader broke the protocol with its read.
    #[error("the card reader sent an invalid read ({0}); the reader needs service")]
    InvalidRead(String),
    /// The link failed in a way reopening does not mend (wrong protocol version).
    #[error("card reader: {0}")]
    Reader(#[from] CardReaderError),
    /// Another read is in progress.
    #[error("the card reader is busy with another payment")]
    Busy,
    /// The owner thread is gone.
    #[error("the card reader is stopped")]
    Stopped,
}

impl CardWaitError {
    /// Whether the customer ended it at the reader (PIN entry canceled).
    pub fn customer_canceled(&self) -> bool {
        matches!(self, CardWaitError::CanceledAtReader)
            || matches!(self, CardWaitError::EndedAtReader(c) if *c == ErrorCode::PIN_CANCELED)
    }
}

/// What the customer should be told while the reader waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderNotice {
    /// A card is being read.
    CardPresented,
    /// The read failed; the customer tries again (the code says why).
    TryAgain(ErrorCode),
    /// The reader is disconnected; the payment waits for it.
    Disconnected,
    /// The reader is back and waits for the card again.
    Reconnected,
}

/// What a card payment asks of the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// Amount in minor units.
    pub amount: u32,
    /// ISO 4217 code.
    pub currency: String,
    /// Minor-unit digits of the currency.
    pub exponent: u8,
    /// Chip and online PIN only.
    pub pin: bool,
    /// Refuse swipes.
    pub no_swipe: bool,
    /// How long the customer has.
    pub timeout: Duration,
}

/// A read for the sale's own transaction.
#[derive(Debug)]
pub struct TakenRead {
    /// The reader transaction it was read for (for [`CardReaderService::finish`]).
    pub txn: u32,
    /// The encrypted read.
    pub read: CardRead,
}

/// Counters of the reader for `/metrics`.
#[derive(Debug, Default)]
pub struct ReaderCounters {
    /// Events discarded: another transaction's, duplicates of a read, before ENABLE.
    pub discarded: AtomicU64,
    /// Duplicate frames dropped by the link.
    pub duplicates: AtomicU64,
    /// Damaged or partial frames.
    pub damaged: AtomicU64,
    /// Frames the host sent again.
    pub resends: AtomicU64,
    /// Retryable read errors the customer was asked to try again after.
    pub retries: AtomicU64,
}

impl ReaderCounters {
    /// A snapshot: (discarded, duplicates, damaged, resends, retries).
    pub fn snapshot(&self) -> [(&'static str, u64); 5] {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        [
            ("discarded", g(&self.discarded)),
            ("duplicate", g(&self.duplicates)),
            ("damaged", g(&self.damaged)),
            ("resent", g(&self.resends)),
            ("retry", g(&self.retries)),
        ]
    }
}

/// What the reader said once it was told the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Shown, and for a chip card the transaction completed (TC).
    Completed,
    /// The chip declined after the host approved: the authorization must be reversed.
    CardDeclined,
    /// No answer in time (the reader's own affair; the sale stands).
    Unknown,
}

enum Job {
    Read(ReadJob),
    Outcome { txn: u32, outcome: Outcome, verdict: Option<oneshot::Sender<Verdict>> },
}

struct ReadJob {
    request: ReadRequest,
    cancel: Arc<AtomicBool>,
    notices: mpsc::Sender<ReaderNotice>,
    done: oneshot::Sender<Result<TakenRead, CardWaitError>>,
}

/// Handle to the card reader thread.
#[derive(Clone)]
pub struct CardReaderService {
    jobs: Jobs<Job>,
    health: SharedHealth,
    counters: Arc<ReaderCounters>,
}

impl CardReaderService {
    /// Starts the owner thread; it opens the reader at once and keeps it open.
    pub fn start(profile: CardReaderProfile) -> std::io::Result<Self> {
        let health = new_health("card_reader", &profile.endpoint);
        let counters = Arc::new(ReaderCounters::default());
        let connect = generic::connect_to(&profile.endpoint);
        let owner = owner::Owner::new(profile, health.clone(), counters.clone(), connect);
        // Read all the time: every frame is acknowledged within the protocol's 100 ms.
        let jobs = generic::spawn("card-reader", Pace::Always, owner)?;
        Ok(CardReaderService { jobs, health, counters })
    }

    /// Opens a reader transaction for the request and waits for the card; `cancel`
    /// ends the wait (the reader is told, and forgets any read). `notices` hears what
    /// the customer should be told meanwhile.
    pub async fn read_card(
        &self,
        request: ReadRequest,
        cancel: Arc<AtomicBool>,
        notices: mpsc::Sender<ReaderNotice>,
    ) -> Result<TakenRead, CardWaitError> {
        let (done, rx) = oneshot::channel();
        match self.jobs.try_send(Job::Read(ReadJob { request, cancel, notices, done })) {
            Ok(()) => {}
            Err(Refused::Full) => return Err(CardWaitError::Busy),
            Err(Refused::Stopped) => return Err(CardWaitError::Stopped),
        }
        rx.await.map_err(|_| CardWaitError::Stopped)?
    }

    /// Tells the reader how the sale of the read of `txn` ended (LED, beep, the chip's
    /// second GENERATE AC). Does not wait.
    pub fn finish(&self, txn: u32, outcome: Outcome) {
        if self.jobs.try_send(Job::Outcome { txn, outcome, verdict: None }).is_err() {
            tracing::warn!(txn, "the card reader's queue is full; the sale's outcome is not shown on the reader");
        }
    }

    /// As [`Self::finish`], waiting (a few seconds at most) for the reader's verdict:
    /// whether a chip card accepted the approval.
    pub async fn complete(&self, txn: u32, outcome: Outcome) -> Verdict {
        let (tx, rx) = oneshot::channel();
        if self.jobs.try_send(Job::Outcome { txn, outcome, verdict: Some(tx) }).is_err() {
            tracing::warn!(txn, "the card reader's queue is full; the sale's outcome is not shown on the reader");
            return Verdict::Unknown;
        }
        rx.await.unwrap_or(Verdict::Unknown)
    }

    /// Closes the reader (the thread ends; later jobs answer `Stopped`).
    pub async fn close(&self) {
        self.jobs.close().await;
    }

    /// The reader's state.
    pub fn health(&self) -> DeviceHealth {
        read_health(&self.health)
    }

    /// The reader's counters.
    pub fn counters(&self) -> &ReaderCounters {
        &self.counters
    }
}
