//! Following the acquirer's terminal event stream (`GET /v1/events`, long poll, signed):
//! a sale's transaction changes after the terminal is done with it — captured or
//! refunded in the back office or online, its authorization expired or closed — and
//! the sale's record follows (`captured_amount`, `refunded_amount`, `transaction_state`),
//! told to the register on its event stream. The cursor is journaled with the page it
//! belongs to; a stream that started over (a new acquirer environment) is read again
//! from its start, which is harmless: applying news of a transaction is idempotent.
//! After an outage it reads on within seconds: a failed poll marks the acquirer
//! unreachable (so the sync worker probes it), the pause after failures is short, and
//! the news that the acquirer answers again ends both the pause and a poll left hanging
//! on a dead connection.

use super::sync::Publish;
use crate::backend::AcquirerClient;
use crate::store::{EventCursor, Journal, Patched};
use posagent_acquirer_api::PaymentTransaction;
use posagent_acquirer_api::events::TerminalEvent;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Resolves once the acquirer is seen answering after `changes` last looked; never if
/// the connectivity is gone.
async fn back_online(changes: &mut watch::Receiver<u64>, connectivity: &crate::backend::Connectivity) {
    loop {
        if changes.changed().await.is_err() {
            return std::future::pending().await;
        }
        if connectivity.is_online() {
            return;
        }
    }
}

/// How long one long poll of the stream waits for news.
const LONG_POLL: Duration = Duration::from_secs(25);
/// Longest pause after failures (a failed poll is one cheap GET).
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The follower of the acquirer's event stream.
pub struct EventFollower {
    journal: Journal,
    backend: AcquirerClient,
    publish: Publish,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

fn cursor_of(event: &TerminalEvent) -> EventCursor {
    EventCursor {
        seq: event.metadata.seq,
        event_id: event.metadata.event_id.clone(),
        occurred_at: event.metadata.occurred_at,
    }
}

/// The transactions a page reports on, in order.
fn transactions(events: &[TerminalEvent]) -> Vec<PaymentTransaction> {
    events
        .iter()
        .filter(|e| e.metadata.event_type.starts_with("payment.transaction."))
        .filter_map(|e| serde_json::from_value(e.payload.clone()).ok())
        .collect()
}

impl EventFollower {
    /// A follower writing into `journal`, telling the register through `publish` and
    /// counting into `metrics`.
    pub fn new(
        journal: Journal,
        backend: AcquirerClient,
        publish: Publish,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Self {
        EventFollower { journal, backend, publish, metrics }
    }

    /// Where to read on from: after the journaled cursor if the stream still holds that
    /// very event, else from the start. `None` when the acquirer cannot be asked now.
    async fn resume_point(&self) -> Option<u64> {
        let cursor = match self.journal.event_cursor().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the event cursor; reading the acquirer's events from the start");
                None
            }
        };
        let Some(c) = cursor else { return Some(0) };
        let page = match self.backend.events(c.seq.saturating_sub(1), Duration::ZERO).await {
            Ok(p) => p,
            Err(e) => {
                self.failed(&e);
                return None;
            }
        };
        let same = page.events.first().is_some_and(|e| e.metadata.seq == c.seq && cursor_of(e) == c);
        if same {
            Some(c.seq)
        } else {
            tracing::warn!(
                seq = c.seq,
                "the acquirer's event stream no longer holds the last event applied (it started over); reading it from the start"
            );
            Some(0)
        }
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        let mut after = None;
        let connectivity = self.backend.connectivity().clone();
        let mut changes = connectivity.watch();
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let ok = match after {
                None => {
                    after = self.resume_point().await;
                    after.is_some()
                }
                Some(from) => {
                    changes.borrow_and_update();
                    let round = self.round(from, &shutdown, &mut changes, &connectivity).await;
                    round.map(|next| after = Some(next)).is_some()
                }
            };
            if ok {
                failures = 0;
                continue;
            }
            failures = failures.saturating_add(1);
            let wait = Duration::from_secs(1u64 << failures.min(6)).min(MAX_BACKOFF);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
                () = back_online(&mut changes, &connectivity) => failures = 0,
            }
        }
    }

    /// Logs a failed read of the stream: a page failing its signature check loudly (and
    /// counted), an unreachable acquirer quietly (the sync worker reports that).
    fn failed(&self, e: &crate::backend::BackendError) {
        if matches!(e, crate::backend::BackendError::BadSignature { .. }) {
            tracing::error!(error = %e, "an event page from the acquirer failed its signature check; it is ignored");
            self.metrics.acquirer_events("refused", 1);
        } else {
            tracing::debug!(error = %e, "acquirer event stream not readable now; retrying");
        }
    }

    /// One long poll after `from`: applies what came and returns where to read on, or
    /// `None` on a failure (logged).
    async fn round(
        &self,
        from: u64,
        shutdown: &CancellationToken,
        changes: &mut watch::Receiver<u64>,
        connectivity: &crate::backend::Connectivity,
    ) -> Option<u64> {
        let page = tokio::select! {
            () = shutdown.cancelled() => return Some(from),
            r = self.backend.events(from, LONG_POLL) => r,
            // The acquirer answers again while this poll hangs on a dead connection:
            // poll anew (nothing is lost: the cursor has not moved).
            () = back_online(changes, connectivity) => return Some(from),
        };
        let page = match page {
            Ok(p) => {
                connectivity.set(true);
                p
            }
            Err(e) => {
                if e.is_unreachable() {
                    connectivity.set(false);
                }
                self.failed(&e);
                return None;
            }
        };
        let events: Vec<TerminalEvent> = page.events.into_iter().filter(|e| e.metadata.seq > from).collect();
        let Some(last) = events.last() else { return Some(from) };
        let next = last.metadata.seq;
        match self.journal.apply_acquirer_events(Some(cursor_of(last)), transactions(&events)).await {
            Ok(changed) => {
                self.metrics.acquirer_events("applied", events.len() as u64);
                for sale in changed {
                    tracing::info!(sale_id = %sale.id, "the acquirer reported a change of the sale's transaction");
                    (self.publish)(&Patched::Sale(Box::new(sale)));
                }
                Some(next)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot journal the acquirer's events; retrying");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_acquirer_api::events::EventMetadata;

    fn event(seq: u64, event_type: &str, payload: serde_json::Value) -> TerminalEvent {
        TerminalEvent {
            metadata: EventMetadata {
                event_id: format!("e{seq}"),
                event_type: event_type.into(),
                event_version: "v2".into(),
                occurred_at: chrono::Utc::now(),
                seq,
            },
            payload,
        }
    }

    #[test]
    fn only_transaction_events_with_a_transaction_are_taken() {
        let tx = serde_json::json!({
            "payment_transaction_id": "krn:payment:eu1:transaction:1",
            "payment_transaction_reference": "T-1",
            "klarna_reference": "K1",
            "method": "KLARNA",
            "state": "COMPLETED",
            "amount": 100,
            "currency": "SEK",
            "captured_amount": 100,
            "refunded_amount": 0,
            "payment_captures": [],
            "payment_refunds": [],
            "created_at": "2026-11-26T00:00:00Z",
            "expires_at": "2026-12-24T00:00:00Z"
        });
        let page = [
            event(1, "payment.request.state-change.completed", serde_json::json!({"payment_request_id": "x"})),
            event(2, "payment.transaction.captured", tx),
            event(3, "payment.transaction.refunded", serde_json::json!({"not": "a transaction"})),
        ];
        let txs = transactions(&page);
        assert_eq!(txs.len(), 1, "{txs:?}");
        assert_eq!(txs[0].payment_transaction_reference, "T-1");
        assert_eq!(cursor_of(&page[2]).seq, 3);
    }
}
