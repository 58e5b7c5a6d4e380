//! A Klarna QR sale end to end through the real interfaces: the ECR API over HTTP, the
//! daemon's real display and printer drivers against the simulated devices on TCP, the
//! acquirer client against the simulated acquirer, and the journal in a temp dir.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::eventually::{Seen, eventually_seen};
use common::{Harness, lines_1234_50, png_pixel};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_klarna_sale_end_to_end() {
    let h = Harness::start().await;

    // Follow the event stream from before the sale exists.
    let events = h.events().await;
    assert_eq!(events.status(), 200);
    let mut stream = events.bytes_stream();

    let token = "eyJhbGciOiJub25lIn0.eyJzdGF0dXMiOiJQQVlNRU5UX1NVUFBPUlRFRCJ9.";
    let data = r#"{"content_type":"application/vnd.klarna.interoperability-data.v2+json","content":{"x":"ä €"}}"#;
    let sale = h
        .create(json!({
            "amount": 123450, "currency": "SEK", "order_lines": lines_1234_50(),
            "interoperability_token": token, "interoperability_data": data
        }))
        .await;
    let id = sale["id"].as_str().unwrap().to_string();
    assert_eq!(sale["state"], "CREATED");

    let shown = h.wait_state(&id, "QR_SHOWN").await;
    let url = shown["payment_request_url"].as_str().unwrap().to_string();
    assert!(url.contains("/pay/krn:payment:eu1:request:"), "{url}");

    // The QR code actually on the customer display decodes to the payment request URL.
    assert_eq!(h.read_display_qr().await, url);

    let (status, scanned) = h.customer("approve").await;
    assert_eq!(status, 200, "{scanned}");
    assert_eq!(scanned["scanned_url"], url.as_str());

    let done = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let klarna_ref = done["klarna_reference"].as_str().unwrap().to_string();
    let tx_id = done["payment_transaction_id"].as_str().unwrap().to_string();

    // The receipt bytes hold the Klarna references.
    let receipts = h.sim.printer.wait_for(1, std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(receipts.len(), 1);
    let raw = &receipts[0].raw;
    assert!(raw.windows(klarna_ref.len()).any(|w| w == klarna_ref.as_bytes()), "receipt lacks {klarna_ref}");
    // The transaction id is longer than the paper is wide: cut over lines, all of it there.
    let unbroken: String = receipts[0].text.split('\n').map(str::trim).collect();
    assert!(unbroken.contains(&tx_id), "receipt lacks {tx_id}: {}", receipts[0].text);
    assert!(receipts[0].text.contains("1\u{a0}234,50\u{a0}kr"), "{}", receipts[0].text);
    assert_eq!(&raw[..2], b"\x1b@");
    // The receipt as printed (PNG): its QR code decodes to the sale reference.
    let png =
        h.http.get(format!("{}/sim/receipts/1.png", h.sim.backend_url)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(common::decode_png_qr(&png), vec![done["reference"].as_str().unwrap().to_string()]);
    assert!(raw.ends_with(&[0x1D, b'V', 66, 3]));

    // Klarna's interoperability token and data reached the acquirer byte for byte, with
    // both authorizations, and with them the payment option the customer was shown.
    let received: serde_json::Value =
        h.http.get(format!("{}/sim/interoperability", h.sim.backend_url)).send().await.unwrap().json().await.unwrap();
    let received = received.as_array().unwrap();
    assert_eq!(received.len(), 2);
    for r in received {
        assert_eq!(r["interoperability_token"], token);
        assert_eq!(r["interoperability_data"], data);
        assert_eq!(r["operation"], "AUTHORIZE");
        assert_eq!(r["payment_option_id"], posagent_sim::backend::klarna_option_id("sv-SE", "SEK", 123_450));
    }

    // The acquirer booked exactly one authorization and its capture, for this sale.
    let ledger = h.backend_get("/v1/ledger").await;
    let ledger = ledger.as_array().unwrap();
    let kinds: Vec<&str> = ledger.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["AUTHORIZATION", "CAPTURE"]);
    assert!(ledger.iter().all(|e| e["reference"] == done["reference"] && e["amount"] == 123450));

    // Every transition was journaled, in order.
    let states = h.journal_states(&id);
    let expected_prefix = ["CREATED", "AVAILABILITY_CHECKED", "QR_SHOWN"];
    assert_eq!(&states[..3], expected_prefix);
    assert!(states.contains(&"CUSTOMER_COMPLETED".to_string()), "{states:?}");
    assert_eq!(states.last().map(String::as_str), Some("APPROVED"));

    // The register saw the same path on the event stream.
    let mut seen = vec![];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut buf = String::new();
    while !seen.iter().any(|s: &String| s == "APPROVED") && tokio::time::Instant::now() < deadline {
        let chunk = tokio::time::timeout_at(deadline, stream.next()).await.unwrap().unwrap().unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                if v["id"] == id.as_str() {
                    seen.push(v["state"].as_str().unwrap().to_string());
                }
            }
        }
    }
    assert_eq!(seen.first().map(String::as_str), Some("CREATED"));
    assert!(seen.contains(&"QR_SHOWN".to_string()) && seen.contains(&"APPROVED".to_string()), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_customer_ends_declined_with_the_declined_screen() {
    let h = Harness::start().await;
    let sale = h.create(json!({"amount": 4990, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap();
    h.wait_state(id, "QR_SHOWN").await;
    let (status, _) = h.customer("decline").await;
    assert_eq!(status, 200);
    let done = h.wait_state(id, "DECLINED").await;
    // Klarna's reason, as the acquirer gave it (before: the simulator's own `CUSTOMER_DECLINED`).
    assert_eq!(done["reason"], "CUSTOMER_ACTION_REQUIRED");
    assert!(done["klarna_reference"].is_null());
    // The declined screen: a red band at the top, and no QR code any more.
    let declined_screen = || async {
        let png = h.display_png().await;
        let [r, g, b] = png_pixel(&png, 2, 2);
        if r > 150 && g < 60 && b < 70 { Seen::Done(png) } else { Seen::Not(format!("top-left is {r},{g},{b}")) }
    };
    let png = eventually_seen("the declined screen", std::time::Duration::from_secs(5), declined_screen).await;
    assert!(common::decode_png_qr(&png).is_empty());
    assert!(h.backend_get("/v1/ledger").await.as_array().unwrap().is_empty());
    assert!(h.sim.printer.receipts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cashier_cancel_cancels_the_payment_request_at_the_acquirer() {
    let h = Harness::start().await;
    let sale = h.create(json!({"amount": 10000, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap();
    let shown = h.wait_state(id, "QR_SHOWN").await;
    let (status, canceled) = h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["state"], "CANCELED");
    assert_eq!(canceled["reason"], "CASHIER_CANCELED");
    let pr_id = shown["payment_request_id"].as_str().unwrap();
    let pr = h.backend_get(&format!("/v1/payment-requests/{pr_id}")).await;
    assert_eq!(pr["state"], "CANCELED");
    // A customer who had scanned the code earlier is refused by Klarna's journey now.
    let url = shown["payment_request_url"].as_str().unwrap();
    let late = h.http.post(format!("{url}/approve")).send().await.unwrap();
    assert_eq!(late.status(), 403);
    assert!(h.backend_get("/v1/ledger").await.as_array().unwrap().is_empty());
    // A new sale may start.
    h.create(json!({"amount": 100, "currency": "SEK"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn klarna_is_not_offered_where_it_is_not_available() {
    let h = Harness::start().await;
    // 0,50 kr is below the smallest Klarna amount.
    let sale = h.create(json!({"amount": 50, "currency": "SEK"})).await;
    let done = h.wait_state(sale["id"].as_str().unwrap(), "UNAVAILABLE").await;
    assert_eq!(done["reason"], "AMOUNT_OUT_OF_RANGE");
    assert!(done["payment_request_id"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_the_open_sale_without_a_second_payment() {
    let mut h = Harness::start().await;
    let sale = h.create(json!({"amount": 25000, "currency": "SEK", "reference": "REG-42"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    let shown = h.wait_state(&id, "QR_SHOWN").await;
    h.stop_daemon().await;

    // While the terminal is down the customer completes on the phone.
    let (status, _) = h.customer("approve").await;
    assert_eq!(status, 200);

    h.start_daemon().await;
    let done = h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    assert_eq!(done["payment_request_id"], shown["payment_request_id"]);
    let ledger = h.backend_get("/v1/ledger").await;
    let auths = ledger.as_array().unwrap().iter().filter(|e| e["kind"] == "AUTHORIZATION").count();
    assert_eq!(auths, 1);
    // The register retrying its create with the same reference gets the same sale back.
    let (status, again) = h.post("/v1/sales", json!({"amount": 25000, "currency": "SEK", "reference": "REG-42"})).await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], id.as_str());
    let (status, clash) = h.post("/v1/sales", json!({"amount": 1, "currency": "SEK", "reference": "REG-42"})).await;
    assert_eq!(status, 409);
    assert_eq!(clash["code"], "REFERENCE_CONFLICT");
    assert_eq!(h.sales_in_journal(), 1);
}

fn interop_token(status: &str) -> String {
    // A JWT-shaped token whose payload carries the status, as Klarna's example does.
    let payload = format!(r#"{{"shopping_session_id":"krn:shopping:eu1:session:t","status":"{status}","version":1}}"#);
    let b64: String = {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = payload.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    format!("eyJhbGciOiJub25lIn0.{b64}.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_confirmation_is_confirmed_without_a_qr_code() {
    let h = Harness::start().await;
    let sale = h
        .create(json!({"amount": 19900, "currency": "SEK", "interoperability_token": interop_token("PAYMENT_PENDING_CONFIRMATION")}))
        .await;
    let done =
        h.wait_for(sale["id"].as_str().unwrap(), |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    assert_eq!(done["interoperability_status"], "PAYMENT_PENDING_CONFIRMATION");
    assert!(done["payment_request_id"].is_null(), "no QR code, no payment request: {done}");
    let states = h.journal_states(sale["id"].as_str().unwrap());
    assert!(!states.contains(&"QR_SHOWN".to_string()), "{states:?}");
    assert_eq!(h.sim.printer.wait_for(1, std::time::Duration::from_secs(5)).await.map(|r| r.len()), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_klarna_goes_through_the_qr_code_and_the_token_is_forwarded() {
    let h = Harness::start().await;
    let token = interop_token("PAYMENT_PREPARED");
    let sale = h.create(json!({"amount": 19900, "currency": "SEK", "interoperability_token": token})).await;
    let shown = h.wait_state(sale["id"].as_str().unwrap(), "QR_SHOWN").await;
    assert_eq!(shown["interoperability_status"], "PAYMENT_PREPARED");
    // The customer walks away after scanning: the QR code stays up.
    let (status, _) = h.customer("scan").await;
    assert_eq!(status, 200);
    h.wait_state(sale["id"].as_str().unwrap(), "CUSTOMER_IN_PROGRESS").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_racing_the_approval_ends_in_one_consistent_state() {
    let h = Harness::start().await;
    let mut outcomes = std::collections::BTreeMap::new();
    for i in 0..8 {
        // The terminal takes the next sale once the last one has wound down (its screen,
        // its receipt): until then it answers 409 TERMINAL_BUSY.
        let sale = eventually_seen("the terminal to take the next sale", common::eventually::WITHIN, || async {
            let (status, sale) = h.post("/v1/sales", json!({"amount": 10_000 + i, "currency": "SEK"})).await;
            match status {
                201 => Seen::Done(sale),
                409 if sale["code"] == "TERMINAL_BUSY" => Seen::Not(sale),
                _ => panic!("{status} {sale}"),
            }
        })
        .await;
        let id = sale["id"].as_str().unwrap().to_string();
        let shown = h.wait_state(&id, "QR_SHOWN").await;
        let url = shown["payment_request_url"].as_str().unwrap().to_string();
        // Let the two race: the customer's approval and the cashier's cancel, the cancel
        // a little later each round so both orders happen.
        let approve = h.http.post(format!("{url}/approve")).send();
        let cancel_path = format!("/v1/sales/{id}/cancel");
        let cancel = async {
            tokio::time::sleep(std::time::Duration::from_millis(u64::try_from(i).unwrap() * 50)).await;
            h.post(&cancel_path, json!({})).await
        };
        let (approved, (status, canceled)) = tokio::join!(approve, cancel);
        assert_eq!(approved.map(|r| r.status().as_u16()).ok(), Some(200));
        assert_eq!(status, 200, "{canceled}");
        let terminal = h.wait_for(&id, |s| s["state"] == "APPROVED" || s["state"] == "CANCELED").await;
        let state = terminal["state"].as_str().unwrap().to_string();
        // The register's answer, the terminal and the acquirer agree.
        assert_eq!(canceled["state"], state.as_str());
        let pr =
            h.backend_get(&format!("/v1/payment-requests/{}", shown["payment_request_id"].as_str().unwrap())).await;
        let tx = h
            .backend_get(&format!("/v1/payment-transactions?reference={}", shown["reference"].as_str().unwrap()))
            .await;
        match state.as_str() {
            "APPROVED" => {
                assert_eq!(pr["state"], "COMPLETED");
                assert_eq!(tx["amount"], 10_000 + i);
            }
            _ => {
                assert_eq!(pr["state"], "CANCELED");
                assert_eq!(tx["error_code"], "RESOURCE_NOT_FOUND");
            }
        }
        *outcomes.entry(state).or_insert(0) += 1;
    }
    let ledger = h.backend_get("/v1/ledger").await;
    let auths = ledger.as_array().unwrap().iter().filter(|e| e["kind"] == "AUTHORIZATION").count();
    assert_eq!(auths, outcomes.get("APPROVED").copied().unwrap_or(0), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn klarnas_instruction_hides_or_preselects_klarna() {
    let h = Harness::start().await;
    // PRESELECT_KLARNA (a customer who prepared Klarna): a CHOICE sale takes Klarna at once.
    let (_, offer) =
        h.get(&format!("/v1/klarna?amount=19900&interoperability_token={}", interop_token("PAYMENT_PREPARED"))).await;
    assert_eq!(
        (offer["available"].as_bool(), offer["instruction"].as_str()),
        (Some(true), Some("PRESELECT_KLARNA")),
        "{offer}"
    );
    let token = interop_token("PAYMENT_PREPARED");
    let sale = h
        .create(json!({"amount": 19900, "currency": "SEK", "method": "CHOICE", "interoperability_token": token}))
        .await;
    let shown = h.wait_state(sale["id"].as_str().unwrap(), "QR_SHOWN").await;
    assert_eq!(
        (shown["method"].as_str(), shown["offered_methods"].clone()),
        (Some("KLARNA"), json!(["KLARNA"])),
        "{shown}"
    );
    h.post(&format!("/v1/sales/{}/cancel", shown["id"].as_str().unwrap()), json!({})).await;
    // HIDE_KLARNA: not offered, to the register nor on the terminal; the card is asked for.
    let hidden = interop_token("PAYMENT_UNSUPPORTED");
    let (_, offer) = h.get(&format!("/v1/klarna?amount=19900&interoperability_token={hidden}")).await;
    assert_eq!(
        (offer["available"].as_bool(), offer["instruction"].as_str()),
        (Some(false), Some("HIDE_KLARNA")),
        "{offer}"
    );
    let sale = h
        .create(json!({"amount": 19900, "currency": "SEK", "method": "CHOICE", "interoperability_token": hidden}))
        .await;
    let card = h.wait_state(sale["id"].as_str().unwrap(), "AWAITING_CARD").await;
    assert_eq!(card["offered_methods"], json!(["CARD"]), "{card}");
    assert!(card["klarna_unavailable_reason"].is_string(), "{card}");
}

/// Klarna's current lifecycle fields reach the acquirer: the payment request lives the
/// shortest time Klarna gives that covers the terminal's own QR timeout (15 minutes), the
/// purchase reference is the register's, and the Klarna Network data (sent under Klarna's
/// current name) goes again with the capture and the refund, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn klarna_network_data_goes_with_the_capture_and_the_refund() {
    let h = Harness::start().await;
    let data = r#"{"content_type":"application/vnd.klarna.network-data.v1+json","content":{"n":"ø"}}"#;
    let sale = h
        .create(json!({"amount": 12_345, "currency": "SEK", "capture": "LATER", "reference": "KND-1",
            "klarna_network_data": data}))
        .await;
    let id = sale["id"].as_str().unwrap().to_string();
    let shown = h.wait_state(&id, "QR_SHOWN").await;
    let created = chrono::DateTime::parse_from_rfc3339(shown["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(shown["payment_request_expires_at"].as_str().unwrap()).unwrap();
    let lifetime = (expires - created).num_seconds();
    assert!(
        (895..=905).contains(&lifetime),
        "the payment request lives 15 minutes, not Klarna's 3 hours: {lifetime} s"
    );
    assert_eq!(h.customer("approve").await.0, 200);
    h.wait_state(&id, "APPROVED").await;
    let (status, captured) = h.post(&format!("/v1/sales/{id}/capture"), json!({"amount": 12_345})).await;
    assert_eq!(status, 200, "{captured}");
    let (status, ret) = h.post("/v1/returns", json!({"original_reference": "KND-1", "amount": 1_000})).await;
    assert_eq!(status, 201, "{ret}");
    let received: serde_json::Value =
        h.http.get(format!("{}/sim/interoperability", h.sim.backend_url)).send().await.unwrap().json().await.unwrap();
    let ops: Vec<(&str, &str)> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["operation"].as_str().unwrap(), r["interoperability_data"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(ops, [("AUTHORIZE", data), ("AUTHORIZE", data), ("CAPTURE", data), ("REFUND", data)]);
    assert_eq!(received[0]["purchase_reference"], "KND-1");
    let ledger = h.backend_get("/v1/ledger").await;
    assert!(ledger.as_array().unwrap().iter().all(|e| e["reference"] == "KND-1"), "{ledger}");
}
