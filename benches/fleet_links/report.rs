//! What the benchmark prints of its events: latencies since a moment (the first matching
//! event of each link), and the reconnections after the broker's restart as a histogram
//! per 100 ms (one line a second), with the peak second and the failed attempts.

use super::link::{Ev, Kind};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// From `since` to each link's first event whose kind `pick` takes.
pub fn latencies(events: &[Ev], since: Instant, pick: impl Fn(&Kind) -> bool) -> Vec<Duration> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|e| pick(&e.kind) && seen.insert(e.id))
        .map(|e| e.at.saturating_duration_since(since))
        .collect()
}

/// Events of `kind` per 100 ms since `since` (the first link's only, for CONNACKs).
fn per_100ms(events: &[Ev], since: Instant, pick: impl Fn(&Kind) -> bool) -> Vec<usize> {
    let mut buckets = vec![];
    for e in events.iter().filter(|e| pick(&e.kind)) {
        let i = (e.at.saturating_duration_since(since).as_millis() / 100) as usize;
        if buckets.len() <= i {
            buckets.resize(i + 1, 0);
        }
        buckets[i] += 1;
    }
    buckets
}

/// The reconnections after the restart at `killed`: histogram, peak, herd or not
/// (`rate`: the connections a second the broker took at the start, paced; `overflows`:
/// the connections the kernel dropped meanwhile, the broker's listen queue full).
pub fn reconnections(events: &[Ev], killed: Instant, n: usize, rate: f64, overflows: u64) {
    let back = per_100ms(events, killed, |k| matches!(k, Kind::Connected));
    let failed = per_100ms(events, killed, |k| matches!(k, Kind::Failed));
    let lost = events.iter().filter(|e| matches!(e.kind, Kind::Lost)).count();
    let tenths = back.len().max(failed.len());
    let at = |v: &[usize], i: usize| v.get(i).copied().unwrap_or(0);
    println!("  reconnections per 100 ms since the kill (one line a second; [failed attempts in that second]):");
    let mut peak = (0, 0);
    for second in 0..tenths.div_ceil(10) {
        let row: Vec<usize> = (second * 10..second * 10 + 10).map(|i| at(&back, i)).collect();
        let sum: usize = row.iter().sum();
        let fails: usize = (second * 10..second * 10 + 10).map(|i| at(&failed, i)).sum();
        if sum > peak.1 {
            peak = (second, sum);
        }
        if sum + fails > 0 {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:5}")).collect();
            println!("  {second:3} s |{} | {sum:6} [{fails}]", cells.join(""));
        }
    }
    let total_back = back.iter().sum::<usize>();
    let total_failed = failed.iter().sum::<usize>();
    let last = events.iter().filter(|e| matches!(e.kind, Kind::Connected)).map(|e| e.at - killed).max();
    println!(
        "  {lost} links lost the connection, {total_back} reconnected, the last {} after the kill; {total_failed} failed attempts ({:.2} a link)",
        last.map_or("-".to_string(), |d| format!("{d:.2?}")),
        total_failed as f64 / n as f64
    );
    let share = peak.1 as f64 / n as f64;
    println!(
        "  peak second: {} s–{} s after the kill, {} reconnections ({:.1} % of {n}); peak 100 ms: {}",
        peak.0,
        peak.0 + 1,
        peak.1,
        share * 100.0,
        back.iter().max().copied().unwrap_or(0)
    );
    let first = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Failed | Kind::Connected) && e.at - killed < Duration::from_secs(1));
    // A herd: the attempts come faster than the broker takes them, so that they time
    // out (more than 1 % of the links failed an attempt) or every link's SYN was dropped
    // by the full listen queue once on average (each drop costs a second or more).
    let herd = total_failed > n / 100 || overflows as usize > n;
    println!(
        "  attempts ended in the first second: {} (the broker took {rate:.0}/s at the start); \
         {overflows} connections dropped by the full listen queue: {}",
        first.count(),
        if herd { "a thundering herd" } else { "no thundering herd" }
    );
}
