//! The subcommands that drive a running daemon through its ECR API (`sale`, `report`,
//! `queue`), with the typed [`posagent_ecr_api::EcrClient`]: no JSON is read by key.
//! `fleet` drives the chain's terminals through their MQTT broker instead (docs/fleet.md).
//! The top layer: it uses the library (`posagent::…`) and nothing uses it but `main`.

pub mod fleet;
pub mod queue;
pub mod remote;
pub mod run;
