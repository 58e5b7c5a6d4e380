//! What the generated document needs beyond the types: the title and prose, the bearer
//! scheme; every object closed (neither end sends a key the document does not give), no
//! field `null` (every optional field is left out when empty, `skip_serializing_if`) and
//! no integer format (the bounds say the range; utoipa calls a `u64` `int64`);
//! the fixed strings (`const`), the state serde also reads by another name, the bodies a
//! cancel and a void may carry, the signature header's form; and no grouping by tags but
//! the simulator's own operation.

use serde_json::json;
use serde_yaml::Value;

/// A JSON value as YAML (the overlay's snippets).
fn y(v: serde_json::Value) -> Value {
    serde_yaml::to_value(v).unwrap_or_default()
}

/// The document's introduction.
const DESCRIPTION: &str = "The API between posagent (a payment terminal in a physical store) and its acquirer.
Names, enums and states follow Klarna Network. Amounts are integers in minor units of
an ISO 4217 currency. Every POST carries an Idempotency-Key; see docs/acquirer-api.md.
The simulator's answers are checked strictly against this file by the tests
(tests/it/common/contract.rs): a status, content type or key it does not give fails.
Generated from the types of acquirer-api/
(`cargo run -p posagent-acquirer-api --example acquirer-openapi > docs/acquirer-api.yaml`).
";

/// Finishes the generated document.
pub fn apply(doc: &mut Value) {
    doc["info"] = y(json!({ "title": "posagent acquirer Terminal API", "version": "1.0", "description": DESCRIPTION }));
    doc["components"]["securitySchemes"] = y(json!({ "terminalKey": {
        "type": "http", "scheme": "bearer",
        "description": "The terminal's API key. TLS always verified; mTLS optional." } }));
    let schemas = &mut doc["components"]["schemas"];
    if let Some(all) = schemas.as_mapping_mut() {
        all.values_mut().for_each(finish);
    }
    // Strings that take one value.
    for (schema, field, value) in [
        ("PointOfCheckout", "type", "PHYSICAL_STORE"),
        ("PointOfTransaction", "type", "TERMINAL"),
        ("EventMetadata", "event_version", "v2"),
    ] {
        schemas[schema]["properties"][field]["const"] = Value::String(value.into());
    }
    // Gen-1's name of AUTHORIZED (`#[serde(alias)]`), which a real acquirer may send.
    let states = &mut schemas["PaymentRequestState"]["enum"];
    if let Some(list) = states.as_sequence_mut() {
        let at = list.iter().position(|s| s.as_str() == Some("AUTHORIZED")).map_or(list.len(), |i| i + 1);
        list.insert(at, Value::String("CONFIRMED".into()));
    }
    // A cancel and a void take an empty object, or no body.
    for path in
        ["/v1/payment-requests/{payment_request_id}/cancel", "/v1/payment-transactions/{payment_transaction_id}/void"]
    {
        doc["paths"][path]["post"]["requestBody"] =
            y(json!({ "required": false, "content": { "application/json": { "schema": { "type": "object" } } } }));
    }
    let signature = &mut doc["paths"]["/v1/events"]["get"]["responses"]["200"]["headers"]["Klarna-Signature"];
    signature["schema"]["pattern"] = y(json!("^[0-9a-f]{64}$"));
    if let Some(paths) = doc["paths"].as_mapping_mut() {
        for operation in paths.values_mut().filter_map(Value::as_mapping_mut).flat_map(|item| item.values_mut()) {
            // No grouping but the simulator's own operation (utoipa tags the rest `paths`).
            let simulators = |t: &Value| t.as_sequence().is_some_and(|t| t.iter().any(|t| t == "simulator"));
            if let Some(op) = operation.as_mapping_mut().filter(|op| !op.get("tags").is_some_and(simulators)) {
                op.remove("tags");
            }
            let params = operation.as_mapping_mut().and_then(|op| op.get_mut("parameters"));
            for p in params.and_then(Value::as_sequence_mut).into_iter().flatten() {
                finish(&mut p["schema"]);
            }
        }
    }
}

/// A schema and every schema inside it closed, without `null` and integer formats.
fn finish(schema: &mut Value) {
    match schema {
        Value::Mapping(m) => {
            m.values_mut().for_each(finish);
            let no_extra = Value::String("additionalProperties".into());
            if m.contains_key("properties") && !m.contains_key(&no_extra) {
                m.insert(no_extra, Value::Bool(false));
            }
            drop_null(m);
            // Integers are bounded by their own minimum and maximum, not by a format:
            // utoipa writes `int64` for a `u64` too, which would refuse counters the
            // acquirer takes (an event sequence past 2^63).
            if m.get("format").and_then(Value::as_str).is_some_and(|f| f == "int32" || f == "int64") {
                m.remove("format");
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(finish),
        _ => {}
    }
}

/// `type: [T, "null"]` made `type: T`, `oneOf: [{type: null}, S]` made `S`.
fn drop_null(m: &mut serde_yaml::Mapping) {
    let null = Value::String("null".into());
    if let Some(types) = m.get_mut("type").and_then(Value::as_sequence_mut) {
        types.retain(|t| *t != null);
        if let [only] = types.as_slice() {
            let only = only.clone();
            m.insert("type".into(), only);
        }
    }
    let Some(alternatives) = m.get_mut("oneOf").and_then(Value::as_sequence_mut) else {
        return;
    };
    alternatives.retain(|a| a.get("type") != Some(&null));
    if let [Value::Mapping(only)] = alternatives.as_slice() {
        let only = only.clone();
        m.remove("oneOf");
        m.extend(only);
    }
}
