//! Group commit against a real SQLite file: a failing job rolls back alone, answers wait
//! for the group's commit, a failed commit reaches every job of the group, and the jobs
//! run in the order they were sent.

use super::super::{Journal, QUEUE_DEPTH, StoreError, sqlite};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

type Answer = JoinHandle<Result<(), StoreError>>;

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("j.db");
    (dir, path)
}

/// A journal with a table `t` to write, and a gate: a job holding the journal thread
/// until the test has queued the jobs that are to wait together behind it.
async fn journal(path: &Path) -> Result<Journal, StoreError> {
    let j = Journal::open(path)?;
    j.call(|conn, path| {
        conn.execute_batch(
            "CREATE TABLE t (n INTEGER NOT NULL);
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .map_err(sqlite(path))
    })
    .await?;
    Ok(j)
}

/// Holds the journal thread (an alone job) from when this returns until the returned
/// sender is dropped.
async fn hold(j: &Journal) -> (std::sync::mpsc::Sender<()>, Answer) {
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let (running, started) = tokio::sync::oneshot::channel();
    let j = j.clone();
    let held = tokio::spawn(async move {
        j.call(move |_, _| {
            let _ = running.send(());
            let _ = wait.recv();
            Ok(())
        })
        .await
    });
    let _ = started.await;
    (go, held)
}

/// Waits until `n` jobs wait in the channel (the held job taken off it). The channel's
/// capacity drops when a sender takes its permit, a moment before the job is in the
/// channel; on the tests' single-threaded runtime no task runs in that moment, so a
/// job counted here is in the channel, in the order it was sent.
async fn queued(j: &Journal, n: usize) {
    while j.jobs.capacity() != QUEUE_DEPTH - n {
        tokio::task::yield_now().await;
    }
}

fn insert(j: &Journal, n: i64) -> Answer {
    let j = j.clone();
    tokio::spawn(async move {
        j.call_grouped(move |conn, path| {
            conn.execute("INSERT INTO t (n) VALUES (?1)", params![n]).map(drop).map_err(sqlite(path))
        })
        .await
    })
}

fn rows(path: &Path) -> Vec<i64> {
    let conn = Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut st = conn.prepare("SELECT n FROM t ORDER BY rowid").unwrap_or_else(|e| panic!("{e}"));
    st.query_map([], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}")).map(|r| r.unwrap_or(-1)).collect()
}

async fn answer(a: Answer) -> Result<(), StoreError> {
    a.await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_failing_job_of_a_group_rolls_back_alone() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let j = journal(&path).await?;
    let (go, held) = hold(&j).await;
    let first = insert(&j, 1);
    queued(&j, 1).await;
    let failing = {
        let j = j.clone();
        tokio::spawn(async move {
            j.call_grouped(|conn, path| {
                let sp = conn.savepoint().map_err(sqlite(path))?;
                sp.execute("INSERT INTO t (n) VALUES (2)", []).map_err(sqlite(path))?;
                sp.execute("INSERT INTO no_such_table VALUES (1)", []).map_err(sqlite(path))?;
                sp.commit().map_err(sqlite(path))
            })
            .await
        })
    };
    queued(&j, 2).await;
    // A job that writes outside a savepoint of its own and then fails is rolled back too.
    let half = {
        let j = j.clone();
        tokio::spawn(async move {
            j.call_grouped(|conn, path| {
                conn.execute("INSERT INTO t (n) VALUES (3)", []).map_err(sqlite(path))?;
                Err(StoreError::NotFound("refused after writing".into()))
            })
            .await
        })
    };
    queued(&j, 3).await;
    let last = insert(&j, 4);
    queued(&j, 4).await;
    drop(go);
    answer(held).await?;
    answer(first).await?;
    assert!(matches!(answer(failing).await, Err(StoreError::Sqlite { .. })));
    assert!(matches!(answer(half).await, Err(StoreError::NotFound(_))));
    answer(last).await?;
    assert_eq!(rows(&path), [1, 4], "the failing jobs left nothing, the others committed");
    Ok(())
}

#[tokio::test]
async fn a_groups_answers_come_after_its_commit() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let j = journal(&path).await?;
    let (go, held) = hold(&j).await;
    // Told it is written, the first job's row is there for any other connection.
    let first = {
        let j = j.clone();
        let path = path.clone();
        tokio::spawn(async move {
            j.call_grouped(|conn, p| conn.execute("INSERT INTO t (n) VALUES (1)", []).map_err(sqlite(p))).await?;
            assert_eq!(rows(&path), [1], "answered before its commit");
            Ok(())
        })
    };
    queued(&j, 1).await;
    // The second job of the group sees, from another connection, that the first one's
    // row is not committed yet: the group's commit comes after both ran.
    let second = {
        let j = j.clone();
        let other = path.clone();
        tokio::spawn(async move {
            let seen = j
                .call_grouped(move |conn, p| {
                    let mine: i64 = conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).map_err(sqlite(p))?;
                    Ok((mine, rows(&other).len()))
                })
                .await?;
            assert_eq!(seen, (1, 0), "inside the group it is written, outside it is not yet");
            Ok(())
        })
    };
    queued(&j, 2).await;
    drop(go);
    answer(held).await?;
    answer(first).await?;
    answer(second).await
}

#[tokio::test]
async fn a_failed_commit_reaches_every_job_of_the_group() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let j = journal(&path).await?;
    let (go, held) = hold(&j).await;
    let first = insert(&j, 1);
    queued(&j, 1).await;
    // A row breaking a deferred foreign key: its statement passes, the commit fails.
    let dangling = {
        let j = j.clone();
        tokio::spawn(async move {
            j.call_grouped(|conn, p| conn.execute("INSERT INTO child (p) VALUES (99)", []).map(drop).map_err(sqlite(p)))
                .await
        })
    };
    queued(&j, 2).await;
    let last = insert(&j, 3);
    queued(&j, 3).await;
    drop(go);
    answer(held).await?;
    for a in [first, dangling, last] {
        let e = answer(a).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("FOREIGN KEY") && e.contains("disk space"), "every job has the commit's error: {e}");
    }
    assert!(rows(&path).is_empty(), "nothing of the group was written");
    // The journal goes on: the next write commits.
    answer(insert(&j, 4)).await?;
    assert_eq!(rows(&path), [4]);
    Ok(())
}

#[tokio::test]
async fn jobs_run_in_the_order_sent_across_groups_and_alone_jobs() -> Result<(), StoreError> {
    let (_dir, path) = temp();
    let j = journal(&path).await?;
    let order = Arc::new(Mutex::new(vec![]));
    let (go, held) = hold(&j).await;
    let mut answers = vec![];
    for n in 0..10i64 {
        let (j2, order) = (j.clone(), order.clone());
        // An alone job ends the group before it.
        let alone = [3, 5, 8].contains(&n);
        answers.push(tokio::spawn(async move {
            let f = move |conn: &mut Connection, p: &Path| {
                order.lock().unwrap_or_else(|e| e.into_inner()).push((n, conn.is_autocommit()));
                conn.execute("INSERT INTO t (n) VALUES (?1)", params![n]).map(drop).map_err(sqlite(p))
            };
            if alone { j2.call(f).await } else { j2.call_grouped(f).await }
        }));
        queued(&j, answers.len()).await;
    }
    drop(go);
    answer(held).await?;
    for a in answers {
        answer(a).await?;
    }
    let order = order.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(rows(&path), (0..10).collect::<Vec<_>>());
    let expected: Vec<(i64, bool)> = (0..10)
        // Alone jobs, and a grouped job with no other beside it (4 between two alone
        // ones, 9 the last), run outside a transaction; the others inside their group's.
        .map(|n| (n, [3, 4, 5, 8, 9].contains(&n)))
        .collect();
    assert_eq!(order, expected);
    Ok(())
}
