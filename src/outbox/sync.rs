//! The sync worker: drains the outbox whenever the acquirer answers. It takes the
//! oldest waiting operation of each payment (so one payment's operations go out in
//! order, different payments' together), sends them in batches of up to 100 with a few
//! batches in flight, and backs off with capped exponential delays and full jitter
//! while the acquirer is unreachable or asks to slow down (a whole store coming back
//! online must not hammer it). Each operation keeps its own idempotency key, so a batch
//! resent after a lost answer changes nothing twice. A definitive refusal moves the
//! operation to the dead letters and tells the register through the sale or return.

use super::forward::{Answer, Applied, Decision, Forwarder, decide};
use crate::backend::AcquirerClient;
use crate::domain::{DueOp, Effect, OpKind, OpState, now_ms};
use crate::store::{Journal, Patched, StoreError};
use posagent_acquirer_api::batch::{BatchOperation, BatchOperationKind, BatchRequest, MAX_BATCH};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Longest pause between probes of an unreachable acquirer (Klarna is offered again,
/// and the event follower reads on, within about this long plus a probe's timeout of the
/// acquirer coming back).
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Operations per batch (1 to 100).
    pub batch_size: usize,
    /// Batches in flight at once.
    pub max_parallel: usize,
    /// First backoff ceiling.
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_cap: Duration,
    /// How long a taken operation stays out before it is due again (a crash mid-send).
    pub lease: Duration,
    /// Done operations and final sales older than this are pruned.
    pub retention: Duration,
    /// How often pruning runs.
    pub prune_every: Duration,
    /// With nothing to send, the acquirer is probed after this long without an answer.
    pub heartbeat: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            batch_size: MAX_BATCH,
            max_parallel: 4,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            lease: Duration::from_secs(120),
            retention: Duration::from_secs(90 * 24 * 3600),
            prune_every: Duration::from_secs(3600),
            heartbeat: Duration::from_secs(30),
        }
    }
}

impl From<&crate::config::SyncConfig> for SyncSettings {
    /// The worker's settings from `[sync]` in the store config.
    fn from(config: &crate::config::SyncConfig) -> Self {
        SyncSettings {
            batch_size: config.batch_size,
            max_parallel: config.max_parallel,
            backoff_cap: Duration::from_secs(config.max_backoff_secs),
            retention: Duration::from_secs(config.retention_days * 24 * 3600),
            heartbeat: Duration::from_secs(config.heartbeat_secs),
            ..Default::default()
        }
    }
}

impl SyncSettings {
    /// Wait after `failures` failures in a row: uniform in `[0, min(cap, base·2^(failures−1))]`.
    pub fn backoff(&self, failures: u32, random_unit: f64) -> Duration {
        let ceiling =
            self.backoff_base.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(self.backoff_cap);
        ceiling.mul_f64(random_unit.clamp(0.0, 1.0))
    }
}

/// Tells the register (event stream) and /metrics about records a sync changed.
pub type Publish = Arc<dyn Fn(&Patched) + Send + Sync>;

/// Handle to the outbox: wakes the worker; sends an operation at once.
#[derive(Clone)]
pub struct SyncHandle {
    wake: Arc<Notify>,
    journal: Journal,
    forwarder: Forwarder,
}

impl SyncHandle {
    /// A handle over the journal's outbox, for a worker made later with it.
    pub fn new(
        journal: Journal,
        backend: AcquirerClient,
        settings: SyncSettings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let forwarder = Forwarder { journal: journal.clone(), backend, settings, metrics };
        SyncHandle { wake: Arc::new(Notify::new()), journal, forwarder }
    }

    /// Applies answers of the acquirer to queued operations.
    pub fn forwarder(&self) -> &Forwarder {
        &self.forwarder
    }

    /// Something was queued: look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The journal holding the outbox.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Makes every waiting operation due now and wakes the worker (`posagent queue sync`).
    pub async fn sync_now(&self) -> Result<(), StoreError> {
        self.journal.make_all_due().await?;
        self.wake.notify_one();
        Ok(())
    }
}

/// What sending one batch did.
#[derive(Default)]
struct Batch {
    /// The acquirer could not be reached or asked to slow down.
    unreachable: bool,
    /// Forwarded card reads overwritten whose copies are still in the WAL.
    card_reads: usize,
}

/// The worker.
pub struct SyncWorker {
    journal: Journal,
    backend: AcquirerClient,
    settings: SyncSettings,
    forwarder: Forwarder,
    publish: Publish,
    wake: Arc<Notify>,
}

/// What one round did.
enum Round {
    /// Nothing was due.
    Idle,
    /// Operations were sent and answered.
    Sent,
    /// The acquirer could not be reached or asked to slow down.
    Unreachable,
}

impl SyncWorker {
    /// The worker woken through `handle`.
    pub fn new(handle: &SyncHandle, publish: Publish) -> Self {
        let f = &handle.forwarder;
        SyncWorker {
            journal: handle.journal.clone(),
            backend: f.backend.clone(),
            settings: f.settings.clone(),
            forwarder: f.clone(),
            publish,
            wake: handle.wake.clone(),
        }
    }

    fn published(&self, applied: Applied) {
        if let Applied::Finished(p) = applied {
            (self.publish)(&p);
        }
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        // Leases of a previous run are void: what was out is due again, under its key.
        if let Err(e) = self.journal.make_all_due().await {
            tracing::error!(error = %e, "cannot read the outbox");
        }
        let mut failures = 0u32;
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            if tokio::time::Instant::now() >= next_prune {
                next_prune += self.settings.prune_every;
                self.prune().await;
            }
            let wait = match self.round().await {
                Ok(Round::Sent) => {
                    failures = 0;
                    continue;
                }
                Ok(Round::Idle) if self.backend.connectivity().is_online() => {
                    failures = 0;
                    // A long silence may be a dead network nobody has noticed yet.
                    if self.backend.connectivity().quiet_for() >= self.settings.heartbeat {
                        self.backend.probe().await;
                    }
                    Duration::from_secs(1)
                }
                Ok(Round::Idle) => {
                    // Nothing to send, but the acquirer was unreachable: probe it, so the
                    // card flow stops approving offline as soon as it answers.
                    if self.backend.probe().await {
                        failures = 0;
                        continue;
                    }
                    failures = failures.saturating_add(1);
                    self.settings.backoff(failures, fastrand::f64()).clamp(Duration::from_millis(200), PROBE_EVERY)
                }
                Ok(Round::Unreachable) => {
                    failures = failures.saturating_add(1);
                    self.settings.backoff(failures, fastrand::f64())
                }
                Err(e) => {
                    tracing::error!(error = %e, "the outbox cannot be read or written; retrying");
                    failures = failures.saturating_add(1);
                    self.settings.backoff(failures, fastrand::f64()).max(Duration::from_secs(1))
                }
            };
            // Wait out the backoff, but look at the acquirer every few seconds on the way
            // (a cheap read): when it answers again the queue drains and card payments stop
            // being approved offline without waiting out a long backoff.
            let until = tokio::time::Instant::now() + wait;
            let mut connectivity = self.backend.connectivity().watch();
            loop {
                let step = until.saturating_duration_since(tokio::time::Instant::now()).min(PROBE_EVERY);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => break,
                    _ = connectivity.changed() => break,
                    () = tokio::time::sleep(step) => {}
                }
                if tokio::time::Instant::now() >= until || self.backend.connectivity().is_online() {
                    break;
                }
                if self.backend.probe().await {
                    failures = 0;
                    break;
                }
            }
        }
    }

    async fn prune(&self) {
        let before = now_ms() - i64::try_from(self.settings.retention.as_millis()).unwrap_or(i64::MAX);
        match self.journal.prune(before).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "pruned synced records past the retention period"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot prune the journal"),
        }
    }

    /// Sends what is due, in batches with up to `max_parallel` in flight: as soon as one
    /// is answered and written the next is taken, so the acquirer works on some batches
    /// while the journal writes the answers of others. Forwarded card reads leave the WAL
    /// with a checkpoint every `batch_size × max_parallel` of them and at the end.
    /// `Unreachable` if any batch could not be delivered (nothing more is taken then).
    async fn round(&self) -> Result<Round, StoreError> {
        let s = &self.settings;
        let size = s.batch_size.clamp(1, MAX_BATCH);
        let parallel = s.max_parallel.max(1);
        let lease = i64::try_from(s.lease.as_millis()).unwrap_or(i64::MAX);
        let mut in_flight = futures_util::stream::FuturesUnordered::new();
        let (mut sent, mut unreachable, mut drained) = (false, false, false);
        let mut failed: Option<StoreError> = None;
        let mut card_reads = 0;
        loop {
            while !drained && !unreachable && failed.is_none() && in_flight.len() < parallel {
                match self.journal.take_due(size, now_ms(), lease).await {
                    Ok(due) if due.is_empty() => drained = true,
                    Ok(due) => {
                        sent = true;
                        in_flight.push(self.send(due));
                    }
                    Err(e) => failed = Some(e),
                }
            }
            let Some(batch) = futures_util::StreamExt::next(&mut in_flight).await else { break };
            match batch {
                Ok(batch) => {
                    unreachable |= batch.unreachable;
                    card_reads += batch.card_reads;
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
            if card_reads >= size * parallel {
                card_reads = 0;
                if let Err(e) = self.journal.checkpoint().await {
                    failed.get_or_insert(e);
                }
            }
        }
        if card_reads > 0 {
            self.journal.checkpoint().await?;
        }
        match failed {
            Some(e) => Err(e),
            None if !sent => Ok(Round::Idle),
            None if unreachable => Ok(Round::Unreachable),
            None => Ok(Round::Sent),
        }
    }

    /// Sends one batch and records each outcome.
    async fn send(&self, ops: Vec<DueOp>) -> Result<Batch, StoreError> {
        let mut operations = Vec::with_capacity(ops.len());
        let mut sendable = Vec::with_capacity(ops.len());
        for op in ops {
            // An authorization and a reversal go by the sale's reference; the rest act
            // on a transaction.
            if !matches!(op.kind, OpKind::Authorize | OpKind::Reverse) && op.payment_transaction_id.is_none() {
                let why = "the payment this acts on has no transaction at the acquirer";
                let applied = self.forwarder.finish(&op, OpState::Dead, why.into(), Effect::Nothing).await?;
                self.published(applied);
                continue;
            }
            operations.push(BatchOperation {
                idempotency_key: op.idempotency_key.clone(),
                operation: match op.kind {
                    OpKind::Authorize => BatchOperationKind::Authorize,
                    OpKind::Capture => BatchOperationKind::Capture,
                    OpKind::Refund => BatchOperationKind::Refund,
                    OpKind::Void => BatchOperationKind::Void,
                    OpKind::Reverse => BatchOperationKind::Reverse,
                },
                payment_transaction_id: op.payment_transaction_id.clone(),
                request: op.request.clone(),
            });
            sendable.push(op);
        }
        if sendable.is_empty() {
            return Ok(Batch::default());
        }
        // The same operations make the same batch key: a resend is recognised as one.
        let joined: Vec<&str> = operations.iter().map(|o| o.idempotency_key.as_str()).collect();
        let key = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, joined.join(",").as_bytes()).to_string();
        let request = BatchRequest { operations };
        match self.backend.batch(&request, &key).await {
            Ok(resp) => {
                let mut decided = Vec::with_capacity(sendable.len());
                for op in &sendable {
                    let decision = match resp.results.iter().find(|r| r.idempotency_key == op.idempotency_key) {
                        Some(result) => decide(op, Answer::from_batch(op.kind, result)),
                        None => Decision::Later("the acquirer's batch answer left it out".into()),
                    };
                    decided.push((op.clone(), decision));
                }
                let (applied, card_reads) = self.forwarder.execute_all(decided).await?;
                for applied in applied {
                    self.published(applied);
                }
                tracing::info!(operations = sendable.len(), "queued operations forwarded");
                Ok(Batch { unreachable: false, card_reads })
            }
            Err(e) => {
                let unreachable = e.is_unreachable();
                if unreachable {
                    tracing::warn!(error = %e, operations = sendable.len(), "cannot forward queued operations; will retry");
                } else {
                    tracing::error!(error = %e, "the acquirer refused a whole batch; will retry — check the terminal's API key and the acquirer URL");
                }
                for op in &sendable {
                    self.forwarder.later(op, e.to_string()).await?;
                }
                Ok(Batch { unreachable: true, card_reads: 0 })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let s = SyncSettings::default();
        assert_eq!(s.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(s.backoff(4, 1.0), Duration::from_secs(8));
        assert_eq!(s.backoff(30, 1.0), Duration::from_secs(300));
        assert_eq!(s.backoff(30, 0.0), Duration::ZERO);
    }
}
