//! docs/acquirer-api.yaml is the document generated from the wire types: regenerated
//! here, it must equal the committed file.

#[test]
fn the_committed_document_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/acquirer-api.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = posagent_acquirer_api::openapi::yaml();
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or(0, |n| n + 1);
        panic!(
            "docs/acquirer-api.yaml is not the document the wire types give (first difference at line {line}); \
             regenerate it: cargo run -p posagent-acquirer-api --example acquirer-openapi > docs/acquirer-api.yaml"
        );
    }
}

/// The overlay adds Gen-1's CONFIRMED (a serde alias): every state listed is one the
/// terminal reads.
#[test]
fn every_listed_payment_request_state_is_read() {
    let doc = posagent_acquirer_api::openapi::document();
    let values = doc["components"]["schemas"]["PaymentRequestState"]["enum"].as_sequence().cloned().unwrap_or_default();
    let listed: Vec<String> = values.iter().filter_map(|v| v.as_str().map(String::from)).collect();
    assert!(listed.iter().any(|s| s == "CONFIRMED") && listed.len() == 8, "{listed:?}");
    for state in listed {
        let parsed = serde_json::from_value::<posagent_acquirer_api::PaymentRequestState>(state.clone().into());
        assert!(parsed.is_ok(), "{state} is listed but not read");
    }
}
