//! The card reader's owner thread: reads the port all the time, opens one reader
//! transaction per card payment, and lets through only what belongs to it. Events of
//! any other transaction (an ended one, a canceled one, none at all), duplicates and
//! invalid reads are discarded and logged; an unplugged reader is reopened and the
//! payment waits for it until its time is up.

use super::{CardWaitError, Job, ReadJob, ReaderCounters, ReaderNotice, TakenRead, Verdict};
use crate::config::CardReaderProfile;
use crate::devices::owner::{Connect, Link, Owned, Work};
use crate::devices::{SharedHealth, set_firmware};
use posagent_drivers::card_reader::{
    CardReader, CardReaderError, ENABLE_NO_SWIPE, ENABLE_PIN, Enable, EntryMode, ErrorCode, IdleReason, KEEP_ALIVE,
    LinkStats, Outcome,
};
use posagent_drivers::transport::Transport;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

mod events;

type Reader = CardReader<Box<dyn Transport>>;

/// How long one turn of the loop reads the port.
const POLL: Duration = Duration::from_millis(20);
/// How long a reader may take to answer INFO when it is opened.
const INFO_WAIT: Duration = Duration::from_secs(1);
/// Between attempts to open a reader that is not there (one that speaks the wrong
/// protocol is left for `owner::MISCONFIGURED_PAUSE`).
const REOPEN: Duration = Duration::from_millis(500);
/// How long the host waits for IDLE after CANCEL.
const CANCEL_WAIT: Duration = Duration::from_secs(1);
/// Pause before enabling again after the reader ended a transaction on its own.
const REENABLE_PAUSE: Duration = Duration::from_millis(500);
/// How long the host waits for the reader's verdict after OUTCOME.
const VERDICT_WAIT: Duration = Duration::from_secs(5);

/// The payment the reader is working for.
struct Active {
    job: ReadJob,
    /// The reader transaction, 0 until ENABLE went out.
    txn: u32,
    enabled: bool,
    deadline: Instant,
    /// CANCEL sent (at), and what the payment gets once the reader confirms.
    ending: Option<(Instant, CardWaitError)>,
    disconnected: Option<String>,
    /// STATUS answers still due to PINGs sent before this transaction's ENABLE: they
    /// cannot know it, so they do not count as the reader having lost it.
    stale_status: u32,
    /// The entry mode of this transaction's CARD_PRESENTED, if one came.
    presented: Option<EntryMode>,
}

pub(super) struct Owner {
    profile: CardReaderProfile,
    connect: Connect,
    health: SharedHealth,
    counters: Arc<ReaderCounters>,
    link: Link<Reader>,
    active: Option<Active>,
    /// A transaction told its outcome, waiting for the reader's IDLE verdict.
    completing: Option<(u32, Instant, tokio::sync::oneshot::Sender<Verdict>)>,
    /// A payment waiting for that verdict before it opens its transaction.
    deferred: Option<ReadJob>,
    /// The transaction whose read went to a sale that has not sent its OUTCOME yet.
    delivered: Option<u32>,
    /// Whether the reader said it has a PIN pad (INFO capabilities).
    pin_pad: bool,
    /// No ENABLE before this (after the reader ended a transaction on its own).
    next_enable: Instant,
    next_txn: u32,
    seen: LinkStats,
    /// PINGs whose STATUS has not come yet.
    pings_unanswered: u32,
}

impl Owner {
    pub(super) fn new(
        profile: CardReaderProfile,
        health: SharedHealth,
        counters: Arc<ReaderCounters>,
        connect: Connect,
    ) -> Self {
        Owner {
            profile,
            connect,
            link: Link::new(health.clone(), REOPEN),
            health,
            counters,
            active: None,
            completing: None,
            deferred: None,
            delivered: None,
            pin_pad: true,
            next_enable: Instant::now(),
            // Never 0, never reused while the daemon runs, different after a restart.
            next_txn: fastrand::u32(1..0x8000_0000),
            seen: LinkStats::default(),
            pings_unanswered: 0,
        }
    }
}

/// The generic owner runs the reader: each job as it comes, and whenever none waits a
/// turn of the loop (open it if due, move the payment on, read the port, keep alive).
impl Owned for Owner {
    type Job = Job;

    fn run(&mut self, job: Job) {
        match job {
            Job::Read(job) if self.active.is_some() || self.deferred.is_some() => {
                let _ = job.done.send(Err(CardWaitError::Busy));
            }
            // The previous chip transaction finishes first (its ENABLE would cut off the
            // second GENERATE AC).
            Job::Read(job) if self.completing.is_some() => self.deferred = Some(job),
            Job::Read(job) => self.activate(job),
            Job::Outcome { txn, outcome, verdict } => self.send_outcome(txn, outcome, verdict),
        }
    }

    fn probe(&mut self) {
        self.ensure_open();
        self.drive_active();
        self.settle_verdict(None);
        self.poll();
        self.keep_alive();
    }

    fn close(&mut self) {
        if let Some(a) = self.active.take() {
            if let (true, Some(r)) = (a.enabled, self.link.driver()) {
                let _ = r.cancel(a.txn);
            }
            let _ = a.job.done.send(Err(CardWaitError::Stopped));
        }
        self.link.close();
    }
}

impl Owner {
    fn activate(&mut self, job: ReadJob) {
        let deadline = Instant::now() + job.request.timeout;
        let (txn, enabled, ending, disconnected, stale_status, presented) = (0, false, None, None, 0, None);
        self.active = Some(Active { job, txn, enabled, deadline, ending, disconnected, stale_status, presented });
    }

    fn send_outcome(&mut self, txn: u32, outcome: Outcome, verdict: Option<tokio::sync::oneshot::Sender<Verdict>>) {
        if self.delivered == Some(txn) {
            self.delivered = None;
        }
        let Some(r) = self.link.driver() else {
            if let Some(v) = verdict {
                let _ = v.send(Verdict::Unknown);
            }
            return;
        };
        match r.outcome(txn, outcome, &[]) {
            Ok(()) => {
                if let Some(v) = verdict {
                    self.completing = Some((txn, Instant::now(), v));
                }
            }
            Err(e) => {
                if let Some(v) = verdict {
                    let _ = v.send(Verdict::Unknown);
                }
                self.link_failed(e);
            }
        }
    }

    /// The verdict of a completing transaction, or `Unknown` once its time is up.
    fn settle_verdict(&mut self, idle: Option<(u32, IdleReason)>) {
        let Some((txn, since, _)) = &self.completing else { return };
        let verdict = match idle {
            Some((t, IdleReason::CardDeclined)) if t == *txn => Verdict::CardDeclined,
            Some((t, IdleReason::Completed)) if t == *txn => Verdict::Completed,
            // Superseded, failed, timed out…: the chip's completion did not run.
            Some((t, _)) if t == *txn => Verdict::Unknown,
            _ if since.elapsed() >= VERDICT_WAIT => Verdict::Unknown,
            _ => return,
        };
        if let Some((txn, _, v)) = self.completing.take() {
            tracing::debug!(txn, ?verdict, "card reader verdict");
            let _ = v.send(verdict);
        }
        if let Some(job) = self.deferred.take() {
            self.activate(job);
        }
    }

    fn ensure_open(&mut self) {
        if !self.link.due() {
            return;
        }
        let (connect, profile, health, pin_pad) = (&mut self.connect, &self.profile, &self.health, &mut self.pin_pad);
        let opened = self.link.open_with(|| {
            let (reader, info) = CardReader::open(connect()?, INFO_WAIT)?;
            tracing::info!(firmware = %info.firmware, model = %info.model, "card reader opened (protocol v{}.{})", info.major, info.minor);
            *pin_pad = info.has_pin_pad();
            set_firmware(health, Some(info.firmware), &profile.firmware);
            Ok::<_, CardReaderError>(reader)
        });
        if let Err(e) = opened {
            self.link.failed(&e, Work::Probe);
            return self.mark_disconnected(e.to_string());
        }
        self.seen = LinkStats::default();
        self.pings_unanswered = 0;
        if let Some(a) = self.active.as_mut() {
            a.enabled = false; // a new transaction on the reopened reader
            if a.disconnected.take().is_some() {
                let _ = a.job.notices.try_send(ReaderNotice::Reconnected);
            }
        }
    }

    fn mark_disconnected(&mut self, why: String) {
        if let Some(a) = self.active.as_mut() {
            a.enabled = false;
            if a.disconnected.is_none() {
                let _ = a.job.notices.try_send(ReaderNotice::Disconnected);
            }
            a.disconnected = Some(why);
            // A canceling payment ends now: the reader that knew its transaction is gone.
            if a.ending.is_some() {
                self.finish_ending();
            }
        }
    }

    /// Meets a failure of the link with the owners' policy; a payment waiting on a
    /// closed reader is told it is disconnected.
    fn link_failed(&mut self, e: CardReaderError) {
        self.link.failed(&e, Work::Job { repeatable: false });
        if !self.link.is_open() {
            self.mark_disconnected(e.to_string());
        }
    }

    fn finish(&mut self, result: Result<TakenRead, CardWaitError>) {
        if let Some(a) = self.active.take() {
            let _ = a.job.done.send(result);
        }
    }

    fn finish_ending(&mut self) {
        if let Some(a) = self.active.take() {
            let result = a.ending.map(|(_, e)| e).unwrap_or(CardWaitError::Canceled);
            let _ = a.job.done.send(Err(result));
        }
    }

    /// Ends the payment: CANCEL to the reader (it forgets any read) and, once it
    /// confirms with IDLE (or after a second), `result` to the payment.
    fn end_active(&mut self, result: CardWaitError) {
        let Some(a) = self.active.as_mut() else { return };
        let (txn, enabled) = (a.txn, a.enabled);
        a.ending = Some((Instant::now(), result));
        match (enabled, self.link.driver()) {
            (true, Some(r)) => {
                if let Err(e) = r.cancel(txn) {
                    self.link_failed(e);
                }
            }
            _ => self.finish_ending(),
        }
    }

    fn drive_active(&mut self) {
        let Some(a) = self.active.as_ref() else { return };
        if let Some((since, _)) = &a.ending {
            if since.elapsed() >= CANCEL_WAIT {
                tracing::warn!(txn = a.txn, "the card reader did not confirm the cancel; its events stay discarded");
                self.finish_ending();
            }
            return;
        }
        if a.job.cancel.load(Ordering::SeqCst) {
            return self.end_active(CardWaitError::Canceled);
        }
        if Instant::now() >= a.deadline {
            let e = match &a.disconnected {
                Some(why) => CardWaitError::Disconnected(why.clone()),
                None => CardWaitError::TimedOut,
            };
            return self.end_active(e);
        }
        if !a.enabled && self.link.is_open() && Instant::now() >= self.next_enable {
            if a.job.request.pin && !self.pin_pad {
                let (code, text) = (ErrorCode(0x13), "the reader has no PIN pad".to_string());
                return self.finish(Err(CardWaitError::ReaderFailed { code, text }));
            }
            self.enable();
        }
    }

    fn enable(&mut self) {
        let txn = self.next_txn;
        self.next_txn = if self.next_txn >= u32::MAX - 1 { 1 } else { self.next_txn + 1 };
        let (Some(a), Some(r)) = (self.active.as_mut(), self.link.driver()) else { return };
        let left = a.deadline.saturating_duration_since(Instant::now());
        let q = &a.job.request;
        let mut currency = [b'?'; 3];
        for (slot, b) in currency.iter_mut().zip(q.currency.bytes()) {
            *slot = b;
        }
        let flags = if q.pin { ENABLE_PIN } else { 0 } | if q.no_swipe { ENABLE_NO_SWIPE } else { 0 };
        let e = Enable {
            txn,
            amount: q.amount,
            currency,
            exponent: q.exponent,
            timeout_secs: u8::try_from(left.as_secs().max(1)).unwrap_or(u8::MAX),
            flags,
        };
        a.txn = txn;
        a.stale_status = self.pings_unanswered;
        match r.enable(&e) {
            Ok(()) => {
                tracing::debug!(txn, "card reader enabled");
                a.enabled = true;
            }
            Err(e) => self.link_failed(e),
        }
    }

    fn poll(&mut self) {
        let Some(r) = self.link.driver() else {
            std::thread::sleep(POLL);
            return;
        };
        let polled = r.poll(POLL);
        let restarted = r.take_restarted();
        let mut inbound = vec![];
        while let Some(i) = r.take() {
            inbound.push(i);
        }
        if restarted {
            self.on_restart();
        }
        self.count_link();
        if let Err(e) = polled {
            self.link_failed(e);
        }
        for i in inbound {
            self.dispatch(i);
        }
    }

    fn count_link(&mut self) {
        let Some(r) = self.link.driver_ref() else { return };
        let now = r.stats();
        let c = &self.counters;
        c.duplicates.fetch_add(now.duplicates.saturating_sub(self.seen.duplicates), Ordering::Relaxed);
        c.damaged.fetch_add(now.damaged.saturating_sub(self.seen.damaged), Ordering::Relaxed);
        c.resends.fetch_add(now.resends.saturating_sub(self.seen.resends), Ordering::Relaxed);
        self.seen = now;
    }

    fn keep_alive(&mut self) {
        let Some(r) = self.link.driver() else { return };
        if r.idle_for() >= KEEP_ALIVE {
            match r.ping() {
                Ok(()) => self.pings_unanswered = self.pings_unanswered.saturating_add(1).min(8),
                Err(e) => self.link_failed(e),
            }
        }
    }

    /// The transaction events may speak for now: the payment's, once enabled and not
    /// being ended.
    fn current_txn(&self) -> Option<u32> {
        self.active.as_ref().filter(|a| a.enabled && a.ending.is_none()).map(|a| a.txn)
    }
}

#[cfg(test)]
mod tests;
