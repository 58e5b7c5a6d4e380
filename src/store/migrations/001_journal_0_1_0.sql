-- Migration 1: the journal of posagent 0.1.0, exactly as that release created it (its
-- store/mod.rs SCHEMA and store/outbox.rs OUTBOX_SCHEMA, moved here unchanged). 0.1.0 set
-- user_version = 1 itself, which rusqlite_migration reads as "migration 1 applied".
-- Released: never edit it; add the next migration as a file of its own (see
-- store/migrations.rs).
CREATE TABLE IF NOT EXISTS sales (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_state ON sales(state);
CREATE TABLE IF NOT EXISTS sale_events (
    sale_id TEXT NOT NULL REFERENCES sales(id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (sale_id, seq)
);
CREATE TABLE IF NOT EXISTS operations (
    sale_id TEXT NOT NULL REFERENCES sales(id),
    operation TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sale_id, operation)
);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    original_reference TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS day_closures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    closed_at TEXT NOT NULL,
    report TEXT NOT NULL
);
-- Where the terminal is in the acquirer's event stream: the last event applied, with its
-- id and time, so a stream that started over (a new acquirer environment) is noticed.
CREATE TABLE IF NOT EXISTS event_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_key TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payment_transaction_id TEXT,
    request TEXT,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    result TEXT,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox(state, group_key, id);
