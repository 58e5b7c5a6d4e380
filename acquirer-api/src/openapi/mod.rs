//! The Terminal API's OpenAPI 3.1 document, generated from the wire types (utoipa) and
//! the operations in [`paths`], then finished by a small overlay ([`overlay`]) for what
//! the types cannot say; [`values`] has the schemas of what the types hold as plain
//! strings and integers. `cargo run -p posagent-acquirer-api --example acquirer-openapi >
//! docs/acquirer-api.yaml` writes it; `tests/openapi.rs` fails when the committed file
//! differs.

mod overlay;
mod paths;
mod values;

pub use values::{Amount, EntryMode, LedgerEntry, LedgerKind, SETTLED_CURRENCIES, batch_body, event_payload};

use utoipa::OpenApi;

/// The document as utoipa builds it from the types and the operations.
#[derive(OpenApi)]
#[openapi(
    paths(
        paths::read_availability,
        paths::authorize_payment,
        paths::reverse_payment,
        paths::read_payment_request_by_reference,
        paths::read_payment_request,
        paths::cancel_payment_request,
        paths::read_transaction_by_reference,
        paths::read_transaction,
        paths::capture_transaction,
        paths::refund_transaction,
        paths::void_transaction,
        paths::read_order,
        paths::read_settlement,
        paths::read_events,
        paths::upload_batch,
        paths::read_ledger,
    ),
    components(schemas(crate::ApiError), responses(paths::Error)),
    security(("terminalKey" = [])),
    servers((url = "https://acquirer.example/terminal")),
    tags((name = "simulator", description = "Served by the simulated acquirer only (posagent-sim backend), for tests; posagent never calls it")),
)]
struct Generated;

/// The document (YAML's value keeps the order utoipa writes).
pub fn document() -> serde_yaml::Value {
    let mut doc = serde_yaml::to_value(Generated::openapi()).unwrap_or_default();
    overlay::apply(&mut doc);
    doc
}

/// The document as YAML (`docs/acquirer-api.yaml`).
pub fn yaml() -> String {
    serde_yaml::to_string(&document()).unwrap_or_default()
}
