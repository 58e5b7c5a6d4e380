//! The cashier console in headless Chromium, as a shop without a register runs its counter:
//! a cashier signs in with a PIN, sells from the quick keys with Klarna (the simulated
//! customer approves) and by card, sees both in today's sales, refunds a line with a
//! supervisor's approval, prints the X and Z reports (the Z needs the supervisor too), sees
//! the offline banner when the acquirer's network is cut, and is locked out again. Each
//! page is checked with axe-core (no serious or critical WCAG 2.1 AA violation) and its
//! screenshots at 1280×800 and 800×480 against the reviewed golden images.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use common::browser::{Browser, assert_golden, chromium};
use posagent_ecr_api::{CashierRole, PutCashier};
use std::time::Duration;

/// Share of a page's pixels that may differ from its golden (references and times).
const GOLDEN_TOLERANCE: f64 = 0.03;

async fn text_of(b: &mut Browser, id: &str) -> String {
    b.eval(&format!("document.getElementById('{id}').textContent")).await.as_str().unwrap_or_default().to_string()
}

async fn wait_text(b: &mut Browser, id: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        last = text_of(b, id).await;
        if last.contains(want) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = text_of(b, "error").await;
    panic!("#{id} never showed {want:?}; it shows {last:?}; the console's error line: {error:?}");
}

async fn wait_visible(b: &mut Browser, id: &str, visible: bool) {
    for _ in 0..100 {
        let shown = b.eval(&format!("(() => {{ const e = document.getElementById('{id}'); return !!e && e.offsetParent !== null || (e && e.open === true); }})()")).await;
        if shown == visible {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = text_of(b, "error").await;
    panic!("#{id} did not become {}; the console's error line: {error:?}", if visible { "visible" } else { "hidden" });
}

/// Checks the page with axe-core and its screenshot at both sizes against the goldens.
async fn check_page(b: &mut Browser, name: &str) {
    let violations = b.accessibility_violations().await;
    assert!(violations.is_empty(), "{name}: axe-core finds {violations:#?}");
    for (w, h) in [(1280, 800), (800, 480)] {
        b.viewport(w, h).await;
        // From the top, with no blinking caret: the same page gives the same pixels.
        b.eval("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)").await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let shot = b.screenshot(&format!("console-{name}-{w}x{h}")).await;
        assert_golden(&format!("console-{name}-{w}x{h}"), &shot, GOLDEN_TOLERANCE);
    }
    b.viewport(1280, 800).await;
}

/// Whether a slip with `text` comes out of the simulated printer within 10 s.
async fn printed(h: &Harness, text: &str) -> bool {
    for _ in 0..100 {
        if h.sim.printer.receipts().iter().any(|r| r.text.contains(text)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn add_cashiers(h: &Harness) {
    let put = |name: &str, role, pin: &str| PutCashier { name: name.into(), role, active: true, pin: Some(pin.into()) };
    let ecr = h.ecr();
    assert!(ecr.put_cashier("7", &put("Anna", CashierRole::Cashier, "4071")).await.unwrap().1);
    assert!(ecr.put_cashier("3", &put("Bo", CashierRole::Supervisor, "9052")).await.unwrap().1);
}

async fn sign_in(b: &mut Browser, cashier: &str, pin: &str) {
    b.type_into("signin-cashier", cashier).await;
    b.type_into("signin-pin", pin).await;
    b.click("signin-go").await;
}

async fn approve_as(b: &mut Browser, cashier: &str, pin: &str) {
    wait_visible(b, "approval", true).await;
    b.type_into("approval-cashier", cashier).await;
    b.type_into("approval-pin", pin).await;
    b.click("approval-go").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_runs_on_the_console() {
    let Some(binary) = chromium() else { return };
    let mut h = Harness::without_daemon().await;
    // A cashier refunds up to 20 kr alone.
    h.start_daemon_with(|c| {
        c.console.cashier_refund_limit = 2_000;
        // A dead network is noticed 5 s after the acquirer's last answer.
        c.sync.heartbeat_secs = 5;
    })
    .await;
    add_cashiers(&h).await;
    let mut b = Browser::launch(&binary).await;
    b.open(&format!("{}/console", h.url)).await;
    b.viewport(1280, 800).await;

    // Sign-in, in the store's language; a wrong PIN is refused.
    wait_text(&mut b, "signin-title", "Logga in").await;
    check_page(&mut b, "signin").await;
    // Another language from the picker, then the store's again.
    for (lang, title) in [("de", "Anmelden"), ("sv", "Logga in")] {
        b.eval(&format!("(() => {{ const s = document.getElementById('language'); s.value = '{lang}'; s.dispatchEvent(new Event('change')); }})()")).await;
        wait_text(&mut b, "signin-title", title).await;
        assert_eq!(b.eval("document.documentElement.lang").await, lang);
    }
    sign_in(&mut b, "7", "4072").await;
    wait_text(&mut b, "error", "PIN").await;
    sign_in(&mut b, "7", "4071").await;
    wait_text(&mut b, "who-name", "Anna (7)").await;

    // A Klarna sale from the quick keys: 2 coffees and a bun.
    wait_visible(&mut b, "key-KAFFE", true).await;
    b.click("key-KAFFE").await;
    b.click("key-KAFFE").await;
    b.click("key-BULLE").await;
    let total = wait_text(&mut b, "cart-total", "102").await;
    assert!(total.contains("102,00"), "{total}");
    wait_text(&mut b, "pay-klarna", "Klarna").await;
    check_page(&mut b, "sell").await;
    b.click("pay-klarna").await;
    wait_text(&mut b, "state", "QR-kod visas").await;
    wait_text(&mut b, "customer-sees", "QR").await;
    assert_eq!(h.customer("approve").await.0, 200);
    wait_text(&mut b, "state", "Godkänt").await;
    let detail = wait_text(&mut b, "detail", "Klarna ").await;
    let klarna_ref = detail.split(" · ").next().unwrap().to_string();
    let klarna = h.wait_for(&klarna_ref, |s| s["receipt_printed"] == true).await;
    assert_eq!(klarna["cashier"], "7");
    assert_eq!(klarna["order_lines"].as_array().map(Vec::len), Some(2), "{klarna}");

    // A card sale typed on the keypad: 25,00.
    for key in ["2", "5", "0", "0"] {
        b.click_text("amount-keypad", key).await;
    }
    wait_text(&mut b, "amount", "25,00").await;
    b.click("pay-card").await;
    wait_text(&mut b, "state", "Väntar på kortet").await;
    h.present_card_when_waiting("approve", "tap").await;
    wait_text(&mut b, "state", "Godkänt").await;

    // Both in today's sales, with the cashier.
    b.click("tab-sales").await;
    wait_text(&mut b, "sales-rows", &klarna_ref).await;
    let rows = wait_text(&mut b, "sales-rows", "25,00").await;
    assert!(rows.contains("102,00") && rows.matches("Anna (7)").count() == 2, "{rows}");
    check_page(&mut b, "sales").await;

    // The Klarna sale's page: refund one coffee (35 kr). Anna refunds up to 20 kr alone:
    // Bo approves with his PIN.
    b.click_text("sales-rows", &klarna_ref).await;
    wait_text(&mut b, "sale-title", &klarna_ref).await;
    b.type_into("refund-qty-KAFFE", "1").await;
    b.click("refund-go").await;
    approve_as(&mut b, "3", "9052").await;
    let history = wait_text(&mut b, "sale-history", "godkänt av").await;
    assert!(history.contains("Återbetalning av Anna (7)") && history.contains("godkänt av Bo (3)"), "{history}");
    let sale = h.get(&format!("/v1/sales/{klarna_ref}")).await.1;
    assert_eq!(sale["refunded_amount"], 3500, "{sale}");
    check_page(&mut b, "sale").await;

    // A scanned receipt (its QR code is the reference, then Enter) opens the sale's page;
    // nothing is refunded by the scan.
    b.click("tab-returns").await;
    check_page(&mut b, "returns").await;
    b.type_into("return-ref", &klarna_ref).await;
    b.eval("document.getElementById('return-ref').dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}))").await;
    wait_visible(&mut b, "view-sale", true).await;
    wait_text(&mut b, "sale-title", &klarna_ref).await;
    assert_eq!(h.get(&format!("/v1/sales/{klarna_ref}")).await.1["refunded_amount"], 3500);

    // The X report shows and prints; the Z report needs the supervisor.
    b.click("tab-reports").await;
    b.click("report-x").await;
    let report = wait_text(&mut b, "report", "X-rapport").await;
    assert!(report.contains("102,00") && report.contains("25,00") && report.contains("35,00"), "{report}");
    check_page(&mut b, "reports").await;
    b.click("report-x-print").await;
    assert!(printed(&h, "X-RAPPORT").await, "the X report was not printed");
    b.click("report-z").await;
    wait_visible(&mut b, "confirm", true).await;
    b.click("confirm-yes").await;
    approve_as(&mut b, "3", "9052").await;
    wait_text(&mut b, "report", "Z-rapport").await;
    assert!(printed(&h, "Z-RAPPORT").await, "the Z report was not printed");
    // The cashier's number on the receipts and reports made at the console.
    let slips = h.sim.printer.receipts();
    let with_cashier = |kind: &str| slips.iter().any(|r| r.text.contains(kind) && r.text.contains("Kassör"));
    assert!(with_cashier("Z-RAPPORT") && with_cashier("X-RAPPORT") && with_cashier(&klarna_ref), "no cashier line");

    // The acquirer's network is cut: the banner says so.
    let faults = h.http.post(format!("{}/sim/faults", h.sim.backend_url)).json(&serde_json::json!({"partition": true}));
    assert!(faults.send().await.unwrap().status().is_success());
    b.click("tab-terminal").await;
    let banner = wait_text(&mut b, "banner", "godkänns offline").await;
    assert!(banner.starts_with("Offline: inlösaren går inte att nå. Klarna erbjuds inte."), "{banner}");
    // The offline room: nothing approved offline yet, so the whole of the store's limits.
    assert!(banner.contains("000,00\u{a0}kr kvar, för 50 betalningar till"), "{banner:?}");
    wait_text(&mut b, "health", "Inlösaren går inte att nå").await;
    check_page(&mut b, "terminal").await;

    // Locked: the sign-in again, and the API refuses the old session.
    b.click("lock").await;
    wait_visible(&mut b, "view-signin", true).await;
    let status = b.eval("fetch('/v1/sales').then(r => r.status)").await;
    assert_eq!(status, 401);
    let actions = h.get(&format!("/v1/sales/{klarna_ref}/history")).await.1;
    // Anna's refund is journaled as she asked for it: refused alone, done with Bo's approval.
    let done: Vec<_> = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["action"].as_str().unwrap_or(""), a["cashier"].clone(), a["approved_by"].clone(), a["status"].clone())
        })
        .collect();
    let (anna, bo) = (serde_json::json!("7"), serde_json::json!("3"));
    assert_eq!(
        done,
        [
            ("return.create", anna.clone(), serde_json::Value::Null, serde_json::json!(403)),
            ("return.create", anna, bo, serde_json::json!(201))
        ],
        "{actions}"
    );
}
