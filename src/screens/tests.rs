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
        instruction: "Skanna koden med mobilens kamera".into(),
        offer: Some("Dela upp i 3 betalningar à 411,50 kr".into()),
        url: url.into(),
        badge: None,
        seconds_left: 598,
        payment_request_id: Some("krn:payment:eu1:request:00000001-0000-4000-8000-000000001eef".into()),
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
        Screen::Idle {
            store_name: "Sklep".into(),
            klarna_acceptance: Some("Płać z Klarna".into()),
            badge: None,
            locale: l.clone(),
        },
        Screen::ChooseMethod {
            amount: "12,50 zł".into(),
            klarna: Some(KlarnaOption {
                header: "Zapłać z Klarna".into(),
                detail: "Teraz lub później".into(),
                badge: None,
            }),
            card: true,
            locale: l.clone(),
        },
        qr_screen("https://x.test/p/1"),
        Screen::InProgress { amount: "12,50 zł".into(), header: "Zapłać z Klarna".into(), locale: l.clone() },
        Screen::Preparing { amount: "12,50 zł".into(), locale: l.clone() },
        Screen::Approved { amount: "12,50 zł".into(), locale: l.clone() },
        Screen::Declined {
            amount: "12,50 zł".into(),
            reason: Some("Niewystarczające środki".into()),
            locale: l.clone(),
        },
        Screen::Canceled { locale: l.clone() },
        Screen::TimedOut { locale: l.clone() },
        Screen::Unavailable { locale: l.clone() },
        Screen::Error { reference: "T1-0001".into(), payment_request_id: None, locale: l },
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

fn all_screens() -> Vec<(&'static str, Screen)> {
    let l = "de-DE".to_string();
    vec![
        (
            "idle",
            Screen::Idle {
                store_name: "Beispiel-Laden".into(),
                klarna_acceptance: Some("Flexibel bezahlen".into()),
                badge: None,
                locale: l.clone(),
            },
        ),
        (
            "choose-method",
            Screen::ChooseMethod {
                amount: "1.234,50 €".into(),
                klarna: Some(KlarnaOption {
                    header: "Flexibel bezahlen".into(),
                    detail: "In 3 Raten à 411,50 €".into(),
                    badge: None,
                }),
                card: true,
                locale: l.clone(),
            },
        ),
        (
            "qr",
            Screen::Qr {
                amount: "1.234,50 €".into(),
                header: "Flexibel bezahlen".into(),
                subheader: "Sofort, später oder in Raten bezahlen.".into(),
                instruction: "Scannen und mit Klarna bezahlen".into(),
                offer: Some("In 3 Raten à 411,50 €".into()),
                url: "https://acquirer.example/pay/krn:payment:eu1:request:00000001".into(),
                badge: None,
                seconds_left: 598,
                payment_request_id: Some("krn:payment:eu1:request:552603c0-98c0-486e-b1a4-aa4b8e6b5c3e".into()),
                locale: l.clone(),
            },
        ),
        (
            "in-progress",
            Screen::InProgress { amount: "1.234,50 €".into(), header: "Flexibel bezahlen".into(), locale: l.clone() },
        ),
        (
            "present-card",
            Screen::PresentCard { amount: "1.234,50 €".into(), pin: false, notice: None, locale: l.clone() },
        ),
        (
            "insert-card-pin",
            Screen::PresentCard { amount: "1.234,50 €".into(), pin: true, notice: None, locale: l.clone() },
        ),
        ("preparing", Screen::Preparing { amount: "1.234,50 €".into(), locale: l.clone() }),
        ("approved", Screen::Approved { amount: "1.234,50 €".into(), locale: l.clone() }),
        (
            "declined",
            Screen::Declined {
                amount: "1.234,50 €".into(),
                reason: Some("Kontodeckung nicht ausreichend".into()),
                locale: l.clone(),
            },
        ),
        ("canceled", Screen::Canceled { locale: l.clone() }),
        ("timed-out", Screen::TimedOut { locale: l.clone() }),
        ("unavailable", Screen::Unavailable { locale: l.clone() }),
        (
            "error",
            Screen::Error {
                reference: "T01-3F2A9C1B7E44".into(),
                payment_request_id: Some("krn:payment:eu1:request:552603c0-98c0-486e-b1a4-aa4b8e6b5c3e".into()),
                locale: l,
            },
        ),
    ]
}

/// The idle, choice and QR screens with Klarna's badge (the test badge) fetched.
fn badge_screens() -> Vec<(String, Screen)> {
    let badge = Badge::decode(badge::TEST_SVG.as_bytes()).ok();
    assert!(badge.is_some(), "the test badge decodes");
    all_screens()
        .into_iter()
        .filter_map(|(name, mut screen)| {
            match &mut screen {
                Screen::Idle { badge: b, .. } | Screen::Qr { badge: b, .. } => *b = badge.clone(),
                Screen::ChooseMethod { klarna: Some(k), .. } => k.badge = badge.clone(),
                _ => return None,
            }
            Some((format!("{name}-badge"), screen))
        })
        .collect()
}

fn decode_png(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    buf.truncate(info.buffer_size());
    Some((info.width, info.height, buf))
}

/// Every screen at two sizes against the reviewed PNGs in `tests/golden/screens/`.
/// `POSAGENT_UPDATE_GOLDEN=1 cargo test golden` rewrites them (review the diff!).
#[test]
fn golden_images() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/screens");
    let update = std::env::var_os("POSAGENT_UPDATE_GOLDEN").is_some();
    let mut failures = vec![];
    // Colour at two sizes, and 1-bit (as a monochrome panel shows it) at a small size.
    for (w, h, mono) in [(800, 480, false), (240, 320, false), (320, 240, true)] {
        let screens = all_screens().into_iter().map(|(n, s)| (n.to_string(), s)).chain(badge_screens());
        for (name, screen) in screens {
            let colour = render_for(&screen, w, h, mono);
            let frame = if mono { colour.to_mono() } else { colour };
            let name = if mono { format!("{name}-mono") } else { name };
            let png = frame.to_png().unwrap_or_default();
            let path = dir.join(format!("{name}-{w}x{h}.png"));
            if update {
                std::fs::create_dir_all(&dir).ok();
                std::fs::write(&path, &png).ok();
                continue;
            }
            let Ok(expected) = std::fs::read(&path) else {
                failures.push(format!("{} is missing; run with POSAGENT_UPDATE_GOLDEN=1", path.display()));
                continue;
            };
            if decode_png(&expected) != decode_png(&png) {
                let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golden-actual");
                std::fs::create_dir_all(&out).ok();
                std::fs::write(out.join(format!("{name}-{w}x{h}.png")), &png).ok();
                failures.push(format!("{name} at {w}x{h} differs; the new rendering is in target/golden-actual/"));
            }
            if name.starts_with("qr") {
                assert_eq!(decode(&frame).len(), 1, "the QR code decodes at {w}x{h} ({name})");
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Module size in pixels of the QR code on `frame` (from the decoder's grid).
fn qr_module_px(frame: &Frame) -> Option<f64> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma = frame.luma();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let grid = img.detect_grids().into_iter().next()?;
    let b = grid.bounds;
    let (meta, _) = grid.decode().ok()?;
    let modules = 17 + 4 * meta.version.0;
    Some(f64::from(b[1].x - b[0].x) / modules as f64)
}

#[test]
fn qr_modules_are_at_least_five_pixels_on_every_shipped_panel() {
    // As long as Klarna's payment request URLs come (the simulator's, and a longer one).
    let urls = [
        "http://127.0.0.1:45678/pay/krn:payment:eu1:request:00000001-0000-4000-8000-000000001eef",
        "https://pay.klarna.com/eu/requests/krn:payment:eu1:request:6debe89e-98c0-486e-b1a4-aa4b8e6b5c3e/qr",
    ];
    // The shipped profiles' panels: compact, simulator/generic, framebuffer.
    for (w, h) in [(480, 272), (800, 480), (1024, 600)] {
        for url in urls {
            let f = render(&qr_screen(url), w, h);
            assert_eq!(decode(&f), vec![url.to_string()], "{w}x{h}");
            let px = qr_module_px(&f).unwrap_or(0.0);
            assert!(px >= 5.0, "{w}x{h}: QR modules of {px:.1} px for {url}");
        }
    }
}

#[test]
fn approved_and_declined_differ_on_a_one_bit_panel_by_their_mark() {
    let (w, h) = (320, 240);
    let approved = render(&Screen::Approved { amount: "12,50 €".into(), locale: "de-DE".into() }, w, h).to_mono();
    let declined =
        render(&Screen::Declined { amount: "12,50 €".into(), reason: None, locale: "de-DE".into() }, w, h).to_mono();
    // The mark's box sits centred under the band; a cross darkens its top-left corner, a
    // check mark (rising to the top right) leaves it light.
    let size = (w.min(h) / 6).max(16);
    let corner = |f: &Frame| {
        let top = (0..h).find(|&y| !f.is_dark(1, y)).unwrap_or(0);
        let (x0, y0) = ((w - size) / 2, top + h / 24);
        (f.is_dark(x0 + size / 8 + 1, y0 + size / 8 + 1), f.is_dark(x0 + size * 7 / 8 - 1, y0 + size / 8 + 1))
    };
    assert_eq!(corner(&declined), (true, true), "a cross");
    assert_eq!(corner(&approved), (false, true), "a check mark");
}

#[test]
fn on_a_one_bit_panel_the_badge_is_dithered_not_thresholded_away() {
    let Some((_, idle)) = badge_screens().into_iter().find(|(n, _)| n == "idle-badge") else {
        panic!("no idle screen with the badge");
    };
    let (w, h) = (320, 240);
    let dark_below_middle =
        |f: &Frame| (h / 2..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| f.is_dark(x, y)).count();
    let thresholded = render_for(&idle, w, h, false).to_mono();
    let dithered = render_for(&idle, w, h, true);
    let dithered = dithered.to_mono();
    // The pink (luma ~200) comes out as a pattern of dots: far more dark pixels than the
    // letters alone that a threshold keeps.
    assert!(dark_below_middle(&dithered) > dark_below_middle(&thresholded) * 3 / 2);
}

/// Every panel size the terminal supports, both orientations.
const SIZES: [(u32, u32); 7] = [(240, 320), (320, 240), (480, 272), (800, 480), (480, 800), (1024, 600), (1280, 800)];

#[test]
fn every_text_fits_the_frame_and_nothing_overlaps_at_every_size() {
    let screens = all_screens().into_iter().map(|(n, s)| (n.to_string(), s)).chain(badge_screens());
    let screens: Vec<(String, Screen)> = screens.collect();
    for (w, h) in SIZES {
        for mono in [false, true] {
            for (name, screen) in &screens {
                draw::DRAWN.with(|d| d.borrow_mut().clear());
                render_for(screen, w, h, mono);
                let boxes = draw::DRAWN.with(|d| d.take());
                assert!(boxes.len() >= 2, "{name} at {w}x{h} draws its texts");
                for (i, &(x, y, bw, bh)) in boxes.iter().enumerate() {
                    assert!(
                        x + bw <= w && y + bh <= h,
                        "{name} at {w}x{h} (mono {mono}): {:?} leaves the frame",
                        boxes[i]
                    );
                    for &(x2, y2, w2, h2) in &boxes[i + 1..] {
                        let apart = x + bw <= x2 || x2 + w2 <= x || y + bh <= y2 || y2 + h2 <= y;
                        assert!(apart, "{name} at {w}x{h}: {:?} overlaps {:?}", boxes[i], (x2, y2, w2, h2));
                    }
                }
            }
        }
    }
}

#[test]
fn the_payment_request_id_is_shown_whole_on_the_error_screen_at_every_size() {
    let id = "krn:payment:eu1:request:552603c0-98c0-486e-b1a4-aa4b8e6b5c3e";
    let with = Screen::Error { reference: "T1".into(), payment_request_id: Some(id.into()), locale: "en-US".into() };
    let without = Screen::Error { reference: "T1".into(), payment_request_id: None, locale: "en-US".into() };
    for (w, h) in SIZES {
        draw::DRAWN.with(|d| d.borrow_mut().clear());
        let a = render(&with, w, h);
        let lines_with = draw::DRAWN.with(|d| d.take()).len();
        let b = render(&without, w, h);
        let lines_without = draw::DRAWN.with(|d| d.take()).len();
        assert_ne!(a, b, "{w}x{h}");
        assert!(lines_with > lines_without, "{w}x{h}: the id's lines are drawn");
    }
    // On a large panel the QR screen shows it too.
    let (w, h) = (1280, 800);
    let mut qr = qr_screen("https://x.test/p/1");
    let shown = render(&qr, w, h);
    if let Screen::Qr { payment_request_id, .. } = &mut qr {
        *payment_request_id = None;
    }
    assert_ne!(shown, render(&qr, w, h));
}

#[test]
fn the_countdown_redraw_rasterizes_nothing_new() {
    let url = "https://acquirer.example/pay/krn:payment:eu1:request:00000001";
    let at = |seconds_left| {
        let mut s = qr_screen(url);
        if let Screen::Qr { seconds_left: s, .. } = &mut s {
            *s = seconds_left;
        }
        s
    };
    for (w, h) in [(480, 272), (800, 480)] {
        // The first ten seconds bring every digit.
        for s in (590..=600).rev() {
            render(&at(s), w, h);
        }
        let before = font::RASTERIZED.with(|n| n.get());
        let frame = render(&at(589), w, h);
        assert_eq!(font::RASTERIZED.with(|n| n.get()), before, "{w}x{h}: every glyph came from the cache");
        assert_ne!(frame, render(&at(600), w, h), "the countdown moved");
    }
}

/// Every character the display is given: the terminal's catalogs, the simulated Klarna
/// wording, and amounts in every currency for Klarna's markets' locales.
fn every_text_shown() -> String {
    let mut all = String::new();
    for file in [
        include_str!("../locale/catalog/en.toml"),
        include_str!("../locale/catalog/de.toml"),
        include_str!("../locale/catalog/sv.toml"),
        include_str!("../locale/catalog/fr.toml"),
        include_str!("../locale/catalog/nl.toml"),
        include_str!("../locale/catalog/es.toml"),
        include_str!("../locale/catalog/it.toml"),
        include_str!("../locale/catalog/da.toml"),
        include_str!("../locale/catalog/nb.toml"),
        include_str!("../locale/catalog/fi.toml"),
        include_str!("../locale/catalog/pl.toml"),
        include_str!("../../simulator/src/backend/descriptors.rs"),
    ] {
        all.push_str(file);
    }
    use posagent_acquirer_api::Currency;
    let codes = [
        "AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HUF", "JPY", "MXN", "NOK", "NZD", "PLN", "RON", "SEK", "USD",
    ];
    let currencies: Vec<Currency> = codes.into_iter().filter_map(|c| Currency::parse(c).ok()).collect();
    assert_eq!(currencies.len(), codes.len(), "every market's currency parses");
    let locales = [
        "en-AU", "de-AT", "nl-BE", "fr-BE", "en-CA", "fr-CA", "cs-CZ", "da-DK", "fi-FI", "fr-FR", "de-DE", "el-GR",
        "hu-HU", "en-IE", "it-IT", "es-MX", "nl-NL", "en-NZ", "nb-NO", "pl-PL", "pt-PT", "ro-RO", "es-ES", "sv-SE",
        "de-CH", "fr-CH", "it-CH", "en-GB", "en-US",
    ];
    for &c in &currencies {
        for l in locales {
            all.push_str(&crate::locale::format_amount(-123_456_789, c, l));
        }
    }
    all
}

#[test]
fn the_font_has_every_character_the_display_is_given() {
    let missing: std::collections::BTreeSet<char> =
        draw::for_font(&every_text_shown()).chars().filter(|c| !c.is_control() && !font::has_glyph(*c)).collect();
    assert!(missing.is_empty(), "not in assets/fonts/: {missing:?}");
    // Klarna's markets' own letters, beyond the catalogs: Czech, Hungarian, Romanian, Greek.
    for c in "čřůőűșțĂăÂâÎîΠληρωμή€…–—“”„‘’\u{202F}\u{A0}".chars() {
        assert!(font::has_glyph(c), "{c:?}");
    }
}
