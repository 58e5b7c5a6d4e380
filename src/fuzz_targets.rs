//! Entry points for the fuzzers in `fuzz/` (cargo fuzz) and for the test that replays
//! their corpus in CI: every parser of bytes from outside the terminal must answer with
//! a value or a typed error, never panic.

use crate::checkout::NewSale;
use crate::config::{LimitsConfig, StoreSection};
use posagent_acquirer_api::Currency;
use posagent_drivers::card_reader::{Decoded, decode, parse_event};

/// Bytes from a card reader: frames decoded, events parsed, until the input is used up.
pub fn card_reader_bytes(data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        match decode(rest) {
            Decoded::Incomplete => return,
            Decoded::Ack | Decoded::Nak => rest = &rest[1..],
            Decoded::Frame { cmd, data, used } => {
                let _ = parse_event(cmd, &data);
                rest = &rest[used.max(1)..];
            }
            Decoded::Invalid { skip, .. } => rest = &rest[skip.clamp(1, rest.len())..],
        }
    }
}

/// Bytes from a printer: real-time status replies, four at a time.
pub fn printer_status_bytes(data: &[u8]) {
    for chunk in data.chunks_exact(4) {
        let _ = posagent_drivers::printer::parse_status([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
}

/// A body sent to `POST /v1/sales`: parsed and validated as the ECR API does.
pub fn ecr_sale_request(data: &[u8]) {
    let store = StoreSection {
        store_reference: "s".into(),
        terminal_reference: "t".into(),
        name: "n".into(),
        country: "SE".into(),
        currency: Currency::SEK,
        locale: "sv-SE".into(),
        logo: None,
        merchant_copy: false,
    };
    let de = &mut serde_json::Deserializer::from_slice(data);
    if let Ok(req) = serde_path_to_error::deserialize::<_, NewSale>(de) {
        let _ = req.validate(&store, &LimitsConfig::default(), true);
    }
}
