//! The ECR API's OpenAPI 3.1 document, generated from the wire types (utoipa) and the
//! operations in [`paths`], then finished by a small overlay ([`overlay`]) for what the
//! types cannot say. `cargo run -p posagent-ecr-api --example ecr-openapi > docs/ecr-api.yaml`
//! writes it; `tests/openapi.rs` fails when the committed file differs.

mod overlay;
mod paths;

use utoipa::OpenApi;

/// The document as utoipa builds it from the types and the operations.
#[derive(OpenApi)]
#[openapi(
    paths(
        paths::create_sale,
        paths::list_sales,
        paths::read_sale,
        paths::read_sale_history,
        paths::cancel_sale,
        paths::choose_method,
        paths::reprint_receipt,
        paths::retry_sale,
        paths::capture_sale,
        paths::void_sale,
        paths::open_cash_drawer,
        paths::create_return,
        paths::read_return,
        paths::offer_klarna,
        paths::follow_sales,
        paths::report_x,
        paths::report_z,
        paths::reconcile,
        paths::list_queue,
        paths::queue_summary,
        paths::sync_queue,
        paths::read_queued_operation,
        paths::retry_dead_letter,
        paths::read_log_level,
        paths::change_log_level,
        paths::health,
        paths::metrics,
        paths::list_cashiers,
        paths::put_cashier,
        paths::read_catalogue,
        paths::read_offline_room,
        paths::cashier_console,
        paths::console_script,
        paths::console_style,
        paths::console_texts,
        paths::console_info,
        paths::sign_in,
        paths::read_session,
        paths::sign_out,
        paths::approve_action,
    ),
    components(
        schemas(crate::ErrorBody, crate::ErrorCode, crate::schema::QueueStateParam),
        responses(paths::Problem, paths::JournalRowDamaged)
    ),
    security(("ecrToken" = []), ("consoleSession" = [], "consoleCsrf" = [])),
)]
struct Generated;

/// The document (YAML's value keeps the order utoipa writes).
pub fn document() -> serde_yaml::Value {
    let mut doc = serde_yaml::to_value(Generated::openapi()).unwrap_or_default();
    overlay::apply(&mut doc);
    doc
}

/// The document as YAML (`docs/ecr-api.yaml`).
pub fn yaml() -> String {
    serde_yaml::to_string(&document()).unwrap_or_default()
}
