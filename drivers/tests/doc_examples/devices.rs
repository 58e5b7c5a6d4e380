//! docs/protocols.md's examples and command tables through the display and printer
//! drivers: panel messages both ways, the CD5220 line display's commands, the ESC/POS
//! commands and status replies.

use super::blocks::{Example, find, show, table, template};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use posagent_drivers::display::{
    self as display, PanelFormat, PanelMessage, Region, decode_host_message, encode_blit, encode_blit_packed,
    encode_hello, encode_hello_reply, encode_line, encode_line_init, rgb565_to_rgb888, unpack_blit,
};
use posagent_drivers::display::{LineDisplay, LineDisplaySpec};
use posagent_drivers::printer::{
    Align, Block, CodePage, Document, DrawerPin, PrinterProfile, PrinterStatus, Raster, ReceiptPrinter, TextStyle,
    encode_document, parse_status,
};
use posagent_drivers::transport::ScriptedTransport;

fn format_of(ex: &Example) -> PanelFormat {
    match ex.code("format") {
        (0, n) if n == "RGB565" => PanelFormat::Rgb565,
        (1, n) if n == "MONO" => PanelFormat::Mono,
        other => panic!("{}: format {other:?}", ex.at),
    }
}

fn u16_of(ex: &Example, key: &str) -> u16 {
    u16::try_from(ex.num(key)).unwrap()
}

fn colour(hex: &str) -> Rgb888 {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    Rgb888::new((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn panel_message(ex: &Example) {
    let (_, bytes) = ex.bytes();
    let (code, name) = ex.code("cmd");
    // Encoded from the meaning.
    let (encoded, meaning) = match (code, name.as_str()) {
        (0x01, "HELLO") => (encode_hello(), PanelMessage::Hello),
        (0x81, "HELLO_REPLY") => {
            let (w, h, format, firmware) =
                (u16_of(ex, "width"), u16_of(ex, "height"), format_of(ex), ex.get("firmware"));
            let features = ex.get("features").map_or(0, |_| ex.code("features").0);
            let msg = encode_hello_reply(w, h, format, firmware, features).unwrap();
            let firmware = firmware.map(str::to_string);
            (msg, PanelMessage::HelloReply { width: w, height: h, format, firmware, features })
        }
        (0x02, "BLIT") => blit(ex, false),
        (0x03, "BLIT_PACKBITS") => blit(ex, true),
        other => panic!("{}: no check for {other:?}", ex.at),
    };
    assert_eq!(show(&bytes), show(&encoded), "{}: the document's bytes, then the codec's", ex.at);
    // Decoded.
    let (msg, used) = decode_host_message(&bytes).unwrap().unwrap_or_else(|| panic!("{}: incomplete", ex.at));
    assert_eq!((msg, used), (meaning, bytes.len()), "{}: decoded", ex.at);
    let len = u32::from_le_bytes([bytes[3], bytes[4], bytes[5], bytes[6]]);
    assert_eq!(u64::from(len), ex.num("len"), "{}: LEN", ex.at);
    let crc = u16::from_le_bytes([bytes[bytes.len() - 2], bytes[bytes.len() - 1]]);
    assert_eq!(u64::from(crc), ex.num("crc"), "{}: CRC", ex.at);
    assert_eq!(crc, display::crc16(&bytes[2..bytes.len() - 2]), "{}: CRC over CMD LEN PAYLOAD", ex.at);
}

fn spec(ex: &Example) -> LineDisplaySpec {
    let code_page = CodePage::parse(ex.get("code_page").unwrap_or("pc858")).unwrap();
    let select_code_page = ex.get("select_code_page").is_some_and(|v| v == "true");
    LineDisplaySpec { code_page, select_code_page, ..LineDisplaySpec::default() }
}

fn line_display(ex: &Example) {
    let (_, bytes) = ex.bytes();
    let s = spec(ex);
    if ex.kind == "line-display-init" {
        let wire = ScriptedTransport::new("line display").expect_write(&bytes);
        let script = wire.script();
        LineDisplay::open(wire, s).unwrap();
        assert_eq!(show(&bytes), show(&script.written()), "{}: what the driver sends at open", ex.at);
        script.check().unwrap();
        assert_eq!(encode_line_init(&s), bytes, "{}", ex.at);
        return;
    }
    let row = u8::try_from(ex.num("row")).unwrap();
    let encoded = encode_line(&s, row - 1, ex.req("text"));
    assert_eq!(show(&bytes), show(&encoded), "{}: the document's bytes, then the codec's", ex.at);
    assert_eq!(bytes.len() as u64, ex.num("count"), "{}: length", ex.at);
    // Decoded as CD5220: ESC l x y, then the characters.
    assert_eq!(bytes[..4], [0x1B, b'l', 1, row], "{}: cursor to column 1 of row {row}", ex.at);
    let shown: String = bytes[4..].iter().map(|&b| s.code_page.decode_byte(b)).collect();
    assert_eq!(shown.trim_end(), ex.req("shown"), "{}: what the display shows", ex.at);
    assert_eq!(bytes.len() - 4, usize::from(s.columns), "{}: the whole line", ex.at);
}

fn status(ex: &Example) {
    let replies: [u8; 4] = ex.hex("printer→host").try_into().unwrap();
    // The printer answers each `DLE EOT n` with its byte.
    let asked = ex.hex("host→printer");
    let mut wire = ScriptedTransport::new("printer");
    for (request, reply) in asked.chunks(3).zip(replies) {
        wire = wire.expect_write(request).reply(&[reply]);
    }
    let script = wire.script();
    let mut printer = ReceiptPrinter::new(wire, PrinterProfile::default(), true);
    let got = printer.status().ok();
    assert_eq!(show(&asked), show(&script.written()), "{}: the status requests", ex.at);
    script.check().unwrap();
    assert_eq!(got, parse_status(replies), "{}", ex.at);
    let names = match parse_status(replies) {
        None => vec!["invalid"],
        Some(s) => conditions(s),
    };
    let names = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    assert_eq!(names, ex.req("conditions"), "{}: decoded", ex.at);
}

fn conditions(s: PrinterStatus) -> Vec<&'static str> {
    let all = [
        (s.offline, "offline"),
        (s.cover_open, "cover open"),
        (s.paper_out, "paper out"),
        (s.paper_low, "paper low"),
        (s.error, "error"),
    ];
    all.into_iter().filter(|(on, _)| *on).map(|(_, n)| n).collect()
}

/// Runs one example of docs/protocols.md.
pub fn run(ex: &Example) {
    match ex.kind.as_str() {
        "panel-message" => panel_message(ex),
        "panel-answer" => {
            let (_, bytes) = ex.bytes();
            let want = match ex.req("answer") {
                "ACK" => display::ACK,
                "NAK" => display::NAK,
                other => panic!("{}: answer {other}", ex.at),
            };
            assert_eq!(bytes, [want], "{}", ex.at);
        }
        "line-display-init" | "line-display-line" => line_display(ex),
        "escpos-status" => status(ex),
        "crc16" => {
            let crc = display::crc16(ex.req("ascii").as_bytes());
            assert_eq!(u64::from(crc), ex.num("crc"), "{}", ex.at);
        }
        other => panic!("{}: unknown kind {other}", ex.at),
    }
    ex.finish();
}

/// The examples cover the document: the panel's HELLO, HELLO reply (both forms, and with
/// features), a BLIT in each pixel format and one of the whole panel, a PackBits BLIT in
/// each pixel format, ACK and NAK; the line display's init
/// and a line; a printer status; the CRC's check value.
pub fn coverage(examples: &[Example]) {
    let has = |kind: &str, key: &str, value: &dyn Fn(&str) -> bool| {
        examples.iter().any(|ex| ex.kind == kind && ex.get(key).is_some_and(value))
    };
    let whole = examples.iter().any(|ex| {
        ex.kind == "panel-message"
            && ex.get("cmd") == Some("0x02 BLIT")
            && ex.get("x") == Some("0")
            && ex.get("y") == Some("0")
            && ex.description().contains("full-frame")
    });
    let packed =
        |key: &str| examples.iter().any(|ex| ex.get("cmd") == Some("0x03 BLIT_PACKBITS") && ex.get(key).is_some());
    let wanted: [(&str, bool); 14] = [
        ("HELLO", has("panel-message", "cmd", &|v| v == "0x01 HELLO")),
        ("HELLO reply", has("panel-message", "cmd", &|v| v == "0x81 HELLO_REPLY")),
        ("HELLO reply with firmware", has("panel-message", "firmware", &|v| !v.is_empty())),
        ("RGB565 BLIT", has("panel-message", "pixels", &|v| !v.is_empty())),
        ("1-bit BLIT", has("panel-message", "rows", &|v| !v.is_empty())),
        ("full-frame BLIT", whole),
        ("HELLO reply with features", has("panel-message", "features", &|v| !v.is_empty())),
        ("RGB565 PackBits BLIT", packed("pixels")),
        ("1-bit PackBits BLIT", packed("rows")),
        ("ACK", has("panel-answer", "answer", &|v| v == "ACK")),
        ("NAK", has("panel-answer", "answer", &|v| v == "NAK")),
        ("line display init", examples.iter().any(|ex| ex.kind == "line-display-init")),
        ("line display line", has("line-display-line", "row", &|v| !v.is_empty())),
        ("printer status", has("escpos-status", "conditions", &|v| !v.is_empty())),
    ];
    let missing: Vec<&str> = wanted.iter().filter(|(_, found)| !found).map(|(name, _)| *name).collect();
    assert!(missing.is_empty(), "docs/protocols.md has no example of: {}", missing.join(", "));
    assert!(has("crc16", "crc", &|v| !v.is_empty()), "docs/protocols.md: no CRC check value");
}

/// `(19 = PC858 …` in a meaning: the numbers and code pages it names.
fn tables_named(meaning: &str) -> Vec<(u8, CodePage)> {
    let words: Vec<&str> = meaning.split(|c: char| !c.is_ascii_alphanumeric() && c != '=').collect();
    let words: Vec<&str> = words.into_iter().filter(|w| !w.is_empty()).collect();
    words
        .windows(3)
        .filter(|w| w[1] == "=" && w[0].parse::<u8>().is_ok())
        .filter_map(|w| CodePage::parse(&w[2].to_ascii_lowercase()).map(|p| (w[0].parse().unwrap(), p)))
        .collect()
}

/// The bytes the encoder gives for a row, found where the row's template says.
fn check_row(section: &str, bytes_cell: &str, out: &[u8]) -> Vec<u8> {
    let (t, rest) = template(bytes_cell);
    let (at, params) = find(out, &t).unwrap_or_else(|| panic!("{section}: {bytes_cell} not in {}", show(out)));
    if let Some(Some(n)) = rest {
        assert!(out.len() >= at + t.len() + n, "{section}: {bytes_cell}: fewer than {n} bytes follow");
    }
    params
}

/// The CD5220 table: every row is a command the line display driver sends.
pub fn line_display_table(doc: &str) -> usize {
    let rows = table(doc, "## 2×20 line displays", "Bytes");
    let plain = LineDisplaySpec::default();
    let init = encode_line_init(&plain);
    let with_table = encode_line_init(&LineDisplaySpec { select_code_page: true, ..plain });
    let mut at_open = vec![];
    for row in &rows {
        let (cell, meaning) = (row[0].as_str(), row[1].as_str());
        let section = "2×20 line displays";
        match meaning.split(" (").next().unwrap_or(meaning).split(" —").next().unwrap_or(meaning) {
            "initialise" | "overwrite mode" | "cursor off" => {
                check_row(section, cell, &init);
                at_open.extend(template(cell).0.into_iter().flatten());
            }
            m if m.starts_with("character table `n`") => {
                let [n] = check_row(section, cell, &with_table)[..] else { panic!("{cell}") };
                assert!(find(&init, &template(cell).0).is_none(), "{cell} only with select_code_page = true");
                assert_eq!(tables_named(meaning), [(n, CodePage::Pc858)], "{meaning}");
            }
            m if m.starts_with("cursor to column 1 of row") => {
                for r in [1u8, 2] {
                    let line = encode_line(&plain, r - 1, "x");
                    assert_eq!(check_row(section, cell, &line), [r], "{cell}");
                    assert_eq!(line.len(), 4 + usize::from(plain.columns), "{cell}: the whole line");
                }
            }
            other => panic!("{section}: no check for the row `{other}`"),
        }
    }
    assert_eq!(show(&at_open), show(&init), "the first rows are the driver's initialisation, in order");
    rows.len()
}

/// The ESC/POS table: every row is a command the printer driver sends.
pub fn escpos_table(doc: &str) -> usize {
    let rows = table(doc, "## ESC/POS", "Bytes");
    let p = PrinterProfile::default();
    let doc_of = |blocks: Vec<Block>| encode_document(&Document { blocks }, &p);
    let line = |style: TextStyle, align: Align| Block::Line { text: "x".into(), style, align };
    for row in &rows {
        let (cell, meaning) = (row[0].as_str(), row[1].as_str());
        let s = "ESC/POS";
        match meaning.split(" (").next().unwrap_or(meaning) {
            "initialise" => assert_eq!(check_row(s, cell, &doc_of(vec![]))[..], [], "{cell}"),
            "code table" => {
                let named = tables_named(meaning);
                assert_eq!(named.len(), 4, "{meaning}: the four code pages");
                for (n, page) in named {
                    let profile = PrinterProfile { code_page: page, ..PrinterProfile::default() };
                    let out = encode_document(&Document::default(), &profile);
                    assert_eq!(check_row(s, cell, &out), [n], "{page:?}");
                }
            }
            "align left/centre/right" => {
                for (n, a) in [(0, Align::Left), (1, Align::Center), (2, Align::Right)] {
                    assert_eq!(check_row(s, cell, &doc_of(vec![line(TextStyle::default(), a)])), [n], "{a:?}");
                }
                assert!(meaning.contains("(0/1/2)"), "{meaning}");
            }
            "bold off/on" => {
                for bold in [false, true] {
                    let out = doc_of(vec![line(TextStyle { bold, double: false }, Align::Left)]);
                    assert_eq!(check_row(s, cell, &out), [u8::from(bold)], "bold {bold}");
                }
            }
            "character size" => {
                let out = doc_of(vec![line(TextStyle { bold: false, double: true }, Align::Left)]);
                assert_eq!(check_row(s, cell, &out), [0x11], "{cell}");
                assert!(meaning.contains("0x11 = double width and height"), "{meaning}");
            }
            "feed n lines" => assert_eq!(check_row(s, cell, &doc_of(vec![Block::Feed(3)])), [3], "{cell}"),
            "QR code: model 2" => {
                let out = doc_of(vec![Block::Qr { data: "AB".into(), module_dots: 6 }]);
                check_row(s, cell, &out);
                // Every `GS ( k` function sent, named by its Epson number (fn 1xx = 100 + fn byte).
                let sent: Vec<u16> =
                    out.windows(7).filter(|w| w[..3] == [0x1D, 0x28, 0x6B]).map(|w| 100 + u16::from(w[6])).collect();
                let named: Vec<u16> = meaning.split("fn ").skip(1).filter_map(|f| f.get(..3)?.parse().ok()).collect();
                assert_eq!(named, sent, "{meaning}: the QR functions, in the order sent");
                assert!(
                    find(&out, &[Some(0x1D), Some(0x28), Some(0x6B), None, None, Some(0x31), Some(0x45), Some(0x31)])
                        .is_some(),
                    "error correction M"
                );
                assert!(
                    find(&out, &[Some(0x1D), Some(0x28), Some(0x6B), None, None, Some(0x31), Some(0x41), Some(0x32)])
                        .is_some(),
                    "model 2"
                );
            }
            "raster image: QR codes for printers without native QR, and the store's logo" => {
                let out = doc_of(vec![Block::Image(Raster::from_fn(10, 2, |x, _| x == 0))]);
                assert_eq!(check_row(s, cell, &out), [2, 0, 2, 0], "10×2 dots: 2 bytes a row, 2 rows");
            }
            "cash drawer kick" => {
                for (m, pin) in [(0, DrawerPin::Pin2), (1, DrawerPin::Pin5)] {
                    let wire = ScriptedTransport::new("printer").then_anything();
                    let script = wire.script();
                    ReceiptPrinter::new(wire, p.clone(), true).open_drawer(pin).unwrap();
                    let [got_m, t1, t2] = check_row(s, cell, &script.written())[..] else { panic!("{cell}") };
                    assert_eq!(got_m, m, "{pin:?}");
                    let pulse = format!("{} ms pulse, {} ms rest", u16::from(t1) * 2, u16::from(t2) * 2);
                    assert!(meaning.contains(&pulse), "{meaning}: {pulse}");
                }
                assert!(meaning.contains("m = 0 pin 2, 1 pin 5"), "{meaning}");
            }
            "feed and partial cut" => assert_eq!(check_row(s, cell, &doc_of(vec![Block::Cut]))[..], [], "{cell}"),
            "real-time status n = 1…4, read before each receipt" => {
                let mut wire = ScriptedTransport::new("printer");
                for n in 1u8..=4 {
                    wire = wire.expect_write(&[0x10, 0x04, n]).reply(&[0x12]);
                }
                let wire = wire.then_anything();
                let script = wire.script();
                ReceiptPrinter::new(wire, p.clone(), true).print(&Document::default()).unwrap();
                script.check().unwrap();
                let sent = script.written();
                for (i, n) in (1u8..=4).enumerate() {
                    assert_eq!(check_row(s, cell, &sent[i * 3..i * 3 + 3]), [n], "{cell}");
                }
                assert_eq!(sent[12..14], [0x1B, 0x40], "the status is read before the receipt");
            }
            other => panic!("{s}: no check for the row `{other}`"),
        }
    }
    assert_eq!(rows.len(), 11, "every ESC/POS row checked");
    rows.len()
}

/// The status bits table: each variable bit of each reply read as the table says.
pub fn status_bits_table(doc: &str) -> usize {
    let section = &doc[doc.find("Status replies have the fixed bit pattern").unwrap()..];
    let pattern = section.split('`').nth(1).unwrap();
    assert_eq!(pattern.len(), 8, "{pattern}");
    let rows = table(section, "Status replies", "Reply to");
    let base = pattern.chars().fold(0u8, |acc, c| acc << 1 | u8::from(c == '1'));
    let mut read_as = vec![vec![]; 4];
    for row in &rows {
        let n: usize = row[0].strip_prefix("n=").unwrap().parse().unwrap();
        let condition = row[2].split(" (").next().unwrap().to_string();
        for bit in row[1].split(", ") {
            read_as[n - 1].push((bit.parse::<u8>().unwrap(), condition.clone()));
        }
    }
    for (reply, reads) in read_as.iter().enumerate() {
        for (i, p) in pattern.chars().rev().enumerate() {
            let mut replies = [base; 4];
            replies[reply] ^= 1 << i;
            let got = parse_status(replies).map(conditions);
            let want = match p {
                'x' => Some(reads.iter().filter(|(b, _)| usize::from(*b) == i).map(|(_, c)| c.as_str()).collect()),
                _ => None,
            };
            assert_eq!(got, want, "reply to n={} bit {i} ({p} in {pattern})", reply + 1);
        }
    }
    rows.len()
}

/// A BLIT example (plain, or PackBits): encoded from the region and its pixels, the
/// pixel bytes (unpacked where packed) read back as colours or dark bits.
fn blit(ex: &Example, packed: bool) -> (Vec<u8>, PanelMessage) {
    let (x, y, w, h) = (ex.num("x") as u32, ex.num("y") as u32, ex.num("w") as u32, ex.num("h") as u32);
    let region = Region { x, y, width: w, height: h };
    let mut frame = display::Frame::new(x + w, y + h, Rgb888::BLACK);
    let (format, pixels) = if let Some(p) = ex.get("pixels") {
        let colours: Vec<Rgb888> = p.split_whitespace().map(colour).collect();
        for (i, c) in colours.iter().enumerate() {
            frame.set_pixel(x + i as u32 % w, y + i as u32 / w, *c);
        }
        (PanelFormat::Rgb565, colours)
    } else {
        let rows: Vec<&str> = ex.req("rows").split_whitespace().collect();
        for (r, row) in rows.iter().enumerate() {
            for (i, c) in row.chars().enumerate() {
                let c = if c == '#' { Rgb888::BLACK } else { Rgb888::WHITE };
                frame.set_pixel(x + i as u32, y + r as u32, c);
            }
        }
        (PanelFormat::Mono, vec![])
    };
    let msg = if packed { encode_blit_packed(&frame, region, format) } else { encode_blit(&frame, region, format) };
    let data = msg[15..msg.len() - 2].to_vec();
    let raw = if packed {
        assert_eq!(msg[2], 0x03, "{}: the codec packs this region", ex.at);
        unpack_blit(region, &data, format).unwrap()
    } else {
        data.clone()
    };
    // The meaning of the pixel bytes: RGB565 colours, or dark bits MSB first.
    if format == PanelFormat::Rgb565 {
        let back: Vec<Rgb888> = raw.chunks(2).map(|p| rgb565_to_rgb888(p[0], p[1])).collect();
        assert_eq!(back, pixels, "{}: the pixels, decoded", ex.at);
    } else {
        // Each row padded to a whole byte.
        let stride = (w as usize).div_ceil(8);
        let rows: Vec<String> = raw
            .chunks(stride)
            .map(|r| (0..w as usize).map(|i| if r[i / 8] & (0x80 >> (i % 8)) != 0 { '#' } else { '.' }).collect())
            .collect();
        assert_eq!(rows.len(), h as usize, "{}: one row of bytes per pixel row", ex.at);
        assert_eq!(rows.join(" "), ex.req("rows"), "{}: the dark bits, decoded", ex.at);
    }
    if packed {
        (msg, PanelMessage::BlitPacked { region, packed: data })
    } else {
        (msg, PanelMessage::Blit { region, pixels: data })
    }
}
