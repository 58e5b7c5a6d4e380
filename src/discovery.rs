//! `posagent devices`: the serial ports and USB devices this machine has, and which
//! endpoints of a device profile are present.

use crate::config::{DeviceProfile, Endpoint};
use rusb::UsbContext;

/// A USB device seen on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbDevice {
    /// Vendor id.
    pub vendor_id: u16,
    /// Product id.
    pub product_id: u16,
    /// Bus number.
    pub bus: u8,
    /// Address on the bus.
    pub address: u8,
}

/// Serial ports (without libudev: from sysfs).
pub fn serial_ports() -> Vec<String> {
    posagent_drivers::transport::SerialTransport::list_ports()
}

/// USB devices, or why they cannot be listed (no USB on this machine, no permission).
pub fn usb_devices() -> Result<Vec<UsbDevice>, rusb::Error> {
    // A context of our own: the global one panics where there is no /dev/bus/usb.
    let ctx = rusb::Context::new()?;
    let mut out = vec![];
    for d in ctx.devices()?.iter() {
        if let Ok(desc) = d.device_descriptor() {
            out.push(UsbDevice {
                vendor_id: desc.vendor_id(),
                product_id: desc.product_id(),
                bus: d.bus_number(),
                address: d.address(),
            });
        }
    }
    Ok(out)
}

/// Whether an endpoint of a profile is there: a serial port or device node that exists,
/// a USB device with its ids among `usb` (unknown when USB cannot be listed), a TCP
/// endpoint (not checked here).
pub fn endpoint_present(e: &Endpoint, ports: &[String], usb: Option<&[UsbDevice]>) -> Option<bool> {
    match e {
        Endpoint::Serial { path, .. } => Some(ports.iter().any(|p| p == path) || std::path::Path::new(path).exists()),
        Endpoint::File(path) => Some(std::path::Path::new(path).exists()),
        Endpoint::Usb { vid, pid, .. } => {
            usb.map(|list| list.iter().any(|d| d.vendor_id == *vid && d.product_id == *pid))
        }
        Endpoint::Tcp(_) | Endpoint::Network => None,
    }
}

/// One line per device that can tell its firmware version (panel, printer, card reader),
/// asked over the profile's endpoints; a version the profile was not validated with is
/// flagged. Opens the devices: stop the service first.
pub fn firmware_report(profile: &DeviceProfile) -> String {
    use posagent_drivers::card_reader::CardReader;
    use posagent_drivers::display::{CustomerDisplay, PanelDisplay};
    use posagent_drivers::printer::ReceiptPrinter;
    let verdict = |version: Result<Option<String>, String>, validated: &[String]| match version {
        Err(e) => format!("cannot ask: {e}"),
        Ok(None) => "unknown (the device does not tell)".to_string(),
        Ok(Some(v)) => match crate::devices::firmware_validated(Some(&v), validated) {
            Some(true) => format!("{v} (validated)"),
            Some(false) => format!("{v} NOT VALIDATED (the profile lists: {})", validated.join(", ")),
            None => format!("{v} (the profile lists no validated versions)"),
        },
    };
    let p = &profile.printer;
    let printer = crate::devices::open_transport(&p.endpoint).map_err(|e| e.to_string()).and_then(|t| {
        ReceiptPrinter::new(t, p.profile.clone(), p.reads_status).firmware_version().map_err(|e| e.to_string())
    });
    let mut out = String::new();
    if profile.display.driver == crate::config::DisplayDriver::Panel {
        let d = &profile.display;
        let display = crate::devices::open_transport(&d.endpoint)
            .map_err(|e| e.to_string())
            .and_then(|t| PanelDisplay::open(t).map(|p| p.firmware()).map_err(|e| e.to_string()));
        out.push_str(&format!("  display      firmware {}\n", verdict(display, &d.firmware)));
    }
    out.push_str(&format!("  printer      firmware {}\n", verdict(printer, &p.firmware)));
    if let Some(c) = &profile.card_reader {
        let reader = crate::devices::open_transport(&c.endpoint).map_err(|e| e.to_string()).and_then(|t| {
            CardReader::open(t, std::time::Duration::from_secs(1))
                .map(|(_, info)| Some(info.firmware))
                .map_err(|e| e.to_string())
        });
        out.push_str(&format!("  card reader  firmware {}\n", verdict(reader, &c.firmware)));
    }
    out
}

/// The models among `profiles` that list this device's vendor:product id.
pub fn matching_profiles<'a>(d: &UsbDevice, profiles: &'a [DeviceProfile]) -> Vec<&'a str> {
    profiles.iter().filter(|p| p.usb_ids.contains(&(d.vendor_id, d.product_id))).map(|p| p.model.as_str()).collect()
}

/// The report of `posagent devices`; each USB device is matched against `known` profiles.
pub fn report_with(profile: Option<&DeviceProfile>, known: &[DeviceProfile]) -> DeviceReport {
    report_devices(profile, known, usb_devices())
}

/// The report `posagent devices` prints, without matching USB devices to profiles.
pub fn report(profile: Option<&DeviceProfile>) -> String {
    report_devices(profile, &[], usb_devices()).text
}

/// What `posagent devices` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceReport {
    /// The report, one line per port, USB device and profile device.
    pub text: String,
    /// How many of the profile's devices are missing (the command then exits 1).
    pub missing: usize,
}

fn report_devices(
    profile: Option<&DeviceProfile>,
    known: &[DeviceProfile],
    usb: Result<Vec<UsbDevice>, rusb::Error>,
) -> DeviceReport {
    let mut missing = 0;
    let ports = serial_ports();
    let mut out = String::from("serial ports:\n");
    if ports.is_empty() {
        out.push_str("  (none)\n");
    }
    for p in &ports {
        out.push_str(&format!("  {p}\n"));
    }
    out.push_str("USB devices:\n");
    let listed: Option<Vec<UsbDevice>> = usb.as_ref().ok().cloned();
    match usb {
        Ok(list) if list.is_empty() => out.push_str("  (none)\n"),
        Ok(list) => {
            for d in list {
                let models = matching_profiles(&d, known);
                let matched =
                    if models.is_empty() { String::new() } else { format!("  profile: {}", models.join(", ")) };
                out.push_str(&format!(
                    "  {:04x}:{:04x}  bus {} address {}{matched}\n",
                    d.vendor_id, d.product_id, d.bus, d.address
                ));
            }
        }
        Err(e) => out.push_str(&format!(
            "  cannot list USB devices: {e} (no USB on this machine, or no access to /dev/bus/usb)\n"
        )),
    }
    if let Some(p) = profile {
        out.push_str(&format!("profile {}:\n", p.model));
        let mut line = |name: &str, e: &Endpoint| {
            let state = match endpoint_present(e, &ports, listed.as_deref()) {
                Some(true) => "present",
                Some(false) => {
                    missing += 1;
                    "MISSING"
                }
                None if matches!(e, Endpoint::Tcp(_)) => "network (see `posagent doctor`)",
                None if matches!(e, Endpoint::Network) => "network: set printer_endpoint in the store config",
                None => "unknown (USB cannot be listed here)",
            };
            out.push_str(&format!("  {name:<12} {e}  {state}\n"));
        };
        line("display", &p.display.endpoint);
        line("printer", &p.printer.endpoint);
        if let Some(c) = &p.card_reader {
            line("card reader", &c.endpoint);
        }
    }
    DeviceReport { text: out, missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_devices_are_matched_to_the_profiles_that_list_them() -> Result<(), Box<dyn std::error::Error>> {
        let text = include_str!("../firmware-config/generic-800x480.toml");
        let generic = DeviceProfile::parse(text, std::path::Path::new("generic.toml"))?;
        assert!(!generic.usb_ids.is_empty(), "the shipped profile names its USB ids");
        let (v, p) = generic.usb_ids[0];
        let dev = UsbDevice { vendor_id: v, product_id: p, bus: 1, address: 4 };
        let other = UsbDevice { vendor_id: 0xdead, product_id: 0xbeef, bus: 1, address: 5 };
        let known = vec![generic];
        assert_eq!(matching_profiles(&dev, &known), [known[0].model.as_str()]);
        assert!(matching_profiles(&other, &known).is_empty());
        let out = report_devices(None, &known, Ok(vec![dev, other])).text;
        assert!(out.contains(&format!("{v:04x}:{p:04x}  bus 1 address 4  profile: {}", known[0].model)), "{out}");
        assert!(out.contains("dead:beef  bus 1 address 5\n"), "{out}");
        let sim = include_str!("../firmware-config/simulator.toml");
        let bad = sim.replacen("model =", "usb_ids = [\"04b8-0e28\"]\nmodel =", 1);
        let e = DeviceProfile::parse(&bad, std::path::Path::new("bad.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("usb_ids") && e.contains("04b8-0e28"), "{e}");
        Ok(())
    }

    #[test]
    fn listing_never_panics_without_usb() {
        // On machines without /dev/bus/usb this must be an error, not a panic.
        let _ = usb_devices();
        let text = report(None);
        assert!(text.contains("serial ports:") && text.contains("USB devices:"), "{text}");
    }

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(endpoint_present(&Endpoint::File("/definitely/not/here".into()), &[], None), Some(false));
        assert_eq!(
            endpoint_present(&Endpoint::Serial { path: "/dev/ttyX9".into(), baud: 9600 }, &["/dev/ttyX9".into()], None),
            Some(true)
        );
        assert_eq!(endpoint_present(&Endpoint::Tcp("10.0.0.1:9100".into()), &[], None), None);
        let printer = Endpoint::Usb { vid: 0x04b8, pid: 0x0e28, serial: None };
        let bus = [UsbDevice { vendor_id: 0x04b8, product_id: 0x0e28, bus: 1, address: 4 }];
        assert_eq!(endpoint_present(&printer, &[], Some(&bus)), Some(true));
        assert_eq!(endpoint_present(&printer, &[], Some(&[])), Some(false));
        assert_eq!(endpoint_present(&printer, &[], None), None, "unknown without USB");
    }
}
