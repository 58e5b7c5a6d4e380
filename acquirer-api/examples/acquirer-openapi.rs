//! Writes the acquirer Terminal API's OpenAPI document, generated from the wire types, to
//! stdout: `cargo run -p posagent-acquirer-api --example acquirer-openapi > docs/acquirer-api.yaml`.

fn main() {
    print!("{}", posagent_acquirer_api::openapi::yaml());
}
