//! A profile's sections checked and turned into what the daemon uses: the display (its
//! driver, size or line layout), the printer (its capabilities from the ESC/POS
//! database or the profile, code pages, cash drawer) and the card reader.

use super::{
    CardReaderProfile, DisplayDriver, DisplayProfile, PrinterProfileConfig, RawCardReader, RawDisplay, RawPrinter,
    device_endpoint, firmware_list,
};
use crate::config::{ConfigError, Endpoint, invalid};
use posagent_drivers::printer::{Capabilities, CodePage, DrawerPin};
use std::path::Path;

/// A code page by name, or the error naming `key` and the supported pages.
fn code_page(path: &Path, key: &str, name: &str) -> Result<CodePage, ConfigError> {
    CodePage::parse(name).ok_or_else(|| {
        invalid(path, key, format!("`{name}` is not supported; use \"pc858\", \"pc852\", \"wpc1252\" or \"wpc1250\""))
    })
}

/// `[display]`.
pub(super) fn display(d: &RawDisplay, path: &Path) -> Result<DisplayProfile, ConfigError> {
    let endpoint = device_endpoint(path, "display", &d.endpoint)?;
    let graphic_size = || match (d.width, d.height) {
        (Some(w), Some(h)) if (240..=1280).contains(&w) && (240..=1280).contains(&h) => Ok((w, h)),
        _ => Err(invalid(path, "display", "width and height must be 240 to 1280 pixels")),
    };
    let line_only = d.columns.is_some() || d.rows.is_some() || d.code_page.is_some() || d.select_code_page;
    let (driver, (width, height)) = match (d.driver.as_str(), &endpoint) {
        (_, _) if line_only && d.driver != "cd5220" => {
            return Err(invalid(path, "display", "columns, rows and code_page are for line displays (cd5220)"));
        }
        ("panel", _) => (DisplayDriver::Panel, graphic_size()?),
        ("framebuffer", Endpoint::File(dev)) => {
            let name = std::path::Path::new(dev).file_name().and_then(|n| n.to_str()).unwrap_or("fb0");
            let sysfs = d.sysfs.clone().unwrap_or_else(|| format!("/sys/class/graphics/{name}"));
            (DisplayDriver::Framebuffer { sysfs: sysfs.into() }, graphic_size()?)
        }
        ("framebuffer", _) => {
            return Err(invalid(path, "display.endpoint", "a framebuffer is a device node: write file:/dev/fb0"));
        }
        ("cd5220", _) => line_display(d, path)?,
        (other, _) => {
            return Err(invalid(
                path,
                "display.driver",
                format!("`{other}` is not a display driver; use \"panel\", \"framebuffer\" or \"cd5220\""),
            ));
        }
    };
    if !d.firmware.is_empty() && driver != DisplayDriver::Panel {
        return Err(invalid(path, "display.firmware", "only a panel tells its firmware version; remove the list"));
    }
    let firmware = firmware_list(path, "display.firmware", &d.firmware)?;
    Ok(DisplayProfile { driver, endpoint, width, height, firmware })
}

/// A `cd5220` line display: its columns, rows and code page (its size in characters).
fn line_display(d: &RawDisplay, path: &Path) -> Result<(DisplayDriver, (u32, u32)), ConfigError> {
    if d.width.is_some() || d.height.is_some() || d.sysfs.is_some() {
        return Err(invalid(path, "display", "a line display has columns and rows, not width and height"));
    }
    let (columns, rows) = (d.columns.unwrap_or(20), d.rows.unwrap_or(2));
    if !(16..=40).contains(&columns) || rows != 2 {
        return Err(invalid(path, "display", "a line display has 16 to 40 columns and 2 rows"));
    }
    let page = d.code_page.as_deref().map(|n| code_page(path, "display.code_page", n)).transpose()?;
    let spec = posagent_drivers::display::LineDisplaySpec {
        columns,
        rows,
        code_page: page.unwrap_or(CodePage::Pc858),
        select_code_page: d.select_code_page,
    };
    Ok((DisplayDriver::Line(spec), (u32::from(columns), u32::from(rows))))
}

/// `[printer]`.
pub(super) fn printer(p: &RawPrinter, path: &Path) -> Result<PrinterProfileConfig, ConfigError> {
    if p.driver != "escpos" {
        return Err(invalid(path, "printer.driver", format!("`{}` is not a printer driver; use \"escpos\"", p.driver)));
    }
    let caps = p.model.as_deref().map(|m| printer_model(path, m)).transpose()?;
    let from_db = |what: &str| invalid(path, what, "give it, or a printer.model the database knows it for");
    let columns = p.columns.or(caps.as_ref().and_then(|c| c.columns)).ok_or_else(|| from_db("printer.columns"))?;
    let width_dots =
        p.width_dots.or(caps.as_ref().and_then(|c| c.width_dots)).ok_or_else(|| from_db("printer.width_dots"))?;
    let native_qr = p.native_qr.or(caps.as_ref().map(|c| c.native_qr)).ok_or_else(|| from_db("printer.native_qr"))?;
    if !(24..=64).contains(&columns) {
        return Err(invalid(path, "printer.columns", "must be 24 to 64"));
    }
    if !(256..=832).contains(&width_dots) {
        return Err(invalid(path, "printer.width_dots", "must be 256 to 832"));
    }
    let page = code_page(path, "printer.code_page", &p.code_page)?;
    let extra_code_page =
        p.extra_code_page.as_deref().map(|n| code_page(path, "printer.extra_code_page", n)).transpose()?;
    if let Some(c) = &caps {
        for (key, pg) in [("printer.code_page", Some(page)), ("printer.extra_code_page", extra_code_page)] {
            if let Some(pg) = pg.filter(|pg| !c.tables.iter().any(|(q, _)| q == pg)) {
                return Err(invalid(path, key, format!("the {} has no {pg:?} table", c.model)));
            }
        }
    }
    let cash_drawer = cash_drawer(path, p.cash_drawer.as_deref(), caps.as_ref())?;
    Ok(PrinterProfileConfig {
        endpoint: Endpoint::parse(&p.endpoint).map_err(|m| invalid(path, "printer.endpoint", m))?,
        profile: posagent_drivers::printer::PrinterProfile {
            columns,
            width_dots,
            native_qr,
            code_page: page,
            extra_code_page,
            tables: caps.as_ref().map(|c| c.tables.clone()).unwrap_or_default(),
        },
        reads_status: p.reads_status,
        cash_drawer,
        firmware: firmware_list(path, "printer.firmware", &p.firmware)?,
    })
}

/// A printer model from the ESC/POS database, or the error naming the nearest ones.
fn printer_model(path: &Path, m: &str) -> Result<Capabilities, ConfigError> {
    posagent_drivers::printer::lookup_model(m).ok_or_else(|| {
        let near: Vec<&str> = posagent_drivers::printer::known_models()
            .into_iter()
            .filter(|k| k.to_ascii_lowercase().contains(&m.to_ascii_lowercase().replace(' ', "-")))
            .collect();
        let hint = if near.is_empty() { "see `posagent devices --models`".to_string() } else { near.join(", ") };
        invalid(path, "printer.model", format!("`{m}` is not in the ESC/POS printer database ({hint})"))
    })
}

/// The cash drawer's pin, refused on a model without a drawer-kick connector.
fn cash_drawer(path: &Path, pin: Option<&str>, caps: Option<&Capabilities>) -> Result<Option<DrawerPin>, ConfigError> {
    let pin = match pin {
        None => return Ok(None),
        Some("pin2") => DrawerPin::Pin2,
        Some("pin5") => DrawerPin::Pin5,
        Some(other) => {
            return Err(invalid(path, "printer.cash_drawer", format!("`{other}`: use \"pin2\" or \"pin5\"")));
        }
    };
    if let Some(c) = caps.filter(|c| !c.drawer_kick) {
        return Err(invalid(path, "printer.cash_drawer", format!("the {} has no drawer-kick connector", c.model)));
    }
    Ok(Some(pin))
}

/// `[card_reader]`, if the model has one.
pub(super) fn card_reader(c: Option<&RawCardReader>, path: &Path) -> Result<Option<CardReaderProfile>, ConfigError> {
    match c {
        None => Ok(None),
        Some(c) if c.driver == "framed-serial" => Ok(Some(CardReaderProfile {
            endpoint: device_endpoint(path, "card_reader", &c.endpoint)?,
            firmware: firmware_list(path, "card_reader.firmware", &c.firmware)?,
        })),
        Some(c) => Err(invalid(
            path,
            "card_reader.driver",
            format!("`{}` is not a card reader driver; use \"framed-serial\"", c.driver),
        )),
    }
}
