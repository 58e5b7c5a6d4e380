//! CPU cost of the hot paths: drawing the QR screen (QR encode + text from the glyph cache) at
//! two display sizes, the panel message that takes it there from the canceled screen
//! (changed rectangle, pixels, PackBits or plain, CRC; and the panel's unpacking), and encoding a 30-line receipt with a QR code to ESC/POS (also built
//! and encoded per iteration, the figure compared with `benches/escpos_python.py`).
//! `cargo bench --bench render_and_encode`; figures in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use posagent::screens::{Screen, render};
use posagent_drivers::display::{PanelFormat, PanelMessage, decode_host_message, encode_blit, encode_blit_packed};
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
        // A new payment request each time: its QR code encoded (the mask chosen) too.
        let mut n = 0u32;
        c.bench_function(&format!("qr_screen_{w}x{h}"), |b| {
            b.iter(|| {
                n += 1;
                let mut s = screen.clone();
                if let Screen::Qr { url, .. } = &mut s {
                    url.truncate(url.len() - 8);
                    url.push_str(&format!("{n:08x}"));
                }
                render(black_box(&s), w, h)
            })
        });
        // The countdown's redraw: the same code, kept from the last draw.
        c.bench_function(&format!("qr_screen_{w}x{h}_redraw"), |b| b.iter(|| render(black_box(&screen), w, h)));
    }
    panel_messages(c);
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

/// The QR screen's message to an 800×480 RGB565 panel that showed the canceled screen.
fn panel_messages(c: &mut Criterion) {
    let before = render(&Screen::Canceled { locale: "sv-SE".into() }, 800, 480);
    let after = render(&qr_screen(), 800, 480);
    let packed_for = |f: &posagent_drivers::display::Frame| {
        let region = f.changed_region(Some(&before)).unwrap_or(posagent_drivers::display::Region {
            x: 0,
            y: 0,
            width: 800,
            height: 480,
        });
        encode_blit_packed(f, region, PanelFormat::Rgb565)
    };
    c.bench_function("panel_qr_frame_800x480_packbits", |b| b.iter(|| packed_for(black_box(&after))));
    c.bench_function("panel_qr_frame_800x480_plain", |b| {
        b.iter(|| {
            let region = black_box(&after).changed_region(Some(&before)).unwrap();
            encode_blit(&after, region, PanelFormat::Rgb565)
        })
    });
    let msg = packed_for(&after);
    println!("panel_qr_frame_800x480: PackBits message {} bytes", msg.len());
    c.bench_function("panel_qr_frame_800x480_unpack", |b| {
        b.iter(|| match decode_host_message(black_box(&msg)) {
            Ok(Some((PanelMessage::BlitPacked { region, packed }, _))) => {
                posagent_drivers::display::unpack_blit(region, &packed, PanelFormat::Rgb565).map(|p| p.len()).ok()
            }
            _ => None,
        })
    });
}

criterion_group!(render_and_encode, benches);
criterion_main!(render_and_encode);
