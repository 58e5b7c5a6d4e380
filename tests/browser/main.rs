//! The browser tests (headless Chromium over the DevTools protocol): the cashier console
//! and the simulator's dashboard, each driven as a person would. Their own binary, run
//! alone after `tests/it`: beside the other integration tests in one process they lost
//! a click's effect now and then (the page kept showing the sale before, with no error;
//! the cause is not found), and one at a time they never did.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../it/common/mod.rs"]
mod common;

mod console;
mod dashboard;
