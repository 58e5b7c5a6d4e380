//! Printer models from the ESC/POS printer database (receipt-print-hq's escpos-printer-db,
//! through the `escpos-db` crate): characters per line, printable width, native QR codes,
//! the drawer-kick pulse, and the `ESC t` number each of our code pages has on that model
//! (they differ: PC858 is table 19 on Epson TM printers and 14 or 31 on others).

use super::codepage::CodePage;

/// What the database says about a printer model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The model's name in the database, e.g. `TM-T88V`.
    pub model: String,
    /// Its vendor.
    pub vendor: String,
    /// Characters per line in font A, if the database knows.
    pub columns: Option<usize>,
    /// Printable width in dots, if the database knows.
    pub width_dots: Option<u16>,
    /// Whether it prints QR codes itself (`GS ( k`).
    pub native_qr: bool,
    /// Whether it has the standard drawer-kick pulse (`ESC p`).
    pub drawer_kick: bool,
    /// The table number of each of our code pages the model has.
    pub tables: Vec<(CodePage, u8)>,
}

fn our_page(e: &escpos_db::Encoding) -> Option<CodePage> {
    match e {
        escpos_db::Encoding::CP858 => Some(CodePage::Pc858),
        escpos_db::Encoding::CP852 => Some(CodePage::Pc852),
        escpos_db::Encoding::CP1252 => Some(CodePage::Wpc1252),
        escpos_db::Encoding::CP1250 => Some(CodePage::Wpc1250),
        _ => None,
    }
}

/// The model named `model` (as in the database: `TM-T88V`, `TSP600`, …).
pub fn lookup(model: &str) -> Option<Capabilities> {
    let p = escpos_db::ALL_PROFILES.get(model)?;
    let mut tables: Vec<(CodePage, u8)> = vec![];
    for (n, e) in p.code_pages.iter() {
        if let Some(page) = our_page(e) {
            // The first (lowest) number of a page is the one to select.
            if !tables.iter().any(|(q, _)| *q == page) {
                tables.push((page, n));
            }
        }
    }
    Some(Capabilities {
        model: model.to_string(),
        vendor: p.vendor.to_string(),
        columns: p.fonts.get(0).map(|f| usize::from(f.columns)),
        width_dots: p.media.width.as_ref().map(|w| w.px),
        native_qr: p.features.qr_code(),
        drawer_kick: p.features.pulse_standard(),
        tables,
    })
}

/// Every model the database knows, sorted.
pub fn known_models() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = escpos_db::ALL_PROFILES.keys().copied().collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epson_tm_t88v_is_read_from_the_database() {
        let c = lookup("TM-T88V");
        assert_eq!(
            c.as_ref().map(|c| (c.vendor.as_str(), c.columns, c.width_dots)),
            Some(("Epson", Some(42), Some(512)))
        );
        let c = c.unwrap_or_else(|| unreachable!());
        assert!(c.native_qr && c.drawer_kick);
        assert!(
            c.tables.contains(&(CodePage::Pc858, 19)) && c.tables.contains(&(CodePage::Pc852, 18)),
            "{:?}",
            c.tables
        );
    }

    #[test]
    fn table_numbers_differ_between_models_and_unknown_models_are_none() {
        let numbers: std::collections::BTreeSet<u8> = known_models()
            .into_iter()
            .filter_map(lookup)
            .flat_map(|c| c.tables.into_iter().filter(|(p, _)| *p == CodePage::Pc858).map(|(_, n)| n))
            .collect();
        assert!(numbers.len() > 1, "PC858 has more than one table number across models: {numbers:?}");
        assert!(lookup("NoSuchPrinter-9000").is_none());
        assert!(known_models().len() > 20);
    }
}
