//! Klarna's badge as the acquirer serves it: the simulated acquirer's payment option points
//! at its own test badge (not Klarna's file), the daemon fetches it in the background
//! and caches it, and the idle, choice and QR screens on the simulated display draw it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use crate::common::eventually::{Seen, eventually_seen};
use common::Harness;
use embedded_graphics::pixelcolor::RgbColor;
use serde_json::json;
use std::time::Duration;

/// Pixels of the test badge's own pink (0xFFB3C7, not the screens' 0xFFA8CD) on the
/// display's current frame, within what the panel's RGB565 keeps of it.
fn badge_pixels(png: &[u8]) -> usize {
    let (_, _, px) = common::browser::pixels(png);
    let near = |a: u8, b: u8| a.abs_diff(b) <= 5;
    px.iter().filter(|p| near(p[0], 0xFF) && near(p[1], 0xB3) && near(p[2], 0xC7)).count()
}

async fn wait_for_badge(h: &Harness, what: &str) -> Vec<u8> {
    let badge = || async {
        let png = h.display_png().await;
        if badge_pixels(&png) > 500 {
            return Seen::Done(png);
        }
        let assets: Vec<_> = std::fs::read_dir(h.data_dir().join("assets")).into_iter().flatten().flatten().collect();
        Seen::Not(format!("{} badge pixels; cached: {assets:?}", badge_pixels(&png)))
    };
    eventually_seen(&format!("the badge on the {what} screen"), Duration::from_secs(10), badge).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_badge_from_the_acquirer_is_fetched_cached_and_drawn_on_the_idle_choice_and_qr_screens() {
    let h = Harness::start().await;
    // The idle screen gets the badge once it is fetched (at start, with the wording).
    wait_for_badge(&h, "idle").await;
    let cached: Vec<_> = std::fs::read_dir(h.data_dir().join("assets")).unwrap().flatten().collect();
    assert_eq!(cached.len(), 2, "the badge and its ETag: {cached:?}");

    // The method-choice screen draws it in Klarna's box; chosen, the QR screen in its band.
    let sale = h.create(json!({"amount": 10000, "currency": "SEK", "method": "CHOICE"})).await;
    let id = sale["id"].as_str().unwrap();
    h.wait_state(id, "AWAITING_METHOD").await;
    wait_for_badge(&h, "choice").await;
    let (st, chosen) = h.post(&format!("/v1/sales/{id}/method"), json!({"method": "KLARNA"})).await;
    assert_eq!(st, 200, "{chosen}");
    let shown = h.wait_state(id, "QR_SHOWN").await;
    let png = wait_for_badge(&h, "QR").await;
    let decoded = common::decode_png_qr(&png);
    if !decoded.is_empty() {
        assert_eq!(decoded, vec![shown["payment_request_url"].as_str().unwrap().to_string()]);
    } else {
        // The frame was taken between redraws; the QR code is there on the next one.
        assert_eq!(h.read_display_qr().await, shown["payment_request_url"].as_str().unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_serves_its_badges_at_stable_urls_with_etags() {
    let h = Harness::start().await;
    let option = posagent_sim::backend::klarna_wording(&h.sim.backend_url, "sv-SE", "SEK", 10_000);
    let icon = &option.icon;
    // The simulator's own icons below its base URL, not Klarna's CDN.
    for (url, kind) in [
        (&icon.badge_image_url, "image/svg+xml"),
        (&icon.rectangle_image_url, "image/png"),
        (&icon.square_image_url, "image/svg+xml"),
    ] {
        assert!(url.starts_with(&h.sim.backend_url), "{url}");
        let path = url.as_str();
        let r = h.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], kind);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let body = r.bytes().await.unwrap();
        let badge = posagent::screens::Badge::decode(&body).unwrap();
        let raster = badge.raster(100, 100, false).unwrap();
        assert!(raster.pixels.iter().filter(|p| (p.r(), p.g(), p.b()) == (0xFF, 0xB3, 0xC7)).count() > 1000, "{path}");
        let again = h.http.get(url).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
}
