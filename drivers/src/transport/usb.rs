//! USB bulk transport (libusb through rusb): the device is found by vendor and product
//! id (and serial number, when several of one model are attached); its bulk OUT endpoint
//! (and bulk IN, for devices that answer, such as printer status) is taken from the
//! active configuration — a printer-class interface first, then a vendor-specific one,
//! then any with a bulk OUT. A kernel driver bound to the interface (usblp) is detached
//! while posagent holds it.
//!
//! A stalled endpoint (the device set its Halt feature) is cleared when a transfer
//! reports the STALL, so the printer takes data again after the error.
//!
//! A machine without USB (no `/dev/bus/usb`) gives a typed error on open, never a panic:
//! a context of our own is created (`rusb::Context::new`) and its failure reported.

use super::{Transport, TransportError};
use rusb::UsbContext;
use std::time::Duration;

/// USB class code of printers.
const CLASS_PRINTER: u8 = 0x07;
/// USB class code of vendor-specific interfaces.
const CLASS_VENDOR: u8 = 0xFF;
/// How long one bulk write may take before the device counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// One endpoint of an interface, as its descriptor says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointInfo {
    /// Address (bit 7 set for IN).
    pub address: u8,
    /// Whether it is a bulk endpoint.
    pub bulk: bool,
}

/// One alternate setting of an interface, as its descriptor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Interface number.
    pub number: u8,
    /// Alternate setting.
    pub setting: u8,
    /// Class code.
    pub class: u8,
    /// Its endpoints.
    pub endpoints: Vec<EndpointInfo>,
}

/// The endpoints a bulk transport uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkEndpoints {
    /// Interface to claim.
    pub interface: u8,
    /// Its alternate setting.
    pub setting: u8,
    /// Bulk OUT endpoint address.
    pub out: u8,
    /// Bulk IN endpoint address, if the interface has one.
    pub input: Option<u8>,
}

/// Picks the interface and endpoints: printer class first, then vendor-specific, then
/// any interface with a bulk OUT endpoint; `None` if there is no bulk OUT at all.
pub fn choose_endpoints(interfaces: &[InterfaceInfo]) -> Option<BulkEndpoints> {
    let rank = |i: &InterfaceInfo| match i.class {
        CLASS_PRINTER => 0,
        CLASS_VENDOR => 1,
        _ => 2,
    };
    let mut candidates: Vec<&InterfaceInfo> = interfaces.iter().collect();
    candidates.sort_by_key(|i| (rank(i), i.number, i.setting));
    candidates.into_iter().find_map(|i| {
        let out = i.endpoints.iter().find(|e| e.bulk && e.address & 0x80 == 0)?;
        let input = i.endpoints.iter().find(|e| e.bulk && e.address & 0x80 != 0).map(|e| e.address);
        Some(BulkEndpoints { interface: i.number, setting: i.setting, out: out.address, input })
    })
}

/// `usb:vvvv:pppp` or `usb:vvvv:pppp/SERIAL`.
pub fn describe_usb(vid: u16, pid: u16, serial: Option<&str>) -> String {
    match serial {
        Some(s) => format!("usb:{vid:04x}:{pid:04x}/{s}"),
        None => format!("usb:{vid:04x}:{pid:04x}"),
    }
}

fn usb_error(target: &str, e: rusb::Error) -> TransportError {
    match e {
        rusb::Error::Timeout => TransportError::Timeout { target: target.to_string(), timeout: Duration::ZERO },
        rusb::Error::NoDevice => TransportError::Closed { target: target.to_string() },
        other => TransportError::Io { target: target.to_string(), source: std::io::Error::other(other) },
    }
}

fn open_error(target: &str, why: impl Into<String>) -> TransportError {
    TransportError::Open { target: target.to_string(), source: std::io::Error::other(why.into()) }
}

fn interfaces_of(device: &rusb::Device<rusb::Context>) -> rusb::Result<Vec<InterfaceInfo>> {
    let config = device.active_config_descriptor()?;
    let mut out = vec![];
    for interface in config.interfaces() {
        for d in interface.descriptors() {
            out.push(InterfaceInfo {
                number: d.interface_number(),
                setting: d.setting_number(),
                class: d.class_code(),
                endpoints: d
                    .endpoint_descriptors()
                    .map(|e| EndpointInfo { address: e.address(), bulk: e.transfer_type() == rusb::TransferType::Bulk })
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// A claimed USB interface with its bulk endpoints.
pub struct UsbTransport {
    handle: rusb::DeviceHandle<rusb::Context>,
    endpoints: BulkEndpoints,
    target: String,
}

impl UsbTransport {
    /// Opens the first device with `vid`:`pid` (and `serial`, if given) and claims its
    /// bulk interface.
    pub fn open(vid: u16, pid: u16, serial: Option<&str>) -> Result<Self, TransportError> {
        let target = describe_usb(vid, pid, serial);
        let ctx = rusb::Context::new().map_err(|e| open_error(&target, format!("USB is not available here: {e}")))?;
        let devices = ctx.devices().map_err(|e| open_error(&target, format!("cannot list USB devices: {e}")))?;
        let mut busy = None;
        for device in devices.iter() {
            let Ok(desc) = device.device_descriptor() else { continue };
            if desc.vendor_id() != vid || desc.product_id() != pid {
                continue;
            }
            let handle = match device.open() {
                Ok(h) => h,
                Err(e) => {
                    busy = Some(e);
                    continue;
                }
            };
            if let Some(want) = serial {
                let timeout = Duration::from_millis(500);
                let lang = handle.read_languages(timeout).ok().and_then(|l| l.first().copied());
                let found = lang.and_then(|l| handle.read_serial_number_string(l, &desc, timeout).ok());
                if found.as_deref() != Some(want) {
                    continue;
                }
            }
            let interfaces = interfaces_of(&device).map_err(|e| open_error(&target, e.to_string()))?;
            let endpoints = choose_endpoints(&interfaces)
                .ok_or_else(|| open_error(&target, "the device has no bulk OUT endpoint; check the profile's ids"))?;
            // Not every platform can detach (or needs to): claiming tells if it matters.
            let _ = handle.set_auto_detach_kernel_driver(true);
            handle
                .claim_interface(endpoints.interface)
                .map_err(|e| open_error(&target, format!("cannot claim interface {}: {e}", endpoints.interface)))?;
            if endpoints.setting != 0 {
                handle
                    .set_alternate_setting(endpoints.interface, endpoints.setting)
                    .map_err(|e| open_error(&target, e.to_string()))?;
            }
            return Ok(UsbTransport { handle, endpoints, target });
        }
        Err(match busy {
            Some(e) => open_error(&target, format!("found but cannot be opened: {e}; check the udev rule")),
            None => open_error(&target, "no such device is attached"),
        })
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> BulkEndpoints {
        self.endpoints
    }
}

impl UsbTransport {
    /// The error of a failed transfer on `endpoint`. A STALL (`Pipe`) means the device
    /// set the endpoint's Halt feature: it refuses every transfer until the host clears
    /// it (USB 2.0, 9.4.5), and neither closing nor reclaiming the interface does; so it
    /// is cleared here, and the next transfer (or the next open) can go through.
    fn transfer_error(&self, endpoint: u8, e: rusb::Error) -> TransportError {
        if e != rusb::Error::Pipe {
            return usb_error(&self.target, e);
        }
        let cleared = match self.handle.clear_halt(endpoint) {
            Ok(()) => "halt cleared".to_string(),
            Err(e) => format!("clearing the halt failed: {e}"),
        };
        let why = format!("the device stalled endpoint {endpoint:#04x} ({cleared})");
        TransportError::Io { target: self.target.clone(), source: std::io::Error::other(why) }
    }
}

impl Transport for UsbTransport {
    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
        while !bytes.is_empty() {
            let n = self
                .handle
                .write_bulk(self.endpoints.out, bytes, WRITE_TIMEOUT)
                .map_err(|e| self.transfer_error(self.endpoints.out, e))?;
            if n == 0 {
                return Err(TransportError::Timeout { target: self.target.clone(), timeout: WRITE_TIMEOUT });
            }
            bytes = &bytes[n..];
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let Some(ep) = self.endpoints.input else {
            // A write-only interface gives no status back: report it as silence.
            return Err(TransportError::Timeout { target: self.target.clone(), timeout });
        };
        match self.handle.read_bulk(ep, buf, timeout) {
            Err(rusb::Error::Timeout) => Err(TransportError::Timeout { target: self.target.clone(), timeout }),
            r => r.map_err(|e| self.transfer_error(ep, e)),
        }
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn describe(&self) -> String {
        self.target.clone()
    }
}

impl Drop for UsbTransport {
    fn drop(&mut self) {
        let _ = self.handle.release_interface(self.endpoints.interface);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(number: u8, class: u8, endpoints: &[(u8, bool)]) -> InterfaceInfo {
        InterfaceInfo {
            number,
            setting: 0,
            class,
            endpoints: endpoints.iter().map(|&(address, bulk)| EndpointInfo { address, bulk }).collect(),
        }
    }

    #[test]
    fn the_printer_interface_and_its_bulk_pair_are_chosen() {
        // An Epson-like composite device: a vendor interface, then the printer interface.
        let interfaces = [iface(0, 0xFF, &[(0x02, true), (0x83, true)]), iface(1, 0x07, &[(0x01, true), (0x82, true)])];
        assert_eq!(
            choose_endpoints(&interfaces),
            Some(BulkEndpoints { interface: 1, setting: 0, out: 0x01, input: Some(0x82) })
        );
    }

    #[test]
    fn vendor_then_any_bulk_out_and_interrupt_endpoints_are_ignored() {
        let interfaces = [iface(0, 0x03, &[(0x81, false)]), iface(2, 0xFF, &[(0x04, true)])];
        assert_eq!(
            choose_endpoints(&interfaces),
            Some(BulkEndpoints { interface: 2, setting: 0, out: 0x04, input: None })
        );
        let cdc = [iface(0, 0x02, &[(0x81, false)]), iface(1, 0x0A, &[(0x02, true), (0x82, true)])];
        assert_eq!(choose_endpoints(&cdc).map(|e| (e.interface, e.out, e.input)), Some((1, 0x02, Some(0x82))));
        assert_eq!(choose_endpoints(&[iface(0, 0x07, &[(0x81, true)])]), None, "an IN endpoint alone cannot print");
    }

    #[test]
    fn opening_without_the_device_is_a_typed_error_not_a_panic() {
        // On a machine without /dev/bus/usb the context fails; with USB, no such device.
        match UsbTransport::open(0xFFFE, 0xFFFE, None) {
            Err(TransportError::Open { target, .. }) => assert_eq!(target, "usb:fffe:fffe"),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a device fffe:fffe cannot exist"),
        }
    }
}
