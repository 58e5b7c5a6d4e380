//! The integration tests, in one binary (one link of the daemon instead of one per
//! file): each module is one former test file, named for what it tests; `common/` holds
//! the harnesses (a daemon on the simulator, the process daemon, the strict contract
//! check, the browser driver), `usb/` the emulated USB printer. tests/README.md says how to add
//! a test. `tests/browser/` (Chromium), `tests/redaction.rs` (the global log subscriber)
//! and the source checks (`architecture.rs`, `terminal_build.rs`) are their own binaries.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
// Parts of the crash harness's register record are for the dump of a failed run only.
#[allow(dead_code)]
#[path = "common/register/mod.rs"]
mod register;
mod usb;

mod acquirer_contract;
mod acquirer_tls;
mod card_reader_faults;
mod card_sale;
mod cli;
mod console_session;
mod crash_each_state;
mod crash_harness;
mod devices;
mod doctor;
mod ecr_api;
mod ecr_listener;
mod ecr_openapi;
mod ecr_tls;
mod fleet;
mod fleet_config;
mod fleet_monitoring;
mod fuzz_corpus;
mod hostile_input;
mod install;
mod journal_faults;
mod journal_migration;
mod klarna_badge;
mod klarna_expiry;
mod klarna_sale;
mod klarna_wording;
mod lifecycle;
mod line_display;
mod locale_cldr;
mod lost_answers;
mod method_choice;
mod metrics_openmetrics;
mod money_order;
mod offline;
mod openapi_contract;
mod openapi_fuzz;
mod package;
mod printer_extras;
mod receipts_golden;
mod reports;
mod retry_sale;
mod returns;
mod scenarios;
mod service_manager;
mod systemd_unit;
mod usb_printer;
mod zvt;
mod zvt_serial;
