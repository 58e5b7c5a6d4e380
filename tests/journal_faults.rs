//! A full disk and a read-only database: the register's sale is refused with an error
//! that says what to do, nothing is half-written, the daemon keeps running, and sales
//! go through again once the fault is gone.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use posagent::outbox::{NewOp, OpKind, Subject};
use posagent::store::Journal;
use serde_json::json;

/// Runs `sql` on the journal's own connection.
async fn pragma(journal: &Journal, sql: &'static str) {
    journal
        .call(move |conn, _| {
            conn.execute_batch(sql).ok();
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_journal_refuses_sales_cleanly_and_the_daemon_recovers() {
    let h = Harness::start().await;
    let journal = h.daemon.as_ref().unwrap().checkout.journal().clone();
    pragma(&journal, "PRAGMA query_only = ON;").await;
    let (status, body) = h.post("/v1/sales", json!({"amount": 1000, "currency": "SEK"})).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("JOURNAL_UNAVAILABLE")), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("disk space") && message.contains("writable"), "tells what to do: {message}");
    let db = rusqlite::Connection::open(h.data_dir().join("posagent.db")).unwrap();
    let n: i64 = db.query_row("SELECT COUNT(*) FROM sales", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "nothing written");
    let (status, _) = h.get("/health").await;
    assert_eq!(status, 200);

    pragma(&journal, "PRAGMA query_only = OFF;").await;
    let sale = h.create(json!({"amount": 4321, "currency": "SEK"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    let (status, _) = h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
}

/// With the disk full, a sale change and the operation it queues are written together
/// or not at all.
#[tokio::test]
async fn a_full_disk_writes_a_change_and_its_queued_operation_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db")).unwrap();
    let now = chrono::Utc::now();
    let sale: posagent::checkout::Sale = serde_json::from_value(json!({
        "id": "s-1", "reference": "R-1", "state": "APPROVED", "method": "CARD", "amount": 1000,
        "currency": "SEK", "locale": "sv-SE", "interoperability_token": null, "interoperability_data": null,
        "descriptors": null, "payment_request_id": null, "payment_request_url": null,
        "payment_request_expires_at": null, "qr_shown_at": null, "session_token": null,
        "payment_transaction_id": "krn:tx:1", "klarna_reference": null, "reason": null,
        "receipt_error": null, "created_at": now, "updated_at": now
    }))
    .unwrap();
    journal.insert_sale(sale.clone()).await.unwrap();
    // Freeze the file at its size, then grow the data until a write no longer fits.
    pragma(&journal, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;").await;
    pragma(&journal, "PRAGMA max_page_count = 1;").await;
    let mut failed = None;
    for i in 0..500 {
        let mut changed = sale.clone();
        changed.reason = Some("x".repeat(200 * i));
        let op = NewOp {
            group: "s-1".into(),
            subject: Subject::Sale,
            subject_id: "s-1".into(),
            kind: OpKind::Capture,
            idempotency_key: format!("key-{i}"),
            payment_transaction_id: Some("krn:tx:1".into()),
            request: json!({"amount": 1, "padding": "y".repeat(100 * i)}),
            amount: 1,
            currency: "SEK".into(),
        };
        if let Err(e) = journal.record_and_enqueue(changed, Some(format!("change {i}")), op, 0).await {
            failed = Some((i, e.to_string()));
            break;
        }
    }
    let (i, message) = failed.expect("the disk never filled");
    assert!(message.contains("full") && message.contains("disk space"), "{message}");
    // Neither half of the failed write is there; everything before it is.
    let stored = journal.sale("s-1".into()).await.unwrap();
    let expected = if i == 0 { None } else { Some(200 * (i - 1)) };
    assert_eq!(stored.reason.map(|r| r.len()), expected, "the sale is as the last whole write left it");
    assert!(journal.op_by_key(format!("key-{i}")).await.unwrap().is_none(), "the failed change queued nothing");
    if i > 0 {
        assert!(journal.op_by_key(format!("key-{}", i - 1)).await.unwrap().is_some());
    }
}
