//! Every ```zvt-example block of docs/zvt.md decodes with the codec: `ECR→PT` lines as
//! ECR messages, `PT→ECR` lines as PT messages; a line starting `10 02` is a serial block.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent_zvt::serial::{FrameEvent, FrameReader};
use posagent_zvt::{Apdu, PtMessage, decode_ecr, hex_bytes};

fn blocks(doc: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in doc.lines() {
        match (&mut current, line.trim()) {
            (None, "```zvt-example") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(lines), text) => lines.push(text.to_string()),
            (None, _) => {}
        }
    }
    blocks
}

fn apdu_of(hex: &str) -> Result<Apdu, String> {
    let bytes = hex_bytes(hex).ok_or("not hex")?;
    let bytes = if bytes.starts_with(&[0x10, 0x02]) {
        match FrameReader::new().push(&bytes).as_slice() {
            [FrameEvent::Frame(apdu)] => apdu.clone(),
            other => return Err(format!("not one good serial block: {other:?}")),
        }
    } else {
        bytes
    };
    Apdu::decode(&bytes).map_err(|e| e.to_string())
}

fn check(line: &str) -> Result<(), String> {
    if let Some(hex) = line.strip_prefix("ECR→PT ") {
        decode_ecr(&apdu_of(hex)?).map(|_| ()).map_err(|e| e.to_string())
    } else if let Some(hex) = line.strip_prefix("PT→ECR ") {
        let apdu = apdu_of(hex)?;
        let message = PtMessage::decode(&apdu).map_err(|e| e.to_string())?;
        // What the PT sends, the codec must also produce byte for byte.
        match message.to_apdu() {
            Ok(again) if again == apdu => Ok(()),
            other => Err(format!("re-encodes as {other:02X?}")),
        }
    } else {
        Err("neither ECR→PT nor PT→ECR".into())
    }
}

#[test]
fn every_example_in_docs_zvt_md_decodes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/zvt.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let blocks = blocks(&doc);
    assert!(!blocks.is_empty(), "no ```zvt-example block in {}", path.display());
    let mut failures = Vec::new();
    for line in blocks.iter().flatten().filter(|l| !l.is_empty()) {
        if let Err(why) = check(line) {
            failures.push(format!("{line}\n    {why}"));
        }
    }
    assert!(failures.is_empty(), "docs/zvt.md examples that do not decode:\n{}", failures.join("\n"));
}
