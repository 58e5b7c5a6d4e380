-- Migration 2: posagent as a ZVT payment terminal. One row per payment, reversal or
-- refund a ZVT register started that reached a result: its receipt number (4 digits) and
-- trace number (6 digits) both count from the row id, which AUTOINCREMENT never hands out
-- twice, so the numbers are unique until they wrap and survive end of day and restarts;
-- `data` is the record as JSON (domain::ZvtTransaction), with the bytes sent to the register
-- for a repeat receipt. `end_of_day` names the end of day that counted it.
CREATE TABLE zvt_end_of_day (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    closed_at TEXT NOT NULL,
    totals TEXT NOT NULL
);
CREATE TABLE zvt_transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt_no INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    sale_id TEXT REFERENCES sales(id),
    end_of_day INTEGER REFERENCES zvt_end_of_day(seq),
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX zvt_transactions_receipt ON zvt_transactions(receipt_no, id);
CREATE INDEX zvt_transactions_state ON zvt_transactions(state);
