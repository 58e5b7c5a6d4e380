//! The udev rules of the package (`packaging/99-posagent.rules`), made from the device
//! profiles alone so the two cannot disagree: each device on USB gets the link its
//! profile's endpoint names (`/dev/posagent-card-reader`, from its `usb_id`) and the
//! service user's group; a raw USB printer its device node; a framebuffer display the
//! one framebuffer its profile names, not every `fb*`. `posagent udev-rules` prints them;
//! a test regenerates the committed file from `firmware-config/` and compares. Here too
//! the rule a profile's devices are checked by when it loads: a device's `usb_id` goes
//! with the link udev makes from it.

use super::profile::parse_usb_id;
use super::{ConfigError, DeviceProfile, DisplayDriver, Endpoint, invalid};
use std::path::Path;

/// The USB vendor:product id of each device of a model, when it is on USB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceUsbIds {
    /// Customer display.
    pub display: Option<(u16, u16)>,
    /// Receipt printer.
    pub printer: Option<(u16, u16)>,
    /// Card reader.
    pub card_reader: Option<(u16, u16)>,
}

impl DeviceUsbIds {
    /// The devices' ids, then the profile's other `usb_ids` (validated), each once.
    pub(super) fn with_others(&self, path: &Path, others: &[String]) -> Result<Vec<(u16, u16)>, ConfigError> {
        let mut ids: Vec<(u16, u16)> = [self.display, self.printer, self.card_reader].into_iter().flatten().collect();
        for id in others {
            let id = parse_usb_id(id).ok_or_else(|| {
                invalid(path, "usb_ids", format!("`{id}` is not a USB id like \"04b8:0e28\" (vendor:product, hex)"))
            })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

/// The link udev makes for a device on USB (`/dev/posagent-card-reader`), by role.
pub fn udev_link(role: &str) -> String {
    format!("/dev/posagent-{}", role.replace('_', "-"))
}

/// A device's `usb_id`, checked against its endpoint: a serial port or device node on
/// USB is reached by the link udev makes from the id (`/dev/posagent-ROLE`), a `usb:`
/// endpoint carries the id itself, a network device has none.
pub(super) fn device_usb_id(
    path: &Path,
    role: &str,
    usb_id: Option<&str>,
    endpoint: &Endpoint,
) -> Result<Option<(u16, u16)>, ConfigError> {
    let key = format!("{role}.usb_id");
    let link = udev_link(role);
    let id = match usb_id {
        None => None,
        Some(s) => Some(parse_usb_id(s).ok_or_else(|| {
            invalid(path, &key, format!("`{s}` is not a USB id like \"04b8:0e28\" (vendor:product, hex, see `lsusb`)"))
        })?),
    };
    match (endpoint, id) {
        (Endpoint::Usb { vid, pid, .. }, None) => Ok(Some((*vid, *pid))),
        (Endpoint::Usb { vid, pid, .. }, Some(id)) if id != (*vid, *pid) => {
            Err(invalid(path, &key, "differs from the id in the usb: endpoint; leave usb_id out"))
        }
        (Endpoint::Serial { path: dev, .. } | Endpoint::File(dev), None) if dev.starts_with("/dev/posagent-") => {
            Err(invalid(path, &key, format!("{dev} is a link udev makes from the device's USB id: give usb_id")))
        }
        (Endpoint::Serial { path: dev, .. } | Endpoint::File(dev), Some(_)) if *dev != link => Err(invalid(
            path,
            &format!("{role}.endpoint"),
            format!("a device on USB is reached by the link udev makes from its usb_id: write {link}, not {dev}"),
        )),
        (Endpoint::Tcp(_) | Endpoint::Network, Some(_)) => {
            Err(invalid(path, &key, "a device on the network has no USB id; leave usb_id out"))
        }
        (_, id) => Ok(id),
    }
}

/// Two profiles give one device different links: one rule could not serve both.
#[derive(Debug, thiserror::Error)]
#[error(
    "the device profiles {first} and {second} both match {matcher} but link it as {first_link} and {second_link}; give the devices distinct usb_id values, or keep one of the profiles out of the package"
)]
pub struct UdevConflict {
    /// The profile seen first.
    pub first: String,
    /// The other.
    pub second: String,
    /// What the rule matches.
    pub matcher: String,
    /// The first profile's link.
    pub first_link: String,
    /// The other's.
    pub second_link: String,
}

/// One rule: what it matches, the link it makes (if any), and the profiles it is for.
struct Rule {
    matcher: String,
    link: Option<String>,
    devices: Vec<String>,
}

const ACCESS: &str = "GROUP=\"posagent\", MODE=\"0660\"";

fn usb_attrs((vid, pid): (u16, u16)) -> String {
    format!("ATTRS{{idVendor}}==\"{vid:04x}\", ATTRS{{idProduct}}==\"{pid:04x}\"")
}

/// The rule a device needs (matcher and link), if it needs one.
fn device_rule(role: &str, endpoint: &Endpoint, usb: Option<(u16, u16)>) -> Option<(String, Option<String>)> {
    let link = || udev_link(role).trim_start_matches("/dev/").to_string();
    match (endpoint, usb) {
        (Endpoint::Serial { .. }, Some(id)) => Some((format!("SUBSYSTEM==\"tty\", {}", usb_attrs(id)), Some(link()))),
        (Endpoint::File(_), Some(id)) => {
            Some((format!("SUBSYSTEM==\"usbmisc\", KERNEL==\"lp[0-9]*\", {}", usb_attrs(id)), Some(link())))
        }
        (Endpoint::Usb { vid, pid, .. }, _) => {
            Some((format!("SUBSYSTEM==\"usb\", ENV{{DEVTYPE}}==\"usb_device\", {}", usb_attrs((*vid, *pid))), None))
        }
        _ => None,
    }
}

/// Every rule of one profile, with the role it is for.
fn profile_rules(p: &DeviceProfile) -> Vec<(String, Option<String>, &'static str)> {
    let mut out = vec![];
    match (&p.display.driver, &p.display.endpoint) {
        (DisplayDriver::Framebuffer { .. }, Endpoint::File(dev)) => {
            let kernel = dev.trim_start_matches("/dev/");
            out.push((format!("SUBSYSTEM==\"graphics\", KERNEL==\"{kernel}\""), None, "display"));
        }
        _ => out.extend(device_rule("display", &p.display.endpoint, p.usb.display).map(|(m, l)| (m, l, "display"))),
    }
    out.extend(device_rule("printer", &p.printer.endpoint, p.usb.printer).map(|(m, l)| (m, l, "printer")));
    if let Some(c) = &p.card_reader {
        out.extend(device_rule("card_reader", &c.endpoint, p.usb.card_reader).map(|(m, l)| (m, l, "card reader")));
    }
    out
}

/// The rules file for `profiles` (by model name; a rule two profiles share is written
/// once, naming both).
pub fn udev_rules(profiles: &[DeviceProfile]) -> Result<String, UdevConflict> {
    let mut sorted: Vec<&DeviceProfile> = profiles.iter().collect();
    sorted.sort_by(|a, b| a.model.cmp(&b.model));
    let mut rules: Vec<(Rule, String)> = vec![];
    for p in sorted {
        for (matcher, link, role) in profile_rules(p) {
            let for_whom = format!("{} {role}", p.model);
            match rules.iter_mut().find(|(r, _)| r.matcher == matcher) {
                Some((r, _)) if r.link == link => r.devices.push(for_whom),
                Some((r, first)) => {
                    return Err(UdevConflict {
                        first: first.clone(),
                        second: p.model.clone(),
                        matcher,
                        first_link: r.link.clone().unwrap_or_else(|| "no link".into()),
                        second_link: link.unwrap_or_else(|| "no link".into()),
                    });
                }
                None => rules.push((Rule { matcher, link, devices: vec![for_whom] }, p.model.clone())),
            }
        }
    }
    let mut out = String::from(
        "# posagent devices: stable names and access for the posagent service user only.\n\
         # Generated by `posagent udev-rules` from the device profiles (firmware-config/*.toml,\n\
         # each device's usb_id and endpoint): do not edit, an upgrade replaces this file.\n\
         # Store-specific rules (another device's ids, two readers told apart by\n\
         # ATTRS{serial}) go in /etc/udev/rules.d/ (see /usr/share/doc/posagent/install.md).\n",
    );
    for (r, _) in &rules {
        out.push_str(&format!("# {}\n{}, ", r.devices.join(", "), r.matcher));
        if let Some(link) = &r.link {
            out.push_str(&format!("SYMLINK+=\"{link}\", "));
        }
        out.push_str(ACCESS);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped profiles.
    fn shipped() -> Result<Vec<DeviceProfile>, ConfigError> {
        DeviceProfile::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-config"))
    }

    #[test]
    fn the_packaged_rules_are_the_ones_the_shipped_profiles_make() -> Result<(), Box<dyn std::error::Error>> {
        let made = udev_rules(&shipped()?)?;
        let committed = include_str!("../../packaging/99-posagent.rules");
        assert!(
            made == committed,
            "packaging/99-posagent.rules is not what the profiles make; run \
             `cargo run -- udev-rules > packaging/99-posagent.rules`\n{made}"
        );
        // Every link a shipped profile's endpoint names is made by a rule.
        for p in shipped()? {
            let endpoints =
                [Some(&p.display.endpoint), Some(&p.printer.endpoint), p.card_reader.as_ref().map(|c| &c.endpoint)];
            for e in endpoints.into_iter().flatten() {
                if let Endpoint::Serial { path, .. } | Endpoint::File(path) = e
                    && let Some(link) = path.strip_prefix("/dev/posagent-")
                {
                    assert!(made.contains(&format!("SYMLINK+=\"posagent-{link}\"")), "{} {path}", p.model);
                }
            }
        }
        assert!(!made.contains("fb[0-9]*"), "only the profiles' framebuffers are regrouped");
        Ok(())
    }

    #[test]
    fn two_profiles_linking_one_device_differently_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let sim = include_str!("../../firmware-config/simulator.toml");
        let with = |model: &str, role_section: &str, link: &str| {
            sim.replacen("model = \"simulator\"", &format!("model = \"{model}\""), 1).replacen(
                &format!("[{role_section}]\ndriver = \"framed-serial\"\nendpoint = \"serial:/dev/null@115200\""),
                &format!("[{role_section}]\ndriver = \"framed-serial\"\nendpoint = \"serial:{link}@115200\"\nusb_id = \"0403:6001\""),
                1,
            )
        };
        let a = DeviceProfile::parse(&with("a", "card_reader", "/dev/posagent-card-reader"), Path::new("a.toml"))?;
        assert_eq!(a.usb.card_reader, Some((0x0403, 0x6001)));
        let same = DeviceProfile { model: "b".into(), ..a.clone() };
        let rules = udev_rules(&[a.clone(), same])?;
        assert_eq!(rules.matches("posagent-card-reader").count(), 1, "{rules}");
        assert!(rules.contains("# a card reader, b card reader\n"), "{rules}");
        let mut other = DeviceProfile { model: "c".into(), ..a.clone() };
        other.display.endpoint = Endpoint::Serial { path: "/dev/posagent-display".into(), baud: 9600 };
        other.usb.display = Some((0x0403, 0x6001));
        let e = udev_rules(&[a, other]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("posagent-card-reader") && e.contains("posagent-display"), "{e}");
        Ok(())
    }

    #[test]
    fn a_usb_id_goes_with_the_link_udev_makes() {
        let sim = include_str!("../../firmware-config/simulator.toml");
        let reader = "endpoint = \"serial:/dev/null@115200\"";
        for (bad, key) in [
            ("endpoint = \"serial:/dev/posagent-card-reader@115200\"", "card_reader.usb_id"),
            ("endpoint = \"serial:/dev/ttyUSB0@115200\"\nusb_id = \"0403:6001\"", "card_reader.endpoint"),
            ("endpoint = \"serial:/dev/posagent-card-reader@115200\"\nusb_id = \"0403-6001\"", "card_reader.usb_id"),
            ("endpoint = \"tcp:127.0.0.1:9\"\nusb_id = \"0403:6001\"", "card_reader.usb_id"),
        ] {
            let text = sim.replacen(reader, bad, 1);
            let e = DeviceProfile::parse(&text, Path::new("t.toml")).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(key), "{bad}: {e}");
        }
        let usb = sim.replacen("endpoint = \"tcp:127.0.0.1:1\"\ncolumns", "endpoint = \"usb:04b8:0e28\"\ncolumns", 1);
        let p = DeviceProfile::parse(&usb, Path::new("t.toml"));
        assert!(matches!(&p, Ok(p) if p.usb.printer == Some((0x04b8, 0x0e28))), "{p:?}");
        let wrong =
            usb.replacen("endpoint = \"usb:04b8:0e28\"", "endpoint = \"usb:04b8:0e28\"\nusb_id = \"04b8:0202\"", 1);
        assert!(DeviceProfile::parse(&wrong, Path::new("t.toml")).is_err());
    }
}
