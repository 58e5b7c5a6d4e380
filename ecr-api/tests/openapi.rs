//! docs/ecr-api.yaml is the document generated from the wire types: regenerated here, it
//! must equal the committed file.

#[test]
fn the_committed_document_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ecr-api.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = posagent_ecr_api::openapi::yaml();
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or(0, |n| n + 1);
        panic!(
            "docs/ecr-api.yaml is not the document the wire types give (first difference at line {line}); \
             regenerate it: cargo run -p posagent-ecr-api --example ecr-openapi > docs/ecr-api.yaml"
        );
    }
}

#[test]
fn every_error_code_is_in_the_document() {
    let doc = posagent_ecr_api::openapi::document();
    let listed = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in posagent_ecr_api::ErrorCode::ALL {
        let found = listed.as_sequence().is_some_and(|s| s.iter().any(|v| v.as_str() == Some(code.as_str())));
        assert!(found, "{code} is not in the document");
    }
}
