//! End of day: X and Z reports per tender and currency, printed; reconciliation against
//! the acquirer's settlement report finds a planted difference.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_z_and_reconciliation() {
    let h = Harness::start().await;
    // A Klarna sale, a card sale, a declined sale and a return.
    let k = h.create(json!({"amount": 123450, "currency": "SEK"})).await;
    h.wait_state(k["id"].as_str().unwrap(), "QR_SHOWN").await;
    h.customer("approve").await;
    let k = h.wait_for(k["id"].as_str().unwrap(), |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let c = h.create(json!({"amount": 8990, "currency": "SEK", "method": "CARD"})).await;
    h.wait_state(c["id"].as_str().unwrap(), "AWAITING_CARD").await;
    let card = || async {
        let r = h.http.post(format!("{}/sim/card", h.sim.backend_url)).json(&json!({"card": "approve"})).send();
        r.await.unwrap().status().is_success().then_some(())
    };
    common::eventually::eventually("the reader to take the card", common::eventually::WITHIN, card).await;
    h.wait_for(c["id"].as_str().unwrap(), |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let d = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    h.wait_state(d["id"].as_str().unwrap(), "QR_SHOWN").await;
    h.customer("decline").await;
    h.wait_state(d["id"].as_str().unwrap(), "DECLINED").await;
    let (status, _) = h.post("/v1/returns", json!({"original_reference": k["reference"], "amount": 2500})).await;
    assert_eq!(status, 201);

    let (status, x) = h.get("/v1/reports/x?print=true").await;
    assert_eq!(status, 200, "{x}");
    assert_eq!(x["kind"], "X");
    assert_eq!(x["printed"], true);
    let totals = x["totals"].as_array().unwrap();
    let card = totals.iter().find(|t| t["method"] == "CARD").unwrap();
    let klarna = totals.iter().find(|t| t["method"] == "KLARNA").unwrap();
    assert_eq!((card["sales_count"].as_i64(), card["sales_amount"].as_i64()), (Some(1), Some(8990)));
    assert_eq!(
        (klarna["sales_amount"].as_i64(), klarna["refunds_amount"].as_i64(), klarna["net_amount"].as_i64()),
        (Some(123450), Some(2500), Some(120950))
    );
    assert_eq!(x["declined"], 1);

    // Reconciliation: everything matches.
    let (status, rec) = h.get("/v1/reports/reconciliation").await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["matched"], 3, "{rec}");
    assert!(rec["differences"].as_array().unwrap().is_empty(), "{rec}");
    // Plant a difference: a refund made at the acquirer, not through this terminal.
    let key = std::fs::read_to_string(h.data_dir().join("acquirer.key")).unwrap();
    let planted = h
        .http
        .post(format!(
            "{}/v1/payment-transactions/{}/refunds",
            h.sim.backend_url,
            k["payment_transaction_id"].as_str().unwrap()
        ))
        .bearer_auth(key.trim())
        .header("Idempotency-Key", "planted-refund")
        .json(&json!({"amount": 777}))
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status(), 201);
    let (_, rec) = h.get("/v1/reports/reconciliation").await;
    let diffs = rec["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{rec}");
    assert_eq!(diffs[0]["kind"], "MISSING_LOCALLY");
    assert_eq!(diffs[0]["type"], "RETURN");
    assert_eq!(diffs[0]["amount"], 777);
    assert_eq!(diffs[0]["reference"], k["reference"]);

    // Z closes the day; the next X starts empty.
    let (status, z) = h.post("/v1/reports/z", json!({})).await;
    assert_eq!(status, 200, "{z}");
    assert_eq!((z["kind"].as_str(), z["number"].as_i64(), z["printed"].as_bool()), (Some("Z"), Some(1), Some(true)));
    let (_, x2) = h.get("/v1/reports/x").await;
    assert!(x2["totals"].as_array().unwrap().is_empty(), "{x2}");
    assert_eq!(x2["printed"], false);
    // Two sale receipts, a return receipt, the X and the Z report.
    let receipts = h.sim.printer.wait_for(5, std::time::Duration::from_secs(5)).await.unwrap();
    // In the store's language (sv-SE), every character printable.
    let x_paper = receipts.iter().find(|r| r.text.contains("X-RAPPORT")).expect("the X report, in Swedish");
    assert!(x_paper.text.contains("Försäljning") && x_paper.text.contains("Nekade"), "{}", x_paper.text);
    assert!(!x_paper.text.contains('?'), "{}", x_paper.text);
    assert!(receipts.iter().any(|r| r.text.contains("Z-RAPPORT #1")));
    let (status, bad) = h.get("/v1/reports/reconciliation?date=25.11.2026").await;
    assert_eq!((status, bad["field"].as_str()), (422, Some("date")));
}
