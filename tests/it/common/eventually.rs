//! The one way the integration tests wait: `eventually` polls a probe until it gives a
//! value, and fails naming what never happened and the last thing seen. Nothing waits a
//! fixed time for a condition.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How often a probe is asked.
pub const POLL: Duration = Duration::from_millis(20);

/// How long a condition may take by default: generous for a loaded CI machine; a test
/// that passes takes only as long as the condition does.
pub const WITHIN: Duration = Duration::from_secs(10);

/// What a probe saw: done with a value, or not yet, with what it saw instead.
pub enum Seen<T, W> {
    /// The condition holds.
    Done(T),
    /// Not yet; what was seen (reported if it never happens).
    Not(W),
}

/// Polls `probe` every [`POLL`] until it is done, for at most `within`; panics with
/// `what` and the last thing seen.
pub async fn eventually_seen<T, W, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    W: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Seen<T, W>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Seen::Done(v) => return v,
            Seen::Not(seen) => {
                assert!(tokio::time::Instant::now() < deadline, "{what}: not within {within:?}; last seen: {seen:?}");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `probe` every [`POLL`] until it gives `Some`, for at most `within`; panics with
/// `what`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_seen(what, within, || {
        let next = probe();
        async move {
            match next.await {
                Some(v) => Seen::Done(v),
                None => Seen::Not(()),
            }
        }
    })
    .await
}

#[tokio::test]
async fn eventually_returns_the_value_once_the_condition_holds_and_fails_naming_it_when_it_never_does() {
    let mut calls = 0;
    let got = eventually("the third call", WITHIN, || {
        calls += 1;
        let n = calls;
        async move { (n == 3).then_some(n) }
    })
    .await;
    assert_eq!(got, 3);

    let never = tokio::spawn(eventually_seen("the sale to be APPROVED", Duration::from_millis(60), || async {
        Seen::<(), _>::Not("QR_SHOWN")
    }));
    let message = match never.await {
        Err(e) if e.is_panic() => e.into_panic().downcast::<String>().map(|s| *s).unwrap_or_default(),
        other => panic!("a condition that never holds must fail: {other:?}"),
    };
    assert!(message.contains("the sale to be APPROVED") && message.contains("QR_SHOWN"), "{message}");
}
