//! The local ECR API for the shop's register: HTTP/JSON on loopback, bearer token,
//! errors as `{code, message, field}`, and a server-sent-events stream of sale changes.
//! The protocol is described in `docs/ecr-api.md`.

mod admin;
mod auth;
mod limit;
mod problem;
mod queue;
mod routes;

pub use auth::{ensure_token_file, read_token};
pub use limit::RateLimiter;
pub use problem::Problem;
pub use routes::{EcrState, router};
