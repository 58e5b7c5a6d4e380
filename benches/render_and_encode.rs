//! CPU cost of the hot paths: drawing the QR screen (QR encode + text from the glyph cache) at
//! two display sizes, and encoding a 30-line receipt with a QR code to ESC/POS (also built
//! and encoded per iteration, the figure compared with `benches/escpos_python.py`).
//! `cargo bench --bench render_and_encode`; figures in docs/performance.md.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use posagent::screens::{Screen, render};
use posagent_drivers::printer::{Block, Document, PrinterProfile, encode_document};
use std::hint::black_box;

fn qr_screen() -> Screen {
    Screen::Qr {
        amount: "1 234,50 kr".into(),
        header: "Betala med Klarna".into(),
        subheader: "Betala direkt, senare eller dela upp.".into(),
        instruction: "Skanna koden med mobilens kamera".into(),
        offer: Some("Dela upp i 3 betalningar à 411,50 kr".into()),
        url: "https://acquirer.example/pay/krn:payment:eu1:request:00000001-0000-4000-8000-000000001eef".into(),
        badge: None,
        seconds_left: 900,
        payment_request_id: Some("krn:payment:eu1:request:00000001-0000-4000-8000-000000001eef".into()),
        locale: "sv-SE".into(),
    }
}

fn receipt() -> Document {
    let mut d = Document::default();
    d.line("Simulated Store");
    for i in 0..30 {
        d.columns(format!("Artikel nummer {i} med ett långt namn"), "1 234,50 kr", false);
    }
    d.columns("Totalt", "37 035,00 kr", true);
    d.push(Block::Qr { data: "SIM01-7C957F99FE0E".into(), module_dots: 6 });
    d.push(Block::Cut);
    d
}

fn benches(c: &mut Criterion) {
    let screen = qr_screen();
    for (w, h) in [(480, 272), (800, 480)] {
        c.bench_function(&format!("qr_screen_{w}x{h}"), |b| b.iter(|| render(black_box(&screen), w, h)));
    }
    let doc = receipt();
    let native = PrinterProfile::default();
    let raster = PrinterProfile { native_qr: false, ..PrinterProfile::default() };
    c.bench_function("receipt_30_lines_native_qr", |b| b.iter(|| encode_document(black_box(&doc), &native)));
    c.bench_function("receipt_30_lines_raster_qr", |b| b.iter(|| encode_document(black_box(&doc), &raster)));
    // Built and encoded per iteration, like benches/escpos_python.py does with python-escpos.
    c.bench_function("receipt_build_and_encode_native_qr", |b| {
        b.iter(|| encode_document(black_box(&receipt()), &native))
    });
}

criterion_group!(render_and_encode, benches);
criterion_main!(render_and_encode);
