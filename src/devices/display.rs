//! Owner thread of the customer display: renders screens and shows them.

use super::owner::{self, Connect, Jobs, Link, Owned, Pace, Work};
use super::{DeviceError, DeviceHealth, PROBE_INTERVAL, SharedHealth, new_health, read_health, set_firmware};
use crate::config::DisplayDriver;
use crate::config::DisplayProfile;
use crate::screens::{Screen, render_for, text_lines};
use posagent_drivers::display::{CustomerDisplay, FramebufferDisplay, LineDisplay, PanelDisplay, PanelError};
use posagent_drivers::transport::Transport;
use std::time::Duration;
use tokio::sync::oneshot;

struct Show {
    screen: Screen,
    done: oneshot::Sender<Result<(), DeviceError>>,
}

/// Handle to the display thread.
#[derive(Clone)]
pub struct DisplayService {
    jobs: Jobs<Show>,
    health: SharedHealth,
    graphic: bool,
}

/// The display's owner: shows screens, checks the panel while idle.
struct DisplayOwner {
    profile: DisplayProfile,
    connect: Connect,
    health: SharedHealth,
    link: Link<OpenDisplay>,
}

impl Owned for DisplayOwner {
    type Job = Show;

    fn run(&mut self, Show { screen, done }: Show) {
        let (connect, profile, health) = (&mut self.connect, &self.profile, &self.health);
        // Showing a screen twice is harmless: one that timed out is shown again.
        let work = Work::Job { repeatable: true };
        let r = self.link.attempt(work, || open(connect, profile, health), |d| show(d, &screen));
        let _ = done.send(r.map_err(DeviceError::from));
    }

    fn probe(&mut self) {
        if !self.link.is_open() && !self.link.due() {
            return;
        }
        let (connect, profile, health) = (&mut self.connect, &self.profile, &self.health);
        let fresh = !self.link.is_open();
        let _ = self.link.attempt(
            Work::Probe,
            || open(connect, profile, health),
            |d| if fresh { Ok(()) } else { probe(d, profile, health) },
        );
    }

    fn close(&mut self) {
        self.link.close();
    }
}

impl DisplayService {
    /// Starts the owner thread; the panel is opened by the first check.
    pub fn start(profile: DisplayProfile) -> std::io::Result<Self> {
        let health = new_health("display", &profile.endpoint);
        let graphic = profile.is_graphic();
        let link = Link::new(health.clone(), Duration::ZERO);
        let connect = owner::connect_to(&profile.endpoint);
        let display = DisplayOwner { profile, connect, health: health.clone(), link };
        let jobs = owner::spawn("display", Pace::Every(PROBE_INTERVAL), display)?;
        Ok(DisplayService { jobs, health, graphic })
    }

    /// Shows `screen` and returns once the panel acknowledged it.
    pub async fn show(&self, screen: Screen) -> Result<(), DeviceError> {
        self.jobs.ask(|done| Show { screen, done }).await.ok_or(DeviceError::Stopped("display"))?
    }

    /// Closes the display (the thread ends; later jobs answer `Stopped`).
    pub async fn close(&self) {
        self.jobs.close().await;
    }

    /// The display's state.
    pub fn health(&self) -> DeviceHealth {
        read_health(&self.health)
    }

    /// Whether it shows graphics (a QR code); a line display does not.
    pub fn is_graphic(&self) -> bool {
        self.graphic
    }
}

/// An open customer display: a graphic one fed frames, or a line display fed text.
pub enum OpenDisplay {
    /// Panel or framebuffer.
    Graphic(Box<dyn CustomerDisplay>),
    /// 2×20 characters.
    Line(LineDisplay<Box<dyn Transport>>),
}

/// Opens the display a profile names, with its driver.
pub fn open_display(profile: &DisplayProfile) -> Result<OpenDisplay, PanelError> {
    open_display_on(profile, &mut owner::connect_to(&profile.endpoint))
}

/// Opens the display a profile names, reaching a panel or line display through `connect`.
fn open_display_on(profile: &DisplayProfile, connect: &mut Connect) -> Result<OpenDisplay, PanelError> {
    Ok(match (&profile.driver, &profile.endpoint) {
        (DisplayDriver::Framebuffer { sysfs }, crate::config::Endpoint::File(dev)) => {
            OpenDisplay::Graphic(Box::new(FramebufferDisplay::open(std::path::Path::new(dev), sysfs)?))
        }
        (DisplayDriver::Line(spec), _) => OpenDisplay::Line(LineDisplay::open(connect()?, *spec)?),
        _ => OpenDisplay::Graphic(Box::new(PanelDisplay::<Box<dyn Transport>>::open(connect()?)?)),
    })
}

/// Opens the display and records the firmware version it tells (a panel does).
fn open(connect: &mut Connect, profile: &DisplayProfile, health: &SharedHealth) -> Result<OpenDisplay, PanelError> {
    let display = open_display_on(profile, connect)?;
    let firmware = match &display {
        OpenDisplay::Graphic(p) => p.firmware(),
        OpenDisplay::Line(_) => None,
    };
    set_firmware(health, firmware, &profile.firmware);
    Ok(display)
}

/// Checks the open display still answers (a line display cannot tell).
fn probe(display: &mut OpenDisplay, profile: &DisplayProfile, health: &SharedHealth) -> Result<(), PanelError> {
    match display {
        OpenDisplay::Graphic(p) => {
            p.ping()?;
            // A panel swapped for another answers with its own version.
            set_firmware(health, p.firmware(), &profile.firmware);
            Ok(())
        }
        // The link is one-way: a USB-serial adapter pulled out shows as its port gone.
        OpenDisplay::Line(_) => match &profile.endpoint {
            crate::config::Endpoint::Serial { path, .. } if !std::path::Path::new(path).exists() => {
                Err(PanelError::Transport(posagent_drivers::transport::TransportError::Closed { target: path.clone() }))
            }
            _ => Ok(()),
        },
    }
}

fn show(display: &mut OpenDisplay, screen: &Screen) -> Result<(), PanelError> {
    match display {
        OpenDisplay::Graphic(p) => {
            let (w, h) = p.size();
            p.show(render_for(screen, w, h, p.is_mono()))
        }
        OpenDisplay::Line(d) => {
            let lines = text_lines(screen, usize::from(d.spec().columns));
            Ok(d.show_lines(&lines)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Endpoint;
    use posagent_drivers::display::LineDisplaySpec;
    use posagent_drivers::transport::ScriptedTransport;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    fn line_profile(endpoint: Endpoint) -> DisplayProfile {
        DisplayProfile {
            driver: DisplayDriver::Line(LineDisplaySpec::default()),
            endpoint,
            width: 20,
            height: 2,
            firmware: vec![],
        }
    }

    /// What a fresh line display is sent to open and show `screen` (the driver's own
    /// encoding, taken from an open-ended script).
    fn opened_and_shown(screen: &Screen) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let t = ScriptedTransport::new("oracle").then_anything();
        let script = t.script();
        let mut d = LineDisplay::open(t, LineDisplaySpec::default())?;
        d.show_lines(&text_lines(screen, 20))?;
        Ok(script.written())
    }

    #[test]
    fn a_screen_that_timed_out_is_shown_again_on_the_reopened_display() -> Result<(), Box<dyn std::error::Error>> {
        let screen = Screen::Canceled { locale: "en-US".into() };
        let init = posagent_drivers::display::encode_line_init(&LineDisplaySpec::default());
        let whole = opened_and_shown(&screen)?;
        // The first display takes its init, then stalls on the screen; the reopened one
        // is initialized again and shows it whole.
        let stalled = ScriptedTransport::new("stalled").expect_write(&init).timeout();
        let again = ScriptedTransport::new("again").expect_write(&whole);
        let (s1, s2) = (stalled.script(), again.script());
        let plugs = Arc::new(Mutex::new(VecDeque::from([stalled, again])));
        let profile = line_profile(Endpoint::Tcp("vfd:1".into()));
        let health = new_health("display", &profile.endpoint);
        let connect: Connect = Box::new(move || {
            let next = plugs.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            next.map(|t| Box::new(t) as Box<dyn Transport>)
                .ok_or_else(|| posagent_drivers::transport::TransportError::Closed { target: "vfd".into() })
        });
        let link = Link::new(health.clone(), Duration::ZERO);
        let mut owner = DisplayOwner { profile, connect, health: health.clone(), link };
        let (done, mut answer) = oneshot::channel();
        owner.run(Show { screen, done });
        assert!(matches!(answer.try_recv(), Ok(Ok(()))), "shown on the second try");
        s1.check()?;
        s2.check()?;
        let h = read_health(&health);
        assert!(h.connected && h.last_error.is_none(), "{h:?}");
        Ok(())
    }

    #[tokio::test]
    async fn a_line_display_whose_port_disappears_shows_disconnected() -> Result<(), Box<dyn std::error::Error>> {
        let (master, slave) = serialport::TTYPort::pair()?;
        let path = serialport::SerialPort::name(&slave).ok_or("a pseudo-terminal without a name")?;
        let profile = line_profile(Endpoint::Serial { path: path.clone(), baud: 9600 });
        let display = DisplayService::start(profile)?;
        display.show(Screen::Canceled { locale: "en-US".into() }).await?;
        assert!(display.health().connected);
        // The adapter is pulled out: its device node goes away.
        drop(slave);
        drop(master);
        let start = Instant::now();
        while display.health().connected {
            assert!(start.elapsed() < Duration::from_secs(3), "still shown as connected with {path} gone");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(display.health().last_error.is_some_and(|e| e.contains(&path)));
        Ok(())
    }
}
