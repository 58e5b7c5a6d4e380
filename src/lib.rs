//! posagent: the payment-terminal daemon that lets a shop take Klarna at the counter.
//!
//! The parts, each in its own folder: `domain` (the records every layer shares), `config` (store config and device profiles),
//! `store` (the SQLite journal), `outbox` (store-and-forward
//! of operations for the acquirer and the sync worker), `backend` (the acquirer client), `checkout` (the sale
//! state machine), `devices` (owner threads of the display and printer), `screens`
//! (what the customer display shows), `locale` (amounts and texts per locale), `ecr`
//! (the register's local API), `daemon` (wiring and lifecycle) and `fleet` (the link to
//! the chain's MQTT broker, above the daemon whose facts it publishes). See
//! `docs/architecture.md`.
//!
//! With the `simulator` feature (on by default, off in the terminal package) the crate
//! also has the embedded simulator (`daemon::start_simulated`), `demo` and `scenarios`;
//! without it, posagent-sim is not a dependency and none of that is built.

pub mod assets;
pub mod backend;
pub mod checkout;
pub mod config;
pub mod daemon;
#[cfg(feature = "simulator")]
pub mod demo;
pub mod devices;
pub mod discovery;
pub mod doctor;
pub mod domain;
pub mod ecr;
pub mod fleet;
#[cfg(feature = "fuzz-targets")]
pub mod fuzz_targets;
pub mod locale;
pub mod logging;
pub mod metrics;
pub mod outbox;
pub mod reports;
pub mod returns;
#[cfg(feature = "simulator")]
pub mod scenarios;
pub mod screens;
pub mod staff;
pub mod store;
pub mod zvt;
