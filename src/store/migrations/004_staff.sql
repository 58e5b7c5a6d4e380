-- Migration 4: the shop's staff and what they did at the console.
-- A cashier signs in with a personal PIN, kept only as its argon2id hash (PHC string);
-- failed sign-ins are counted so a guessed PIN locks the cashier for a while.
CREATE TABLE cashiers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('CASHIER', 'SUPERVISOR')),
    pin_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Every action taken at the console, journaled before it is done and given its answer's
-- status after: who, approved by whom, what, to which sale, return or cashier.
CREATE TABLE staff_actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    cashier TEXT NOT NULL,
    approved_by TEXT,
    action TEXT NOT NULL,
    subject TEXT,
    status INTEGER
);
CREATE INDEX staff_actions_subject ON staff_actions(subject) WHERE subject IS NOT NULL;
