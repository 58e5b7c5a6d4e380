//! The journal across releases: a journal written by posagent 0.1.0
//! (tests/fixtures/journal-0.1.0.sqlite) opens with this build, reaches the latest
//! schema and answers through the ECR API what 0.1.0 answered; a journal of a newer
//! schema stops start-up with what to do and is left as it was; a damaged row is its own
//! error, 500 JOURNAL_ROW_DAMAGED, for the record it holds only.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use posagent::domain::{NewOp, OpKind, Subject};
use posagent::store::Journal;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn user_version(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

/// Every table, index and trigger of the journal `db`, with its SQL.
fn schema(db: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

/// Runs `sql` on the daemon's own journal connection.
async fn run_sql(journal: &Journal, sql: String) {
    journal
        .call(move |conn, _| {
            conn.execute_batch(&sql).unwrap();
            Ok(())
        })
        .await
        .unwrap();
}

/// An answer without the fields added to the API after 0.1.0, each checked to read as
/// the given value for a record 0.1.0 wrote (the console's cashier: none), or to be there
/// (`None`: the sale's order lines, which 0.1.0 journaled but did not answer).
fn without_later_fields(mut answer: Value, later: &[(&str, Option<Value>)]) -> Value {
    for (field, expected) in later {
        let value = answer.as_object_mut().and_then(|o| o.remove(*field));
        assert!(value.is_some(), "no {field} in {answer}");
        if let Some(expected) = expected {
            assert_eq!(value.as_ref(), Some(expected), "{field} of a 0.1.0 record: {answer}");
        }
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_0_1_0_opens_and_answers_what_0_1_0_answered() {
    let before: Value = serde_json::from_slice(&std::fs::read(fixture("journal-0.1.0.json")).unwrap()).unwrap();
    let copy = tempfile::tempdir().unwrap();
    let old = copy.path().join("posagent.db");
    std::fs::copy(fixture("journal-0.1.0.sqlite"), &old).unwrap();
    assert_eq!(user_version(&old), 1, "the fixture is 0.1.0's schema");

    // Its sales are past any retention: nothing may be pruned while it is read.
    let h = Harness::start_on_journal(&old, |c| c.sync.retention_days = 3650).await;
    let migrated = h.data_dir().join("posagent.db");
    assert_eq!(user_version(&migrated), i64::try_from(posagent::store::migrations::LATEST).unwrap());
    assert_eq!(h.sales_in_journal(), 5);
    let fresh = copy.path().join("fresh.db");
    drop(Journal::open(&fresh).unwrap());
    assert_eq!(schema(&migrated), schema(&fresh), "migrated, it is what a fresh journal is");

    for (reference, sale) in before["sales"].as_object().unwrap() {
        let (status, now) = h.get(&format!("/v1/sales/{reference}")).await;
        let now = without_later_fields(now, &[("cashier", Some(Value::Null)), ("order_lines", None)]);
        assert_eq!((status, &now), (200, sale), "{reference}");
        let id = sale["id"].as_str().unwrap();
        let (status, now) = h.get(&format!("/v1/sales/{id}/history")).await;
        assert_eq!((status, &now["history"]), (200, &before["history"][reference]), "{reference}");
    }
    for (id, ret) in before["returns"].as_object().unwrap() {
        let (status, now) = h.get(&format!("/v1/returns/{id}")).await;
        let now = without_later_fields(now, &[("cashier", Some(Value::Null))]);
        assert_eq!((status, &now), (200, ret), "{id}");
    }
    let (status, queue) = h.get("/v1/queue").await;
    assert_eq!((status, &queue["operations"]), (200, &before["queue"]));
    // The day closed by 0.1.0 is the X report's start: none of its sales count.
    let (status, x) = h.get("/v1/reports/x").await;
    assert_eq!(status, 200, "{x}");
    assert!(x["totals"].as_array().unwrap().iter().all(|t| t["sales_count"] == 0), "{x}");

    // The migrated journal takes new sales.
    let sale = h.create(json!({"amount": 1500, "currency": "SEK", "reference": "AFTER-UPGRADE"})).await;
    let id = sale["id"].as_str().unwrap();
    h.wait_state(id, "QR_SHOWN").await;
    let (status, canceled) = h.post(&format!("/v1/sales/{id}/cancel"), json!({})).await;
    assert_eq!((status, canceled["state"].as_str()), (200, Some("CANCELED")), "{canceled}");
    assert_eq!(h.sales_in_journal(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_a_newer_posagent_stops_start_up_untouched() {
    let h = Harness::without_daemon().await;
    let db = h.data_dir().join("posagent.db");
    std::fs::copy(fixture("journal-0.1.0.sqlite"), &db).unwrap();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA user_version = 99;").unwrap();
    }
    assert!(!h.data_dir().join("posagent.db-wal").exists(), "all in the file");
    let before = std::fs::read(&db).unwrap();
    let message = h.start_error(|_| {}).await;
    let known = posagent::store::migrations::LATEST;
    for says in [
        format!("the journal at {} was written by a newer posagent", db.display()),
        format!("schema 99, this build knows {known}"),
        "install that version again or restore a backup".into(),
        "nothing was changed".into(),
    ] {
        assert!(message.contains(&says), "says `{says}`: {message}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "the journal is as it was");
    assert_eq!(user_version(&db), 99);
}

/// Asserts the answer is the damaged-row error naming `table` and `row`.
fn assert_damaged(status: u16, body: &Value, table: &str, row: &str) {
    assert_eq!((status, body["code"].as_str()), (500, Some("JOURNAL_ROW_DAMAGED")), "{body}");
    let message = body["message"].as_str().unwrap();
    for says in [format!("row {row} of table {table} is damaged"), "keep the journal file".into(), "support".into()] {
        assert!(message.contains(&says), "says `{says}`: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_row_is_its_own_error_and_only_its_record_is_refused() {
    let h = Harness::start().await;
    let journal = h.daemon.as_ref().unwrap().checkout.journal().clone();
    let sale = h.create(json!({"amount": 12_000, "currency": "SEK", "reference": "DAMAGED-1"})).await;
    let id = sale["id"].as_str().unwrap().to_string();
    h.wait_state(&id, "QR_SHOWN").await;
    h.customer("approve").await;
    h.wait_for(&id, |s| s["state"] == "APPROVED" && s["receipt_printed"] == true).await;
    let (status, ret) = h.post("/v1/returns", json!({"original_reference": "DAMAGED-1", "amount": 1000})).await;
    assert_eq!(status, 201, "{ret}");
    let ret_id = ret["id"].as_str().unwrap().to_string();
    let other = h.create(json!({"amount": 700, "currency": "SEK", "reference": "INTACT-1"})).await;
    let other_id = other["id"].as_str().unwrap().to_string();
    h.wait_state(&other_id, "QR_SHOWN").await;
    h.post(&format!("/v1/sales/{other_id}/cancel"), json!({})).await;

    run_sql(&journal, format!("UPDATE sales SET data = '{{' WHERE id = '{id}'")).await;
    for path in [format!("/v1/sales/{id}"), "/v1/sales/DAMAGED-1".into(), format!("/v1/sales/{id}/history")] {
        let (status, body) = h.get(&path).await;
        assert_damaged(status, &body, "sales", &id);
    }
    let (status, body) = h.post(&format!("/v1/sales/{id}/void"), json!({})).await;
    assert_damaged(status, &body, "sales", &id);
    let (status, body) = h.get("/v1/reports/x").await;
    assert_damaged(status, &body, "sales", &id);

    run_sql(&journal, format!("UPDATE returns SET data = '{{\"id\": 1}}' WHERE id = '{ret_id}'")).await;
    let (status, body) = h.get(&format!("/v1/returns/{ret_id}")).await;
    assert_damaged(status, &body, "returns", &ret_id);

    run_sql(&journal, format!("UPDATE sale_events SET state = 'MELTED' WHERE sale_id = '{other_id}' AND seq = 2"))
        .await;
    let (status, body) = h.get(&format!("/v1/sales/{other_id}/history")).await;
    assert_damaged(status, &body, "sale_events", &format!("{other_id}/2"));

    // A queued operation of a kind no build knows (held an hour: the worker leaves it).
    let op = NewOp {
        group: "held".into(),
        subject: Subject::Sale,
        subject_id: "held".into(),
        kind: OpKind::Capture,
        idempotency_key: "damaged-op".into(),
        payment_transaction_id: None,
        request: json!({"amount": 1}),
        amount: 1,
        currency: "SEK".into(),
    };
    let op_id = journal.enqueue(op, 3_600_000).await.unwrap();
    run_sql(&journal, format!("UPDATE outbox SET kind = 'MELT' WHERE id = {op_id}")).await;
    let (status, body) = h.get(&format!("/v1/queue/{op_id}")).await;
    assert_damaged(status, &body, "outbox", &op_id.to_string());

    // Every other record goes on: the intact sale reads, and a new sale is taken.
    let (status, intact) = h.get(&format!("/v1/sales/{other_id}")).await;
    assert_eq!((status, intact["state"].as_str()), (200, Some("CANCELED")), "{intact}");
    let next = h.create(json!({"amount": 800, "currency": "SEK"})).await;
    let next_id = next["id"].as_str().unwrap();
    h.wait_state(next_id, "QR_SHOWN").await;
    let (status, _) = h.post(&format!("/v1/sales/{next_id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
}
