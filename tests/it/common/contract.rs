//! Strict checks of HTTP answers against the OpenAPI documents of `docs/`: the operation
//! is found from the method and the concrete path (literal segments win over `{params}`),
//! the status must be one it lists (`default` only for errors ≥ 400, whose body must then
//! be the documented error envelope), the content type one the response lists, and a
//! JSON body must be valid against the response schema made strict: every object schema
//! without an explicit `additionalProperties` is closed — `additionalProperties: false`,
//! or `unevaluatedProperties: false` where `allOf` (or `$ref`, `anyOf`, `oneOf` beside
//! its own `properties`) composes it, its parts then left open. Non-JSON answers (the
//! OpenMetrics text, the event stream) are checked for status and content type only.
//! The Harness routes every answer of its ECR and acquirer helpers through here.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One OpenAPI document, parsed once, with its schemas made strict.
pub struct Contract {
    file: &'static str,
    doc: Value,
    /// `schemas`: every component schema closed; `open`: the same with only its own top
    /// level left open (the target of a `$ref` inside an `allOf`).
    components: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// docs/ecr-api.yaml, the daemon's ECR API.
pub fn ecr() -> &'static Contract {
    static DOC: OnceLock<Contract> = OnceLock::new();
    DOC.get_or_init(|| Contract::load("ecr-api.yaml"))
}

/// docs/acquirer-api.yaml, the (simulated) acquirer's Terminal API.
pub fn acquirer() -> &'static Contract {
    static DOC: OnceLock<Contract> = OnceLock::new();
    DOC.get_or_init(|| Contract::load("acquirer-api.yaml"))
}

/// Reads an answer whole and checks it against `contract` (panicking on a violation);
/// its status and its JSON body (null when it has none or it is not JSON).
pub async fn read_checked(contract: &Contract, method: &str, path: &str, r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let content_type = r.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
    let body = r.bytes().await.unwrap();
    contract.check(method, path, status, content_type.as_deref(), &body);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

impl Contract {
    pub fn load(file: &'static str) -> Contract {
        Contract::from_doc(file, super::openapi(file))
    }

    pub fn from_doc(file: &'static str, doc: Value) -> Contract {
        let mut closed = Map::new();
        let mut open = Map::new();
        for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
            closed.insert(name.clone(), strict(&doc, schema, true));
            open.insert(name.clone(), strict(&doc, schema, false));
        }
        let components = json!({ "schemas": closed, "open": open });
        Contract { file, doc, components, validators: Mutex::new(HashMap::new()) }
    }

    /// Panics unless the answer is what the document says this request may get.
    pub fn check(&self, method: &str, path: &str, status: u16, content_type: Option<&str>, body: &[u8]) {
        if let Err(violation) = self.violation(method, path, status, content_type, body) {
            let shown = match serde_json::from_slice::<Value>(body) {
                Ok(v) => format!("{v:#}"),
                Err(_) => String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned(),
            };
            let op = self.template(path).unwrap_or_else(|| "?".into());
            panic!(
                "docs/{}: {method} {op} ({path}) answered {status} ({}): {violation}\nbody: {shown}",
                self.file,
                content_type.unwrap_or("no content type")
            );
        }
    }

    /// What is wrong with the answer, if anything.
    pub fn violation(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        // A request outside the document may only be refused: 404 for a path it does not
        // have, 405 for a method, in the error envelope.
        let outside = |answer: u16, what: String| {
            let envelope = self.envelope().ok_or_else(|| format!("{what}, and there is no error envelope"))?;
            if status != answer {
                return Err(format!("{what}: only {answer} with the error envelope may answer it"));
            }
            self.body(&format!("{answer} outside"), &json!({ "default": envelope }), "default", content_type, body)
        };
        let Some(template) = self.template(path) else {
            return outside(404, format!("no path of docs/{} matches {path}", self.file));
        };
        let op = &self.doc["paths"][&template][method.to_ascii_lowercase()];
        if !op.is_object() {
            return outside(405, format!("{method} {template} is not an operation of docs/{}", self.file));
        }
        let responses = &op["responses"];
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = if responses[&code].is_object() {
            code
        } else if responses[&range].is_object() {
            range
        } else if status >= 400 && responses["default"].is_object() {
            "default".to_string()
        } else {
            let listed: Vec<&String> = responses.as_object().into_iter().flat_map(|m| m.keys()).collect();
            return Err(format!("status {status} is not documented (the operation lists {listed:?})"));
        };
        self.body(&format!("{method} {template}"), responses, &key, content_type, body)
    }

    /// The answer against `responses[key]`: no body where it has none, else a content type
    /// it lists and, for JSON, the strict schema.
    fn body(
        &self,
        operation: &str,
        responses: &Value,
        key: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let response = self.resolve(&responses[key]);
        let content = response["content"].as_object().filter(|c| !c.is_empty());
        let Some(content) = content else {
            if body.is_empty() {
                return Ok(());
            }
            return Err(format!("response {key} is documented without a body; {} bytes came", body.len()));
        };
        let Some(content_type) = content_type else {
            return Err(format!("no Content-Type; response {key} lists {:?}", content.keys().collect::<Vec<_>>()));
        };
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let family = format!("{}/*", media.split('/').next().unwrap_or(""));
        let Some(entry) = content.get(&media).or_else(|| content.get(&family)).or_else(|| content.get("*/*")) else {
            return Err(format!(
                "content type {content_type} is not documented (response {key} lists {:?})",
                content.keys().collect::<Vec<_>>()
            ));
        };
        if !(media == "application/json" || media.ends_with("+json")) {
            return Ok(());
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let validator = self.validator(&format!("{operation} {key} {media}"), &entry["schema"]);
        let errors: Vec<String> =
            validator.iter_errors(&value).map(|e| format!("{e} at `{}`", e.instance_path)).collect();
        if errors.is_empty() { Ok(()) } else { Err(format!("response {key}: {}", errors.join("; "))) }
    }

    /// The path template of the document that `path` (its query left out) is an instance
    /// of; the template with the most literal segments when several match.
    pub fn template(&self, path: &str) -> Option<String> {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &String)> = None;
        for template in self.doc["paths"].as_object().into_iter().flat_map(|m| m.keys()) {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let fits = parts.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.is_none_or(|(n, _)| literal > n) {
                best = Some((literal, template));
            }
        }
        best.map(|(_, t)| t.clone())
    }

    /// The error envelope: the `default` response of the operations.
    fn envelope(&self) -> Option<&Value> {
        let items = self.doc["paths"].as_object()?.values().filter_map(Value::as_object);
        items.flat_map(|item| item.values()).map(|op| &op["responses"]["default"]).find(|d| d.is_object())
    }

    /// A response object, its `$ref` into `components/responses` followed.
    fn resolve<'a>(&'a self, response: &'a Value) -> &'a Value {
        match response["$ref"].as_str() {
            Some(r) => pointer(&self.doc, r).unwrap_or(&Value::Null),
            None => response,
        }
    }

    fn validator(&self, key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        if let Some(v) = cache.get(key) {
            return v.clone();
        }
        let root = json!({ "allOf": [strict(&self.doc, schema, true)], "components": self.components });
        let validator = Arc::new(
            jsonschema::draft202012::options()
                .build(&root)
                .unwrap_or_else(|e| panic!("docs/{}: the schema of {key} does not compile: {e}", self.file)),
        );
        cache.insert(key.to_string(), validator.clone());
        validator
    }
}

/// `#/a/b` in `doc`.
fn pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// The schema `s` made strict. `close`: its own top level is closed too (false for a part
/// of an `allOf`, which the composing schema closes with `unevaluatedProperties`).
/// `not` and `if` are left as they are (closing inside them would loosen, not tighten).
pub fn strict(doc: &Value, s: &Value, close: bool) -> Value {
    let Some(m) = s.as_object() else {
        return s.clone();
    };
    let own = m.contains_key("properties") || m.contains_key("patternProperties");
    // Alternatives beside the schema's own properties add to them: left open like parts.
    let alternatives_close = close && !own;
    let mut out = Map::new();
    for (k, v) in m {
        let nv = match k.as_str() {
            "properties" | "patternProperties" | "$defs" | "dependentSchemas" => Value::Object(
                v.as_object().into_iter().flatten().map(|(name, x)| (name.clone(), strict(doc, x, true))).collect(),
            ),
            "items" | "contains" | "additionalProperties" | "unevaluatedProperties" | "unevaluatedItems" => {
                strict(doc, v, true)
            }
            "prefixItems" => each(doc, v, true),
            "allOf" => each(doc, v, false),
            "anyOf" | "oneOf" => each(doc, v, alternatives_close),
            "then" | "else" => strict(doc, v, alternatives_close),
            "$ref" => match v.as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                Some(name) if !alternatives_close => json!(format!("#/components/open/{name}")),
                _ => v.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    if close && !m.contains_key("additionalProperties") && !m.contains_key("unevaluatedProperties") {
        let composed = m.contains_key("allOf")
            || (own && ["anyOf", "oneOf", "$ref", "then", "else"].iter().any(|k| m.contains_key(*k)));
        if composed && objectish(doc, s, 0) {
            out.insert("unevaluatedProperties".into(), json!(false));
        } else if !composed && objectish_own(m) {
            out.insert("additionalProperties".into(), json!(false));
        }
    }
    Value::Object(out)
}

fn each(doc: &Value, v: &Value, close: bool) -> Value {
    Value::Array(v.as_array().into_iter().flatten().map(|x| strict(doc, x, close)).collect())
}

/// Whether the schema describes an object by itself: properties, or type object.
fn objectish_own(m: &Map<String, Value>) -> bool {
    let typed = match &m.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    typed || m.contains_key("properties") || m.contains_key("patternProperties")
}

/// Whether the schema, or what it composes (through `$ref`s), describes an object.
fn objectish(doc: &Value, s: &Value, depth: usize) -> bool {
    let Some(m) = s.as_object() else {
        return false;
    };
    if objectish_own(m) {
        return true;
    }
    if depth > 16 {
        return false;
    }
    let by_ref = m.get("$ref").and_then(Value::as_str).and_then(|r| pointer(doc, r));
    by_ref.is_some_and(|t| objectish(doc, t, depth + 1))
        || ["allOf", "anyOf", "oneOf"]
            .iter()
            .any(|k| m.get(*k).and_then(Value::as_array).into_iter().flatten().any(|x| objectish(doc, x, depth + 1)))
}
