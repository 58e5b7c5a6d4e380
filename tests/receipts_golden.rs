//! Receipts (and the decline slip and the QR slip) against reviewed golden texts in `tests/golden/receipts/`: each document is
//! encoded to ESC/POS for a 58 mm (32 columns), a 42-column and an 80 mm (48 columns)
//! printer and read back by the simulated printer's decoder, so the golden text is what
//! the paper shows; no line may be wider than the paper (the printer would wrap it).
//! `POSAGENT_UPDATE_GOLDEN=1 cargo test --test receipts_golden` rewrites them (review the
//! diff!).
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent::checkout::{
    CopyFor, PostPurchaseKind, ReceiptHeader, Sale, declined_document, marked, post_purchase_document,
    qr_slip_document, receipt_document,
};
use posagent::locale::StoreTimeZone;
use posagent::returns::{ReturnRecord, return_document};
use posagent_drivers::printer::{CodePage, Document, PrinterProfile, encode_document};
use posagent_sim::devices::escpos_decoder::{Event, decode, overflowing_lines, render_text};
use serde_json::json;

/// What the paper shows, and the lines the printer had to wrap (wider than the paper).
fn paper(doc: &Document, columns: usize) -> (String, Vec<String>) {
    let width_dots = match columns {
        32 => 384,
        42 => 512,
        _ => 576,
    };
    let bytes = encode_document(doc, &PrinterProfile { columns, width_dots, ..PrinterProfile::default() });
    let mut events = vec![];
    let mut rest: &[u8] = &bytes;
    let mut page = CodePage::Pc858;
    while let Ok(Some((ev, used))) = decode(rest, page) {
        if let Event::CodeTable(n) = ev {
            page = CodePage::from_escpos_table(n).unwrap();
        }
        events.push(ev);
        rest = &rest[used..];
    }
    assert!(rest.is_empty(), "undecodable bytes left: {rest:02x?}");
    (render_text(&events, columns), overflowing_lines(&events, columns))
}

fn sale(extra: serde_json::Value) -> Sale {
    let mut v = json!({
        "id": "0b7e4c52-8a43-4f0b-9e44-2f7f0e1d2c3b", "reference": "SIM01-3F2A9C1B7E44", "state": "APPROVED",
        "method": "KLARNA", "amount": 123450, "currency": "SEK", "locale": "sv-SE",
        "order_lines": [
            {"name": "Kaffe", "reference": "SKU-1", "quantity": 2, "unit_price": 2500, "total_amount": 5000, "tax_rate": 1200, "total_tax_amount": 536},
            {"name": "Kanelbulle med extra vaniljkräm och pärlsocker", "reference": "SKU-2", "quantity": 1, "unit_price": 118450, "total_amount": 118450, "total_discount_amount": 0, "tax_rate": 1200, "total_tax_amount": 12691}
        ],
        "interoperability_token": null, "interoperability_data": null,
        "descriptors": {"locale": "sv-SE", "header": "Betala med Klarna", "subheader": "Betala direkt, senare eller dela upp.",
            "subheader_enriched": "Dela upp i 3 betalningar à 411,50 kr", "badge_url": "https://x.klarnacdn.net/b.svg"},
        "payment_request_id": "krn:payment:eu1:request:1", "payment_request_url": "https://acquirer.example/pay/krn:payment:eu1:request:1",
        "payment_request_expires_at": null, "qr_shown_at": null, "session_token": null,
        "payment_transaction_id": "krn:payment:eu1:transaction:6debe89e-98c0-486e-b1a4-aa4b8e6b5c3e", "klarna_reference": "K7Q2-9XW4",
        "reason": null, "receipt_error": null,
        "created_at": "2026-11-25T14:02:11Z", "approved_at": "2026-11-25T14:02:40Z",
        "updated_at": "2026-11-25T16:45:00Z"
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    serde_json::from_value(v).unwrap()
}

/// The store's clock: Stockholm (the fixtures' times are UTC; receipts show 15:03, not 14:03).
fn zone() -> &'static StoreTimeZone {
    static ZONE: std::sync::OnceLock<StoreTimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| StoreTimeZone::named("Europe/Stockholm").unwrap())
}

fn header(store: &'static str, terminal: &'static str) -> ReceiptHeader<'static> {
    ReceiptHeader { store, terminal, time_zone: zone(), address: &[], vat_number: None }
}

/// A store that prints its address and VAT number.
fn with_address(store: &'static str, terminal: &'static str) -> ReceiptHeader<'static> {
    static ADDRESS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let address = ADDRESS.get_or_init(|| vec!["Marktplatz 1".into(), "10115 Berlin".into()]);
    ReceiptHeader { address, vat_number: Some("DE123456789"), ..header(store, terminal) }
}

fn documents() -> Vec<(&'static str, Document)> {
    let klarna = sale(json!({}));
    let card_offline = sale(json!({
        "method": "CARD", "amount": 8990, "order_lines": [], "locale": "de-DE", "currency": "EUR",
        "masked_pan": "411111******1111", "entry_mode": "CONTACTLESS", "cvm": "CONSUMER_DEVICE", "offline": "QUEUED",
        "payment_transaction_id": null, "klarna_reference": null
    }));
    let polish =
        sale(json!({"method": "CARD", "amount": 123450, "order_lines": [], "locale": "pl-PL", "currency": "PLN",
        "masked_pan": "541333******4111", "entry_mode": "CHIP", "cvm": "OFFLINE_PIN", "aid": "A0000000041010",
        "application_label": "MASTERCARD", "authorization_code": "004211", "klarna_reference": null}));
    // Mixed characters: French typography, and a Polish line with a French word.
    let french = sale(json!({"locale": "fr-FR", "currency": "EUR", "amount": 123456, "order_lines": [
        {"name": "Crème brûlée « maison » – 2 pièces…", "reference": "SKU-9", "quantity": 1, "unit_price": 123456,
         "total_amount": 123456, "tax_rate": 550, "total_tax_amount": 6435}
    ]}));
    let polish_mixed = sale(json!({"locale": "pl-PL", "currency": "PLN", "amount": 100, "order_lines": [
        {"name": "Café crème – żółta filiżanka", "reference": "SKU-8", "quantity": 1, "unit_price": 100,
         "total_amount": 100, "tax_rate": 2300, "total_tax_amount": 19}
    ]}));
    let declined = sale(json!({"state": "DECLINED", "method": "CARD", "amount": 4990, "order_lines": [],
        "masked_pan": "400000******9995", "entry_mode": "CONTACTLESS", "reason": "INSUFFICIENT_FUNDS",
        "payment_transaction_id": null, "klarna_reference": null}));
    let ret: ReturnRecord = serde_json::from_value(json!({
        "id": "r1", "reference": "RET-0001", "original_reference": "SIM01-3F2A9C1B7E44",
        "payment_transaction_id": "krn:payment:eu1:transaction:00000001", "klarna_reference": "K7Q2-9XW4",
        "method": "KLARNA", "amount": 2500, "currency": "SEK",
        "lines": [{"name": "Kaffe", "reference": "SKU-1", "quantity": 1, "unit_price": 2500, "total_amount": 2500, "tax_rate": 1200, "total_tax_amount": 268}],
        "state": "REFUNDED", "reason": null, "idempotency_key": "k", "payment_refund_id": "krn:refund:1",
        "receipt_printed": false, "receipt_error": null, "locale": "sv-SE",
        "created_at": "2026-11-25T15:00:00Z", "updated_at": "2026-11-25T15:00:02Z"
    }))
    .unwrap();
    let card_return = ReturnRecord {
        method: posagent_acquirer_api::PaymentMethod::Card,
        masked_pan: Some("541333******4111".into()),
        klarna_reference: String::new(),
        lines: vec![],
        ..ret.clone()
    };
    let later = sale(json!({"capture": "LATER", "captured_amount": 0}));
    let captured = sale(json!({"capture": "LATER", "captured_amount": 40_000}));
    let at = "2026-11-26T09:30:00Z".parse().unwrap();
    vec![
        ("klarna", receipt_document(&klarna, header("Simulated Store", "SIM01"), false)),
        ("klarna-fr", receipt_document(&french, header("Café « Chez Zoé »", "CAISSE-1"), false)),
        ("klarna-pl-mixed", receipt_document(&polish_mixed, header("Sklep Przykładowy", "KASA-2"), false)),
        ("klarna-capture-later", receipt_document(&later, header("Simulated Store", "SIM01"), false)),
        ("return-card", return_document(&card_return, header("Simulated Store", "SIM01"))),
        (
            "capture",
            post_purchase_document(
                &captured,
                (header("Simulated Store", "SIM01"), at),
                PostPurchaseKind::Capture(40_000),
                false,
            ),
        ),
        (
            "release-queued",
            post_purchase_document(
                &captured,
                (header("Simulated Store", "SIM01"), at),
                PostPurchaseKind::Release,
                true,
            ),
        ),
        ("klarna-copy", receipt_document(&klarna, header("Simulated Store", "SIM01"), true)),
        (
            "card-offline-de",
            receipt_document(&card_offline, with_address("Stadtbäckerei Müller am Marktplatz", "T-07"), false),
        ),
        ("card-pl", receipt_document(&polish, header("Sklep Przykładowy", "KASA-2"), false)),
        ("return", return_document(&ret, header("Simulated Store", "SIM01"))),
        ("qr-slip", qr_slip_document(&klarna, "Simulated Store").unwrap()),
        ("card-declined", declined_document(&declined, header("Simulated Store", "SIM01"))),
        (
            "card-merchant-copy",
            marked(receipt_document(&polish, header("Simulated Store", "SIM01"), false), CopyFor::Merchant, "pl-PL"),
        ),
    ]
}

#[test]
fn receipts_match_their_golden_texts_at_32_42_and_48_columns_and_fit_the_paper() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/receipts");
    let update = std::env::var_os("POSAGENT_UPDATE_GOLDEN").is_some();
    let mut failures = vec![];
    for (name, doc) in documents() {
        for columns in [32, 42, 48] {
            let (text, overflowing) = paper(&doc, columns);
            // Every character printed as itself or its ASCII stand-in: never a `?`.
            if text.contains('?') {
                failures.push(format!("{name} at {columns} columns prints a '?':\n{text}"));
            }
            if !overflowing.is_empty() {
                failures.push(format!("{name} at {columns} columns: wider than the paper: {overflowing:?}"));
            }
            let path = dir.join(format!("{name}-{columns}.txt"));
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(want) if want == text => {}
                Ok(want) => {
                    failures.push(format!("{name} at {columns} columns differs:\n--- golden\n{want}\n--- now\n{text}"))
                }
                Err(_) => failures.push(format!("{} is missing; run with POSAGENT_UPDATE_GOLDEN=1", path.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
