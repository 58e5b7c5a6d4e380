//! The acquirer's own clock at work: payment requests and authorizations expire (and
//! expired transactions end) at the moment they are due on the simulator's clock, each
//! with its event on the terminal event stream — not only when something reads them.
//! One task per backend, ending with the backend's `stop` token.

use super::SimBackend;
use std::sync::Arc;
use std::time::Duration;

/// Longest sleep between looks (a safety net: every change of the books or of the clock
/// wakes the ticker anyway).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long to sleep until the backend's next deadline (zero: due now).
fn until_next_deadline(backend: &SimBackend) -> Duration {
    let Some(deadline) = backend.books().next_deadline() else { return MAX_SLEEP };
    (deadline - backend.now()).to_std().map_or(Duration::ZERO, |d| d.min(MAX_SLEEP))
}

/// Ages the books whenever a deadline comes, until the backend stops.
pub(super) async fn run(backend: Arc<SimBackend>) {
    loop {
        // Registered before the deadline is looked up, so no change in between is missed.
        let changed = backend.changed.notified();
        let wait = until_next_deadline(&backend);
        if wait.is_zero() {
            backend.age_now();
            continue;
        }
        tokio::select! {
            () = backend.stop.cancelled() => return,
            () = changed => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}
