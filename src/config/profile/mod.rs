//! Device profiles of terminal models (`firmware-config/*.toml`): which devices, which
//! driver, which port, which size.

use super::udev::{DeviceUsbIds, device_usb_id};
use super::{ConfigError, invalid, read_toml};
use serde::Deserialize;
use std::path::Path;

/// Where a device is attached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Endpoint {
    /// A serial port and its baud rate.
    Serial {
        /// e.g. `/dev/ttyUSB0`.
        path: String,
        /// e.g. 115200.
        baud: u32,
    },
    /// A TCP address, e.g. a network printer on port 9100.
    Tcp(String),
    /// A device node such as `/dev/usb/lp0`.
    File(String),
    /// A network printer whose address the store config gives (`printer_endpoint`): a
    /// profile guesses no LAN address. Written `network` in a profile.
    Network,
    /// A USB device's bulk endpoints, found by vendor and product id (and serial number).
    Usb {
        /// Vendor id.
        vid: u16,
        /// Product id.
        pid: u16,
        /// Serial number, when several of one model are attached.
        serial: Option<String>,
    },
}

impl Endpoint {
    /// Parses `serial:PATH@BAUD`, `tcp:HOST:PORT`, `file:PATH`, `usb:VVVV:PPPP[/SERIAL]` or
    /// `network` (the address left to the store config).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "network" {
            Ok(Endpoint::Network)
        } else if let Some(rest) = s.strip_prefix("serial:") {
            let (path, baud) = rest.rsplit_once('@').ok_or("write serial:/dev/ttyUSB0@115200")?;
            let baud = baud.parse().map_err(|_| format!("`{baud}` is not a baud rate"))?;
            Ok(Endpoint::Serial { path: path.to_string(), baud })
        } else if let Some(addr) = s.strip_prefix("tcp:") {
            if addr.rsplit_once(':').is_none_or(|(_, p)| p.parse::<u16>().is_err()) {
                return Err(format!("`{addr}` is not host:port"));
            }
            Ok(Endpoint::Tcp(addr.to_string()))
        } else if let Some(path) = s.strip_prefix("file:") {
            Ok(Endpoint::File(path.to_string()))
        } else if let Some(rest) = s.strip_prefix("usb:") {
            let (ids, serial) = match rest.split_once('/') {
                Some((ids, serial)) if !serial.is_empty() => (ids, Some(serial.to_string())),
                Some(_) => return Err("write usb:04b8:0e28/SERIAL or leave the serial out".into()),
                None => (rest, None),
            };
            let (vid, pid) =
                parse_usb_id(ids).ok_or_else(|| format!("`{ids}` is not vendor:product like 04b8:0e28"))?;
            Ok(Endpoint::Usb { vid, pid, serial })
        } else {
            Err(format!("`{s}` must start with serial:, tcp:, file: or usb:, or be \"network\""))
        }
    }
}

impl TryFrom<String> for Endpoint {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Endpoint::parse(&s)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Serial { path, baud } => write!(f, "serial:{path}@{baud}"),
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
            Endpoint::File(p) => write!(f, "file:{p}"),
            Endpoint::Network => f.write_str("network (address not set: printer_endpoint)"),
            Endpoint::Usb { vid, pid, serial } => {
                f.write_str(&posagent_drivers::transport::describe_usb(*vid, *pid, serial.as_deref()))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    model: String,
    description: String,
    display: RawDisplay,
    printer: RawPrinter,
    #[serde(default)]
    card_reader: Option<RawCardReader>,
    #[serde(default)]
    usb_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCardReader {
    driver: String,
    endpoint: String,
    /// USB vendor:product id of the reader (or its USB-serial bridge).
    #[serde(default)]
    usb_id: Option<String>,
    /// Firmware versions this profile was validated with.
    #[serde(default)]
    firmware: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisplay {
    driver: String,
    endpoint: String,
    /// USB vendor:product id of the display (or its USB-serial bridge).
    #[serde(default)]
    usb_id: Option<String>,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    #[serde(default)]
    sysfs: Option<String>,
    /// Line displays: characters per line and lines.
    #[serde(default)]
    columns: Option<u8>,
    #[serde(default)]
    rows: Option<u8>,
    /// Line displays: character table, and whether to select it with `ESC t n`.
    #[serde(default)]
    code_page: Option<String>,
    #[serde(default)]
    select_code_page: bool,
    /// Panels: firmware versions this profile was validated with.
    #[serde(default)]
    firmware: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrinter {
    driver: String,
    endpoint: String,
    /// USB vendor:product id of the printer (with a `file:` endpoint; a `usb:` one has it).
    #[serde(default)]
    usb_id: Option<String>,
    /// A model of the ESC/POS printer database (`TM-T88V`): columns, width, QR support
    /// and table numbers come from it unless given here.
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    columns: Option<usize>,
    #[serde(default)]
    width_dots: Option<u16>,
    #[serde(default)]
    native_qr: Option<bool>,
    code_page: String,
    /// A second character table for lines the first cannot print (e.g. "pc852").
    #[serde(default)]
    extra_code_page: Option<String>,
    #[serde(default = "yes")]
    reads_status: bool,
    /// `"pin2"` or `"pin5"`: a cash drawer on the printer's drawer-kick connector.
    #[serde(default)]
    cash_drawer: Option<String>,
    /// Firmware versions this profile was validated with.
    #[serde(default)]
    firmware: Vec<String>,
}

fn yes() -> bool {
    true
}

/// How the customer display is driven.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisplayDriver {
    /// posagent's serial panel protocol (`docs/protocols.md`).
    Panel,
    /// A Linux framebuffer device, described by its sysfs folder.
    Framebuffer {
        /// e.g. `/sys/class/graphics/fb0`.
        sysfs: std::path::PathBuf,
    },
    /// A 2×20 character line display (CD5220 commands); the Klarna QR code is printed
    /// on a slip instead.
    Line(posagent_drivers::display::LineDisplaySpec),
}

/// The customer display of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayProfile {
    /// Driver.
    pub driver: DisplayDriver,
    /// Where it is attached.
    pub endpoint: Endpoint,
    /// Width in pixels (characters for a line display).
    pub width: u32,
    /// Height in pixels (lines for a line display).
    pub height: u32,
    /// Firmware versions the profile was validated with (a panel tells its version;
    /// framebuffers and line displays cannot, so they list none).
    pub firmware: Vec<String>,
}

impl DisplayProfile {
    /// Whether the display can show graphics (a QR code); else the QR code is printed.
    pub fn is_graphic(&self) -> bool {
        !matches!(self.driver, DisplayDriver::Line(_))
    }
}

/// The receipt printer of a model (ESC/POS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterProfileConfig {
    /// Where it is attached.
    pub endpoint: Endpoint,
    /// Encoder settings.
    pub profile: posagent_drivers::printer::PrinterProfile,
    /// Whether the link gives status back (false for write-only device nodes).
    pub reads_status: bool,
    /// The drawer-kick pin of a cash drawer wired to the printer, if there is one.
    pub cash_drawer: Option<posagent_drivers::printer::DrawerPin>,
    /// Firmware versions the profile was validated with (empty: not checked).
    pub firmware: Vec<String>,
}

/// The secure card reader of a model (`docs/card-reader-protocol.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardReaderProfile {
    /// Where it is attached.
    pub endpoint: Endpoint,
    /// Firmware versions the profile was validated with (empty: not checked).
    pub firmware: Vec<String>,
}

/// A validated device profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProfile {
    /// Model name.
    pub model: String,
    /// What the model is.
    pub description: String,
    /// Customer display.
    pub display: DisplayProfile,
    /// Receipt printer.
    pub printer: PrinterProfileConfig,
    /// Secure card reader, if the model has one (else card payments are not offered).
    pub card_reader: Option<CardReaderProfile>,
    /// USB vendor:product ids of this model's devices (each device's, then the profile's
    /// own `usb_ids`); `posagent devices` names the profile whose ids it sees.
    pub usb_ids: Vec<(u16, u16)>,
    /// Each device's USB id, from which the udev rules are made (`posagent udev-rules`).
    pub usb: DeviceUsbIds,
}

/// The endpoint of a display or card reader: any but `network`, which only a printer
/// may leave to the store config.
fn device_endpoint(path: &Path, role: &str, text: &str) -> Result<Endpoint, ConfigError> {
    let key = format!("{role}.endpoint");
    match Endpoint::parse(text).map_err(|m| invalid(path, &key, m))? {
        Endpoint::Network => Err(invalid(path, &key, "only a printer may be \"network\"; give the device's endpoint")),
        e => Ok(e),
    }
}

/// Validated firmware versions: 1 to 32 printable ASCII characters each.
fn firmware_list(path: &Path, key: &str, list: &[String]) -> Result<Vec<String>, ConfigError> {
    for v in list {
        if v.is_empty() || v.len() > 32 || !v.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(invalid(path, key, format!("`{v}` is not a firmware version (1-32 printable characters)")));
        }
    }
    Ok(list.to_vec())
}

/// Parses `vvvv:pppp` (hexadecimal).
pub fn parse_usb_id(s: &str) -> Option<(u16, u16)> {
    let (v, p) = s.split_once(':')?;
    if v.len() != 4 || p.len() != 4 {
        return None;
    }
    Some((u16::from_str_radix(v, 16).ok()?, u16::from_str_radix(p, 16).ok()?))
}

mod validate;

impl DeviceProfile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::validate(read_toml(path)?, path)
    }

    /// Parses and validates profile text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        Self::validate(raw, path)
    }

    fn validate(raw: RawProfile, path: &Path) -> Result<Self, ConfigError> {
        let display = validate::display(&raw.display, path)?;
        let printer = validate::printer(&raw.printer, path)?;
        let card_reader = validate::card_reader(raw.card_reader.as_ref(), path)?;
        let usb = DeviceUsbIds {
            display: device_usb_id(path, "display", raw.display.usb_id.as_deref(), &display.endpoint)?,
            printer: device_usb_id(path, "printer", raw.printer.usb_id.as_deref(), &printer.endpoint)?,
            card_reader: match (&raw.card_reader, &card_reader) {
                (Some(raw), Some(c)) => device_usb_id(path, "card_reader", raw.usb_id.as_deref(), &c.endpoint)?,
                _ => None,
            },
        };
        let usb_ids = usb.with_others(path, &raw.usb_ids)?;
        Ok(DeviceProfile {
            usb_ids,
            usb,
            card_reader,
            model: raw.model,
            description: raw.description,
            display,
            printer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posagent_drivers::printer::CodePage;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            Endpoint::parse("serial:/dev/ttyUSB0@115200"),
            Ok(Endpoint::Serial { path: "/dev/ttyUSB0".into(), baud: 115200 })
        );
        assert_eq!(Endpoint::parse("tcp:10.0.0.5:9100"), Ok(Endpoint::Tcp("10.0.0.5:9100".into())));
        assert_eq!(Endpoint::parse("file:/dev/usb/lp0"), Ok(Endpoint::File("/dev/usb/lp0".into())));
        assert_eq!(Endpoint::parse("usb:04b8:0e28"), Ok(Endpoint::Usb { vid: 0x04b8, pid: 0x0e28, serial: None }));
        let with_serial = Endpoint::parse("usb:04B8:0E28/X4FG012345");
        assert_eq!(with_serial, Ok(Endpoint::Usb { vid: 0x04b8, pid: 0x0e28, serial: Some("X4FG012345".into()) }));
        assert_eq!(with_serial.map(|e| e.to_string()), Ok("usb:04b8:0e28/X4FG012345".to_string()));
        assert!(Endpoint::parse("usb:04b8").is_err());
        assert!(Endpoint::parse("usb:04b8:0e28/").is_err());
        assert!(Endpoint::parse("tcp:host").is_err());
        assert!(Endpoint::parse("serial:/dev/ttyS0").is_err());
    }

    #[test]
    fn every_shipped_profile_is_valid() -> Result<(), ConfigError> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-config");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).map_err(|source| ConfigError::Read { path: dir.clone(), source })? {
            let path = entry.map_err(|source| ConfigError::Read { path: dir.clone(), source })?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                DeviceProfile::load(&path)?;
                n += 1;
            }
        }
        assert!(n >= 4, "profiles found: {n}");
        Ok(())
    }

    fn with_display(display: &str) -> String {
        format!(
            "model = \"m\"\ndescription = \"d\"\n[display]\n{display}\n[printer]\ndriver = \"escpos\"\n\
             endpoint = \"tcp:10.0.0.5:9100\"\ncolumns = 48\nwidth_dots = 576\nnative_qr = true\ncode_page = \"pc858\"\n"
        )
    }

    #[test]
    fn a_printer_model_from_the_database_fills_in_what_the_profile_leaves_out() {
        let text = |printer: &str| {
            format!(
                "model = \"m\"\ndescription = \"d\"\n[display]\ndriver = \"panel\"\nendpoint = \"tcp:10.0.0.6:7000\"\n\
                 width = 800\nheight = 480\n[printer]\ndriver = \"escpos\"\nendpoint = \"tcp:10.0.0.5:9100\"\n{printer}\n"
            )
        };
        let parse = |p: &str| DeviceProfile::parse(&text(p), Path::new("t.toml"));
        let p = parse("model = \"TM-T88V\"\ncode_page = \"pc858\"\nextra_code_page = \"pc852\"");
        let p = p.map(|p| p.printer.profile);
        assert!(
            matches!(&p, Ok(pp) if pp.columns == 42 && pp.width_dots == 512 && pp.native_qr && pp.table_of(CodePage::Pc852) == 18),
            "{p:?}"
        );
        // Given keys win over the database.
        let p = parse("model = \"TM-T88V\"\ncolumns = 48\nwidth_dots = 576\ncode_page = \"pc858\"")
            .map(|p| p.printer.profile);
        assert!(matches!(&p, Ok(pp) if pp.columns == 48 && pp.width_dots == 576), "{p:?}");
        for bad in [
            "model = \"TM-NOPE\"\ncode_page = \"pc858\"",
            "code_page = \"pc858\"",
            "columns = 48\nwidth_dots = 576\ncode_page = \"pc858\"",
        ] {
            assert!(matches!(parse(bad), Err(ConfigError::Invalid { .. })), "{bad}");
        }
    }

    #[test]
    fn a_line_display_has_columns_and_rows_and_a_panel_has_pixels() {
        let parse = |d: &str| DeviceProfile::parse(&with_display(d), Path::new("t.toml"));
        let line = parse("driver = \"cd5220\"\nendpoint = \"serial:/dev/ttyUSB1@9600\"\ncolumns = 20\nrows = 2");
        let line = line.map(|p| (p.display.is_graphic(), p.display.width, p.display.height));
        assert!(matches!(line, Ok((false, 20, 2))), "{line:?}");
        for bad in [
            "driver = \"cd5220\"\nendpoint = \"serial:/dev/ttyUSB1@9600\"\nwidth = 800\nheight = 480",
            "driver = \"cd5220\"\nendpoint = \"serial:/dev/ttyUSB1@9600\"\nrows = 4",
            "driver = \"cd5220\"\nendpoint = \"serial:/dev/ttyUSB1@9600\"\ncode_page = \"pc437\"",
            "driver = \"panel\"\nendpoint = \"tcp:10.0.0.6:7000\"\ncolumns = 20",
            "driver = \"panel\"\nendpoint = \"tcp:10.0.0.6:7000\"",
            "driver = \"cd5220\"\nendpoint = \"serial:/dev/ttyUSB1@9600\"\nblink = true",
            // Only a panel tells its firmware; a version must be printable.
            "driver = \"cd5220\"\nendpoint = \"serial:/dev/ttyUSB1@9600\"\nfirmware = [\"1.0\"]",
            "driver = \"panel\"\nendpoint = \"tcp:10.0.0.6:7000\"\nwidth = 800\nheight = 480\nfirmware = [\"\"]",
        ] {
            assert!(matches!(parse(bad), Err(ConfigError::Invalid { .. } | ConfigError::Parse { .. })), "{bad}");
        }
        let panel = parse("driver = \"panel\"\nendpoint = \"tcp:10.0.0.6:7000\"\nwidth = 800\nheight = 480");
        assert!(panel.is_ok_and(|p| p.display.is_graphic()));
        let told = parse(
            "driver = \"panel\"\nendpoint = \"tcp:10.0.0.6:7000\"\nwidth = 800\nheight = 480\nfirmware = [\"PNL 1.2\"]",
        );
        assert!(told.is_ok_and(|p| p.display.firmware == ["PNL 1.2"]));
    }
}
