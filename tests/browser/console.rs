//! The cashier console in headless Chromium: a Klarna sale typed in and approved, a return,
//! a reprint, the X report and an unpaid sale tried again — the way a cashier without a register uses the terminal.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use common::browser::{Browser, chromium};
use std::time::Duration;

async fn wait_text(b: &mut Browser, id: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = b
            .eval(&format!("document.getElementById('{id}').textContent"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if last.contains(want) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = b.eval("document.getElementById('error').textContent").await;
    panic!("#{id} never showed {want:?}; it shows {last:?}; the console's error line: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_and_a_return_through_the_console() {
    let Some(binary) = chromium() else { return };
    let h = Harness::start().await;
    let mut b = Browser::launch(&binary).await;
    b.open(&format!("{}/console", h.url)).await;
    // Log in with the ECR token.
    b.eval(&format!("document.getElementById('token').value = '{}'", h.token)).await;
    b.click("save-token").await;
    // Klarna's wording on the button, from the acquirer.
    wait_text(&mut b, "pay-klarna", "Betala med Klarna").await;
    wait_text(&mut b, "currency", "SEK").await;

    b.eval("document.getElementById('amount').value = '1234,50'").await;
    b.click("pay-klarna").await;
    wait_text(&mut b, "state", "QR_SHOWN").await;
    assert_eq!(h.customer("approve").await.0, 200);
    let detail = wait_text(&mut b, "state", "APPROVED").await;
    assert_eq!(detail, "APPROVED");
    let line = wait_text(&mut b, "detail", "Klarna K").await;
    let reference = line.split(" · ").next().unwrap().to_string();
    assert!(reference.starts_with("SIM01-"), "{line}");
    b.screenshot("console-1-approved").await;

    // Reprint: a copy comes out (once the original is out: a reprint asked for before
    // that prints the original itself).
    h.wait_for(&reference, |s| s["receipt_printed"] == true).await;
    b.click("reprint").await;
    let receipts = h.sim.printer.wait_for(2, Duration::from_secs(5)).await.unwrap();
    assert!(receipts[1].text.contains("KOPIA"));

    // A partial return of that sale.
    b.eval(&format!("document.getElementById('return-ref').value = '{reference}'")).await;
    b.eval("document.getElementById('return-amount').value = '34,50'").await;
    b.click("do-return").await;
    let result = wait_text(&mut b, "return-result", "REFUNDED").await;
    assert!(result.contains("34.50 SEK"), "{result}");

    // The X report shows the sale and the refund.
    b.click("report-x").await;
    let report = wait_text(&mut b, "report", "\"net_amount\"").await;
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(v["totals"][0]["sales_amount"], 123450);
    assert_eq!(v["totals"][0]["refunds_amount"], 3450);
    b.screenshot("console-2-report").await;

    // The customer chooses on the terminal; the cashier passes the choice on.
    b.eval("document.getElementById('amount').value = '50,00'").await;
    b.click("pay-choice").await;
    wait_text(&mut b, "state", "AWAITING_METHOD").await;
    b.click("chose-card").await;
    wait_text(&mut b, "state", "AWAITING_CARD").await;
    b.eval("window.confirm = () => true").await;
    b.click("cancel").await;
    wait_text(&mut b, "state", "CANCELED").await;
    // Unpaid: the cashier tries again with Klarna, the same purchase as a new sale.
    let shown = b.eval("getComputedStyle(document.getElementById('retry')).display").await;
    assert_eq!(shown, "block");
    b.click("retry-klarna").await;
    wait_text(&mut b, "state", "QR_SHOWN").await;
    let again = wait_text(&mut b, "detail", "-R1").await;
    assert!(again.contains("50.00 SEK"), "{again}");
    b.click("cancel").await;
    wait_text(&mut b, "state", "CANCELED").await;

    // Bad input is shown, not sent.
    b.eval("document.getElementById('amount').value = 'abc'").await;
    b.click("pay-card").await;
    wait_text(&mut b, "error", "enter an amount").await;

    // The token is kept for this tab only, never on disk; logging out forgets it.
    let stored = b.eval("String(localStorage.getItem('posagent-ecr-token'))").await;
    assert_eq!(stored, "null", "the token must not be left in localStorage");
    let in_tab = b.eval("sessionStorage.getItem('posagent-ecr-token')").await;
    assert_eq!(in_tab, h.token);
    b.click("forget-token").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = b.eval("String(sessionStorage.getItem('posagent-ecr-token'))").await;
    assert_eq!(after, "null");
}
