//! The terminal writes no Klarna wording of its own: no string the (simulated) acquirer
//! serves as Klarna's — headers, sub-headers, offers with their amounts — appears in the
//! daemon's sources, and no credit wording ("interest-free", instalment arithmetic) either.
//! On the screens and slips Klarna's strings are the acquirer's, byte for byte
//! (src/screens and tests/it/receipts_golden.rs show them as served).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::eventually::{Seen, eventually_seen};
use common::Harness;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn no_klarna_wording_and_no_credit_promotion_in_the_daemons_sources() {
    let mut files = vec![];
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 50, "the daemon's sources were not found");
    let locales = [
        "en-US", "en-GB", "de-DE", "de-AT", "sv-SE", "fr-FR", "nl-NL", "es-ES", "it-IT", "da-DK", "nb-NO", "fi-FI",
        "pl-PL",
    ];
    let mut klarna: Vec<String> = vec![];
    for l in locales {
        let d = posagent_sim::backend::klarna_wording(l, 123_450);
        klarna.extend([d.header, d.subheader]);
        klarna.extend(d.subheader_enriched);
    }
    // `{schedule}`: the old placeholder the terminal filled with its own instalment arithmetic.
    let credit = [
        "{schedule}",
        "interest-free",
        "zinsfrei",
        "räntefri",
        "sans frais",
        "renteloze",
        "sin intereses",
        "senza interessi",
    ];
    for (path, text) in &files {
        // Unit tests feed screens with strings as an acquirer serves them: not the daemon's.
        if path.ends_with("tests.rs") {
            continue;
        }
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        for phrase in klarna.iter().map(String::as_str).chain(credit) {
            // Comments may quote Klarna to explain a rule; code and texts may not.
            let in_code = text.lines().any(|line| {
                let code = line.split("//").next().unwrap_or("");
                code.contains(phrase)
            });
            assert!(!in_code, "{path} writes Klarna's or credit wording itself: {phrase:?}");
        }
    }
}

/// A word of `n` random letters: no table of the terminal's can hold it.
fn random_word(n: usize) -> String {
    (0..n).map(|_| fastrand::alphabetic()).collect()
}

async fn line_display(h: &Harness) -> Vec<String> {
    let v: Value =
        h.http.get(format!("{}/sim/line-display", h.sim.backend_url)).send().await.unwrap().json().await.unwrap();
    v["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().trim().to_string()).collect()
}

/// An acquirer serving random strings as Klarna's wording: the counter-PC terminal shows
/// the header on its line display and prints header and offer on the QR slip exactly as
/// served, and none of the market table's texts anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_acquirer_serves_is_what_the_terminal_shows_and_prints() {
    let mut h = Harness::start().await;
    let (header, subheader, offer) = (
        random_word(12),
        format!("{} {}", random_word(6), random_word(7)),
        format!("{} {}", random_word(5), random_word(9)),
    );
    let wording = json!({
        "locale": "sv-SE", "header": header, "subheader": subheader, "subheader_enriched": offer,
        "badge_url": "https://badge.example/klarna.svg",
    });
    let r = h.http.post(format!("{}/sim/wording", h.sim.backend_url)).json(&wording).send().await.unwrap();
    assert_eq!(r.status(), 204);
    h.stop_daemon().await;
    let profile = posagent::daemon::simulated_line_display_profile(&h.sim).unwrap();
    h.start_daemon_on(profile, |_| {}).await;
    let market = posagent_sim::backend::klarna_wording("sv-SE", 12_345);

    // A sale: the wording is asked for with it; the slip carries it as served.
    let sale = h.create(json!({"amount": 12_345, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    let slips = h.sim.printer.wait_for(1, Duration::from_secs(5)).await.unwrap();
    let slip = &slips[0].text;
    assert!(slip.contains(&header) && slip.contains(&offer), "the slip prints what was served:\n{slip}");
    // Idle again after the sale: the acceptance mark is the served header.
    assert_eq!(h.customer_from_slip("approve").await.0, 200);
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let shown = eventually_seen("the served header to show", Duration::from_secs(10), || async {
        let shown = line_display(&h).await;
        if shown.contains(&header) { Seen::Done(shown) } else { Seen::Not(shown) }
    })
    .await;
    let printed = h.sim.printer.wait_for(2, Duration::from_secs(5)).await.unwrap();
    let everything =
        format!("{}\n{}", printed.iter().map(|d| d.text.as_str()).collect::<Vec<_>>().join("\n"), shown.join("\n"));
    for text in [&market.header, &market.subheader].into_iter().chain(market.subheader_enriched.as_ref()) {
        assert!(!everything.contains(text.as_str()), "{text:?} was not served, yet it appears:\n{everything}");
    }
}
