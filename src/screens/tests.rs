//! Screen tests: every QR decodes at every supported size, and screens differ.

use super::*;

fn decode(frame: &Frame) -> Vec<String> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma = frame.luma();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, c)| c)).collect()
}

fn qr_screen(url: &str) -> Screen {
    Screen::Qr {
        amount: "1 234,50 kr".into(),
        header: "Betala med Klarna".into(),
        subheader: "Betala direkt, senare eller dela upp.".into(),
        instruction: "Skanna för att betala med Klarna".into(),
        offer: Some("Dela upp i 3 räntefria delbetalningar: 411,50 kr + 2 × 411,50 kr".into()),
        url: url.into(),
        minutes_left: 10,
        locale: "sv-SE".into(),
    }
}

#[test]
fn qr_decodes_at_every_size_and_orientation() {
    let url = "http://127.0.0.1:45678/pay/krn:payment:eu1:request:00000001-0000-4000-8000-000000001eef";
    for (w, h) in [(240, 320), (320, 240), (480, 272), (800, 480), (480, 800), (1280, 800)] {
        let f = render(&qr_screen(url), w, h);
        assert_eq!(decode(&f), vec![url.to_string()], "{w}x{h}");
    }
}

#[test]
fn every_screen_renders_at_the_extremes_and_differs() {
    let l = "pl-PL".to_string();
    let screens = [
        Screen::Idle { store_name: "Sklep".into(), klarna_header: Some("Zapłać z Klarna".into()), locale: l.clone() },
        qr_screen("https://x.test/p/1"),
        Screen::InProgress { amount: "12,50 zł".into(), header: "Zapłać z Klarna".into(), locale: l.clone() },
        Screen::Approved { amount: "12,50 zł".into(), locale: l.clone() },
        Screen::Declined { amount: "12,50 zł".into(), locale: l.clone() },
        Screen::Canceled { locale: l.clone() },
        Screen::Unavailable { locale: l.clone() },
        Screen::Error { reference: "T1-0001".into(), locale: l },
    ];
    for (w, h) in [(240, 320), (1280, 800)] {
        let frames: Vec<Frame> = screens.iter().map(|s| render(s, w, h)).collect();
        for (i, a) in frames.iter().enumerate() {
            assert_eq!((a.width(), a.height()), (w, h));
            for b in &frames[i + 1..] {
                assert_ne!(a, b, "two screens look the same at {w}x{h}");
            }
        }
    }
}
