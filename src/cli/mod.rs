//! The subcommands that drive a running daemon through its ECR API (`sale`, `report`,
//! `queue`, `cashier`), with the typed [`posagent_ecr_api::EcrClient`]: no JSON is read by key.
//! `fleet` drives the chain's terminals through their MQTT broker instead (docs/fleet.md).
//! The top layer: it uses the library (`posagent::…`) and nothing uses it but `main`.

pub mod cashier;
pub mod fleet;
pub mod queue;
pub mod remote;
pub mod run;

/// What a build without the simulator answers `run --simulator`, `demo` and `scenario`.
#[cfg(not(feature = "simulator"))]
#[derive(Debug, thiserror::Error)]
#[error(
    "this build has no simulator (`posagent {0}`); install the posagent development build (built with the default `simulator` feature)"
)]
pub struct NoSimulator(pub &'static str);

/// How `run` without `--config` says what else it takes.
#[cfg(feature = "simulator")]
pub const OR_SIMULATOR: &str = " or --simulator";
/// How `run` without `--config` says what else it takes.
#[cfg(not(feature = "simulator"))]
pub const OR_SIMULATOR: &str = "";
