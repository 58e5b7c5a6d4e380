//! The runners' waits, generic over what they wait for, so their races are tested on
//! paused time: the daemon stopping, the cashier's cancel, the stage's deadline and the
//! awaited answer, first come first served and in that order when they come together.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// What ended a wait.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Woken<T> {
    /// The daemon stops: the sale stays where it is journaled.
    Stopping,
    /// The cashier canceled.
    Canceled,
    /// The stage's deadline passed.
    TimedOut,
    /// The answer came.
    Answer(T),
}

/// Waits for `answer` (kept in flight throughout: one request at a time) unless the
/// daemon stops, the cashier cancels or `deadline` passes first; a cancel or a deadline
/// that comes with the answer wins over it (the machine then asks the acquirer, whose
/// word settles the race). While `redrawing`, `redraw` runs every `every`.
pub(super) async fn first_of<T, R: Future<Output = ()>>(
    (shutdown, cancel): (&CancellationToken, &CancellationToken),
    deadline: Instant,
    mut answer: Pin<&mut impl Future<Output = T>>,
    (every, redrawing): (Duration, bool),
    mut redraw: impl FnMut() -> R,
) -> Woken<T> {
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Woken::Stopping,
            () = cancel.cancelled() => return Woken::Canceled,
            () = tokio::time::sleep_until(deadline) => return Woken::TimedOut,
            _ = ticks.tick(), if redrawing => redraw().await,
            r = &mut answer => return Woken::Answer(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::time::sleep;

    const SECOND: Duration = Duration::from_secs(1);

    fn tokens() -> (CancellationToken, CancellationToken) {
        (CancellationToken::new(), CancellationToken::new())
    }

    /// The answer comes before the deadline: the countdown was redrawn each second
    /// meanwhile, and the one request in flight was not started again by a redraw.
    #[tokio::test(start_paused = true)]
    async fn the_answer_comes_with_the_countdown_redrawn_meanwhile() {
        let (shutdown, cancel) = tokens();
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let answer = pin!(async move {
            p.fetch_add(1, Ordering::SeqCst);
            sleep(Duration::from_millis(3_500)).await;
            "COMPLETED"
        });
        let redraws = AtomicUsize::new(0);
        let deadline = Instant::now() + 60 * SECOND;
        let started = Instant::now();
        let woken = first_of((&shutdown, &cancel), deadline, answer, (SECOND, true), || async {
            redraws.fetch_add(1, Ordering::SeqCst);
        })
        .await;
        assert_eq!(woken, Woken::Answer("COMPLETED"));
        assert_eq!(started.elapsed(), Duration::from_millis(3_500));
        assert_eq!(redraws.load(Ordering::SeqCst), 3);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    }

    /// The terminal's time runs out as the approval arrives: the timeout wins, and the
    /// machine cancels the request and takes the state the acquirer then reports.
    #[tokio::test(start_paused = true)]
    async fn a_timeout_at_the_instant_of_the_approval_wins() {
        let (shutdown, cancel) = tokens();
        let answer = pin!(async {
            sleep(60 * SECOND).await;
            "COMPLETED"
        });
        let deadline = Instant::now() + 60 * SECOND;
        let woken = first_of((&shutdown, &cancel), deadline, answer, (SECOND, true), || async {}).await;
        assert_eq!(woken, Woken::TimedOut);
    }

    /// A cancel and the customer's completion together: the cancel wins, and goes to the
    /// acquirer, whose word (canceled, or completed too late to cancel) settles it.
    #[tokio::test(start_paused = true)]
    async fn a_cancel_with_the_completion_wins() {
        let (shutdown, cancel) = tokens();
        cancel.cancel();
        let answer = pin!(std::future::ready("COMPLETED"));
        let deadline = Instant::now() + 60 * SECOND;
        let woken = first_of((&shutdown, &cancel), deadline, answer, (SECOND, true), || async {}).await;
        assert_eq!(woken, Woken::Canceled);
    }

    /// The cashier cancels while the long poll is held: the wait ends at once, not when
    /// the poll would have answered.
    #[tokio::test(start_paused = true)]
    async fn a_cancel_ends_a_held_long_poll_at_once() {
        let (shutdown, cancel) = tokens();
        let c = cancel.clone();
        tokio::spawn(async move {
            sleep(Duration::from_millis(2_500)).await;
            c.cancel();
        });
        let answer = pin!(async {
            sleep(20 * SECOND).await;
            "SUBMITTED"
        });
        let started = Instant::now();
        let deadline = Instant::now() + 60 * SECOND;
        let woken = first_of((&shutdown, &cancel), deadline, answer, (SECOND, false), || async {}).await;
        assert_eq!(woken, Woken::Canceled);
        assert_eq!(started.elapsed(), Duration::from_millis(2_500));
    }

    /// The daemon stopping wins over everything: the sale resumes at the next start.
    #[tokio::test(start_paused = true)]
    async fn stopping_wins_over_everything() {
        let (shutdown, cancel) = tokens();
        shutdown.cancel();
        cancel.cancel();
        let answer = pin!(std::future::ready("COMPLETED"));
        let woken = first_of((&shutdown, &cancel), Instant::now(), answer, (SECOND, true), || async {}).await;
        assert_eq!(woken, Woken::Stopping);
    }

    /// A deadline already past (a sale resumed after its time ran out) ends the wait at once.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_already_past_times_out_at_once() {
        let (shutdown, cancel) = tokens();
        let answer = pin!(std::future::pending::<()>());
        let started = Instant::now();
        let woken = first_of((&shutdown, &cancel), Instant::now(), answer, (SECOND, true), || async {}).await;
        assert_eq!((woken, started.elapsed()), (Woken::TimedOut, Duration::ZERO));
    }
}
