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
        let d = posagent_sim::backend::klarna_wording("", l, "EUR", 123_450);
        klarna.extend(d.offer().map(str::to_string));
        klarna.extend([d.header.text, d.subheader.short.text]);
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

/// Klarna's locales the simulated acquirer serves (its market table).
const LOCALES: [&str; 13] = [
    "en-US", "en-GB", "de-DE", "de-AT", "sv-SE", "fr-FR", "nl-NL", "es-ES", "it-IT", "da-DK", "nb-NO", "fi-FI", "pl-PL",
];

/// A payment option of random strings, with Klarna's structure: no table of the
/// terminal's can hold any of them.
fn random_option() -> Value {
    json!({
        "payment_option_id": format!("krn:payment:eu1:payment-option:{}", random_word(16)),
        "header": {"text": random_word(12)},
        "subheader": {"short": {"text": format!("{} {}", random_word(6), random_word(7))},
            "enriched": {"text": format!("{} {}", random_word(5), random_word(9)),
                "link": {"href": format!("https://klarna.example/{}", random_word(8)), "link_text": random_word(6)}}},
        "icon": {"alt": random_word(5), "badge_image_url": "https://badge.example/klarna.svg",
            "rectangle_image_url": "https://badge.example/r.png", "square_image_url": "https://badge.example/s.svg"},
        "payment_button": {"text": random_word(10)},
    })
}

async fn serve_wording(h: &Harness, option: &Value) {
    let r = h.http.post(format!("{}/sim/wording", h.sim.backend_url)).json(option).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

/// An acquirer serving random strings as Klarna's payment option, in every locale: the
/// register gets the option as served, the counter-PC terminal prints header and offer on
/// the QR slip exactly as served and authorizes the option shown, shows the header on its
/// line display, and none of the market table's texts appear anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_acquirer_serves_is_what_the_terminal_shows_and_prints() {
    let mut h = Harness::start().await;
    let first = random_option();
    serve_wording(&h, &first).await;
    h.stop_daemon().await;
    let profile = posagent::daemon::simulated_line_display_profile(&h.sim).unwrap();
    h.start_daemon_on(profile, |_| {}).await;

    let mut printed_so_far = 0;
    let mut everything = String::new();
    let mut served_headers = vec![];
    for (n, locale) in LOCALES.iter().enumerate() {
        let option = if n == 0 { first.clone() } else { random_option() };
        serve_wording(&h, &option).await;
        let (header, offer) = (&option["header"]["text"], &option["subheader"]["enriched"]["text"]);
        served_headers.push(header.as_str().unwrap().to_string());
        let amount = 12_345 + n as i64;
        // The register sees the option as served, field for field.
        let (status, a) = h.get(&format!("/v1/klarna?amount={amount}&locale={locale}")).await;
        assert_eq!((status, &a["payment_option"]), (200, &option), "{locale}");
        // A sale in that locale: the slip carries the option's texts as served.
        let sale = h.create(json!({"amount": amount, "currency": "SEK", "locale": locale})).await;
        let id = sale["id"].as_str().unwrap().to_string();
        h.wait_state(&id, "QR_SHOWN").await;
        printed_so_far += 1;
        let slips = h.sim.printer.wait_for(printed_so_far, Duration::from_secs(5)).await.unwrap();
        let slip = &slips[printed_so_far - 1].text;
        for text in [header, offer] {
            assert!(slip.contains(text.as_str().unwrap()), "{locale}: the slip prints what was served:\n{slip}");
        }
        everything.push_str(slip);
        let received: Value = h
            .http
            .get(format!("{}/sim/interoperability", h.sim.backend_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let last = received.as_array().unwrap().last().cloned().unwrap_or_default();
        assert_eq!(last["payment_option_id"], option["payment_option_id"], "{locale}: the option shown is authorized");
        if n + 1 < LOCALES.len() {
            let (status, _) = h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
            assert_eq!(status, 200, "{locale}");
            h.wait_state(&id, "CANCELED").await;
        } else {
            // The last one is paid; idle again, the acceptance mark is the served header.
            assert_eq!(h.customer_from_slip("approve").await.0, 200);
            h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
        }
    }
    // The idle mark is a header the acquirer served for the store's locale (the sv-SE
    // sale's, or a later one the idle screen asked for).
    let shown = eventually_seen("a served header to show", Duration::from_secs(10), || async {
        let shown = line_display(&h).await;
        if shown.iter().any(|l| served_headers.contains(l)) { Seen::Done(shown) } else { Seen::Not(shown) }
    })
    .await;
    let printed = h.sim.printer.wait_for(printed_so_far + 1, Duration::from_secs(5)).await.unwrap();
    everything.push_str(&printed.iter().map(|d| d.text.as_str()).collect::<Vec<_>>().join("\n"));
    everything.push_str(&shown.join("\n"));
    for locale in LOCALES {
        let market = posagent_sim::backend::klarna_wording("", locale, "SEK", 12_345);
        for text in [&market.header.text, &market.subheader.short.text] {
            assert!(!everything.contains(text.as_str()), "{text:?} was not served, yet it appears:\n{everything}");
        }
    }
}
