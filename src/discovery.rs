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
/// a TCP endpoint (not checked here).
pub fn endpoint_present(e: &Endpoint, ports: &[String]) -> Option<bool> {
    match e {
        Endpoint::Serial { path, .. } => Some(ports.iter().any(|p| p == path) || std::path::Path::new(path).exists()),
        Endpoint::File(path) => Some(std::path::Path::new(path).exists()),
        Endpoint::Tcp(_) => None,
    }
}

/// The report `posagent devices` prints.
pub fn report(profile: Option<&DeviceProfile>) -> String {
    let ports = serial_ports();
    let mut out = String::from("serial ports:\n");
    if ports.is_empty() {
        out.push_str("  (none)\n");
    }
    for p in &ports {
        out.push_str(&format!("  {p}\n"));
    }
    out.push_str("USB devices:\n");
    match usb_devices() {
        Ok(list) if list.is_empty() => out.push_str("  (none)\n"),
        Ok(list) => {
            for d in list {
                out.push_str(&format!(
                    "  {:04x}:{:04x}  bus {} address {}\n",
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
            let state = match endpoint_present(e, &ports) {
                Some(true) => "present",
                Some(false) => "MISSING",
                None => "network (see `posagent doctor`)",
            };
            out.push_str(&format!("  {name:<12} {e}  {state}\n"));
        };
        line("display", &p.display.endpoint);
        line("printer", &p.printer.endpoint);
        if let Some(c) = &p.card_reader {
            line("card reader", &c.endpoint);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_never_panics_without_usb() {
        // On machines without /dev/bus/usb this must be an error, not a panic.
        let _ = usb_devices();
        let text = report(None);
        assert!(text.contains("serial ports:") && text.contains("USB devices:"), "{text}");
    }

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(endpoint_present(&Endpoint::File("/definitely/not/here".into()), &[]), Some(false));
        assert_eq!(
            endpoint_present(&Endpoint::Serial { path: "/dev/ttyX9".into(), baud: 9600 }, &["/dev/ttyX9".into()]),
            Some(true)
        );
        assert_eq!(endpoint_present(&Endpoint::Tcp("10.0.0.1:9100".into()), &[]), None);
    }
}
