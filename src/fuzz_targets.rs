//! Entry points for the fuzzers in `fuzz/` (cargo fuzz) and for the test that replays
//! their corpus in CI: every parser of bytes from outside the terminal must answer with
//! a value or a typed error, never panic.

use crate::checkout::NewSale;
use crate::config::{LimitsConfig, StoreSection};
use posagent_acquirer_api::Currency;
use posagent_drivers::card_reader::{INTER_BYTE_TIMEOUT, Received, Receiver, parse_event};

/// Bytes from a card reader: fed to the receiver in two halves (a frame may straddle
/// reads), frames parsed as events, partial frames timed out at the end.
pub fn card_reader_bytes(data: &[u8]) {
    let start = std::time::Instant::now();
    let mut rx = Receiver::new();
    let drain = |rx: &mut Receiver, now| {
        while let Some(item) = rx.next(now) {
            if let Received::Frame(f) = item {
                let _ = parse_event(f.cmd, &f.data);
            }
        }
    };
    let (a, b) = data.split_at(data.len() / 2);
    for (i, part) in [a, b].into_iter().enumerate() {
        let now = start + INTER_BYTE_TIMEOUT * (i as u32);
        rx.push(part, now);
        drain(&mut rx, now);
    }
    drain(&mut rx, start + INTER_BYTE_TIMEOUT * 3);
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
        address: vec![],
        vat_number: None,
        time_zone: Default::default(),
    };
    let de = &mut serde_json::Deserializer::from_slice(data);
    if let Ok(req) = serde_path_to_error::deserialize::<_, NewSale>(de) {
        let _ = req.validate(&store, &LimitsConfig::default(), true);
    }
}
