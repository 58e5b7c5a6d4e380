//! Writes the ECR API's OpenAPI document, generated from the wire types, to stdout:
//! `cargo run -p posagent-ecr-api --example ecr-openapi > docs/ecr-api.yaml`.

fn main() {
    print!("{}", posagent_ecr_api::openapi::yaml());
}
