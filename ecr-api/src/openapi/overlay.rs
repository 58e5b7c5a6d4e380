//! What the generated document needs beyond the types: the title and prose, the server,
//! the bearer scheme, the answers' objects closed with every field required (the wire
//! types serialize every field, null included), and the few constraints utoipa has no
//! attribute for.

use serde_json::json;
use serde_yaml::Value;

/// A JSON value as YAML (the overlay's snippets).
fn y(v: serde_json::Value) -> Value {
    serde_yaml::to_value(v).unwrap_or_default()
}

/// The document's introduction.
const DESCRIPTION: &str = "The local API a shop's register uses to take Klarna and card payments on the
terminal. HTTP/JSON on loopback, bearer token (the file `ecr.token`, mode 0600).
Amounts are integers in minor units of an ISO 4217 currency. Errors are
`{code, message, field}`. Prose, examples and the event stream: docs/ecr-api.md.
tests/it/ecr_openapi.rs validates the running daemon's answers against this file, and
every integration test checks each answer it gets strictly (tests/it/common/contract.rs):
a status, content type or key this file does not give fails, every object being
closed unless it says otherwise (additionalProperties). Generated from the types of
ecr-api/ (`cargo run -p posagent-ecr-api --example ecr-openapi > docs/ecr-api.yaml`).
";

/// The answers: every property is present in every answer.
const ANSWERS: &[&str] = &[
    "Sale",
    "HistoryEntry",
    "SaleHistory",
    "Return",
    "KlarnaAvailability",
    "DayReport",
    "TenderTotal",
    "Reconciliation",
    "SettlementTotals",
    "Difference",
    "QueuedOperation",
    "QueueList",
    "QueueSummary",
    "QueueState",
    "LogLevel",
    "Health",
    "HealthProblem",
    "DeviceStatus",
    "AcquirerStatus",
    "ConsoleInfo",
    "Cashier",
    "CashierList",
    "Catalogue",
    "Article",
    "ConsoleSession",
    "ConsoleTexts",
    "ConsoleLanguage",
    "StaffAction",
    "OfflineRoom",
];

/// Finishes the generated document.
pub fn apply(doc: &mut Value) {
    doc["info"] = y(json!({
        "title": "posagent ECR API (register → payment terminal)",
        "version": "1.0",
        "description": DESCRIPTION,
    }));
    doc["servers"] = y(json!([{ "url": "http://127.0.0.1:7600" }]));
    security_schemes(doc);
    let schemas = &mut doc["components"]["schemas"];
    for name in ANSWERS {
        let schema = &mut schemas[*name];
        let all: Vec<Value> =
            schema["properties"].as_mapping().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        schema["required"] = Value::Sequence(all);
        schema["additionalProperties"] = Value::Bool(false);
    }
    // The acquirer's objects the API carries are closed too.
    for name in [
        "LineItem",
        "PaymentOption",
        "PresentationText",
        "PresentationLink",
        "EnrichedSubheader",
        "PresentationSubheader",
        "PresentationIcon",
    ] {
        schemas[name]["additionalProperties"] = Value::Bool(false);
    }
    // The problem's code on the wire: one of ErrorCode's, upper case.
    schemas["JournalRowDamaged"] = y(json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["code", "message"],
        "properties": {
            "code": { "const": "JOURNAL_ROW_DAMAGED" },
            "message": { "type": "string", "minLength": 1, "description": "which table and row, and what to do" },
            "field": { "type": "null" },
        },
    }));
    schemas["Problem"]["properties"]["message"]["minLength"] = y(json!(1));
    schemas["Problem"]["properties"]["code"]["pattern"] = y(json!("^[A-Z_]+$"));
    // A return takes lines or an amount, not both; its purchase's reference is not dots only.
    schemas["NewReturn"]["not"] =
        y(json!({ "required": ["lines", "amount"], "description": "lines or an amount, not both" }));
    schemas["NewReturn"]["properties"]["original_reference"]["not"] = y(json!({ "pattern": "^[.]+$" }));
    // A device's conditions are a set.
    schemas["DeviceStatus"]["properties"]["conditions"]["uniqueItems"] = y(json!(true));
    doc["components"]["responses"]["JournalRowDamaged"]["content"]["application/json"]["schema"] =
        y(json!({ "$ref": "#/components/schemas/JournalRowDamaged" }));
    doc["components"]["responses"]["Problem"]["content"]["application/json"]["schema"] =
        y(json!({ "$ref": "#/components/schemas/Problem" }));
    // Bodies that may be left out are left out, never sent as `null`.
    for path in ["/v1/sales/{id}/retry", "/v1/sales/{id}/capture"] {
        let body = &mut doc["paths"][path]["post"]["requestBody"];
        let schema = &mut body["content"]["application/json"]["schema"];
        *schema = not_null(schema);
        body["required"] = Value::Bool(false);
    }
    if let Some(paths) = doc["paths"].as_mapping_mut() {
        for operation in paths.values_mut().filter_map(Value::as_mapping_mut).flat_map(|item| item.values_mut()) {
            if let Some(op) = operation.as_mapping_mut() {
                // One document, no grouping.
                op.remove("tags");
            }
            // A parameter left out is absent: never null.
            let params = operation.as_mapping_mut().and_then(|op| op.get_mut("parameters"));
            for p in params.and_then(Value::as_sequence_mut).into_iter().flatten() {
                let schema = &mut p["schema"];
                *schema = not_null(schema);
            }
        }
    }
    open_operations(doc);
}

/// The operations without the token or a session: health, metrics, the console's files
/// and its sign-in.
fn open_operations(doc: &mut Value) {
    for path in [
        "/health",
        "/metrics",
        "/console",
        "/console/info",
        "/console/app.js",
        "/console/app.css",
        "/console/texts/{lang}",
    ] {
        doc["paths"][path]["get"]["security"] = y(json!([]));
    }
    doc["paths"]["/console/session"]["post"]["security"] = y(json!([]));
}

/// The register's token, and a cashier's console session with its CSRF token.
fn security_schemes(doc: &mut Value) {
    doc["components"]["securitySchemes"] = y(json!({
        "ecrToken": { "type": "http", "scheme": "bearer" },
        "consoleSession": { "type": "apiKey", "in": "cookie", "name": "posagent_console",
            "description": "A cashier's console session (POST /console/session); cashiers' roles limit what it may do (docs/console.md)" },
        "consoleCsrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
            "description": "The session's CSRF token, with every console request that changes something" },
    }));
}

/// A schema without its `null` alternative (`type: [T, "null"]` or `oneOf: [null, S]`).
fn not_null(schema: &Value) -> Value {
    let null = Value::String("null".into());
    let mut s = schema.clone();
    if let Some(types) = s.get_mut("type").and_then(Value::as_sequence_mut) {
        types.retain(|t| *t != null);
        if let [only] = types.as_slice() {
            let only = only.clone();
            s["type"] = only;
        }
        return s;
    }
    let others: Vec<Value> = schema
        .get("oneOf")
        .and_then(Value::as_sequence)
        .map(|alts| alts.iter().filter(|a| a.get("type") != Some(&null)).cloned().collect())
        .unwrap_or_default();
    match others.as_slice() {
        [only] => only.clone(),
        _ => s,
    }
}
