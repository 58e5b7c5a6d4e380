//! Owner thread of the customer display: renders screens and shows them.

use super::{
    DeviceError, DeviceHealth, JOB_QUEUE, SharedHealth, new_health, open_transport, read_health, set_firmware,
    set_health,
};
use crate::config::DisplayDriver;
use crate::config::DisplayProfile;
use crate::screens::{Screen, render_for, text_lines};
use posagent_drivers::display::{CustomerDisplay, FramebufferDisplay, LineDisplay, PanelDisplay, PanelError};
use posagent_drivers::transport::Transport;
use tokio::sync::{mpsc, oneshot};

enum Job {
    Show { screen: Screen, done: oneshot::Sender<Result<(), DeviceError>> },
    Probe,
    Close(oneshot::Sender<()>),
}

/// Handle to the display thread.
#[derive(Clone)]
pub struct DisplayService {
    jobs: mpsc::Sender<Job>,
    health: SharedHealth,
    graphic: bool,
}

impl DisplayService {
    /// Starts the owner thread; the panel is opened on the first screen.
    pub fn start(profile: DisplayProfile) -> std::io::Result<Self> {
        let (jobs, mut rx) = mpsc::channel::<Job>(JOB_QUEUE);
        let health = new_health("display", &profile.endpoint);
        let h = health.clone();
        let graphic = profile.is_graphic();
        std::thread::Builder::new().name("display".into()).spawn(move || {
            let mut panel: Panel = None;
            while let Some(job) = rx.blocking_recv() {
                let (result, done) = match job {
                    Job::Show { screen, done } => (show(&mut panel, &profile, &h, &screen), Some(done)),
                    Job::Probe => (probe(&mut panel, &profile, &h), None),
                    Job::Close(done) => {
                        drop(panel.take());
                        set_health(&h, false, Some("closed: the daemon stopped".into()));
                        let _ = done.send(());
                        return;
                    }
                };
                match &result {
                    Ok(()) => set_health(&h, true, None),
                    Err(e) => {
                        if done.is_some() || panel.is_some() {
                            tracing::warn!(error = %e, "customer display failed; it will be reopened");
                        }
                        panel = None;
                        set_health(&h, false, Some(e.to_string()));
                    }
                }
                if let Some(done) = done {
                    let _ = done.send(result.map_err(DeviceError::from));
                }
            }
        })?;
        super::spawn_prober(&jobs, || Job::Probe);
        Ok(DisplayService { jobs, health, graphic })
    }

    /// Shows `screen` and returns once the panel acknowledged it.
    pub async fn show(&self, screen: Screen) -> Result<(), DeviceError> {
        let (done, rx) = oneshot::channel();
        self.jobs.send(Job::Show { screen, done }).await.map_err(|_| DeviceError::Stopped("display"))?;
        rx.await.map_err(|_| DeviceError::Stopped("display"))?
    }

    /// Closes the display (the thread ends; later jobs answer `Stopped`).
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).await.is_ok() {
            let _ = rx.await;
        }
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

type Panel = Option<OpenDisplay>;

/// Opens the display a profile names, with its driver.
pub fn open_display(profile: &DisplayProfile) -> Result<OpenDisplay, PanelError> {
    Ok(match (&profile.driver, &profile.endpoint) {
        (DisplayDriver::Framebuffer { sysfs }, crate::config::Endpoint::File(dev)) => {
            OpenDisplay::Graphic(Box::new(FramebufferDisplay::open(std::path::Path::new(dev), sysfs)?))
        }
        (DisplayDriver::Line(spec), endpoint) => {
            OpenDisplay::Line(LineDisplay::open(open_transport(endpoint)?, *spec)?)
        }
        _ => OpenDisplay::Graphic(Box::new(PanelDisplay::<Box<dyn Transport>>::open(open_transport(
            &profile.endpoint,
        )?)?)),
    })
}

/// Opens the display and records the firmware version it tells (a panel does).
fn open(panel: &mut Panel, profile: &DisplayProfile, health: &SharedHealth) -> Result<(), PanelError> {
    let display = open_display(profile)?;
    let firmware = match &display {
        OpenDisplay::Graphic(p) => p.firmware(),
        OpenDisplay::Line(_) => None,
    };
    set_firmware(health, firmware, &profile.firmware);
    *panel = Some(display);
    Ok(())
}

/// Opens the display, or checks the open one still answers (a line display cannot tell).
fn probe(panel: &mut Panel, profile: &DisplayProfile, health: &SharedHealth) -> Result<(), PanelError> {
    match panel.as_mut() {
        Some(OpenDisplay::Graphic(p)) => {
            p.ping()?;
            // A panel swapped for another answers with its own version.
            set_firmware(health, p.firmware(), &profile.firmware);
            Ok(())
        }
        // The link is one-way: a USB-serial adapter pulled out shows as its port gone.
        Some(OpenDisplay::Line(_)) => match &profile.endpoint {
            crate::config::Endpoint::Serial { path, .. } if !std::path::Path::new(path).exists() => {
                Err(PanelError::Transport(posagent_drivers::transport::TransportError::Closed { target: path.clone() }))
            }
            _ => Ok(()),
        },
        None => open(panel, profile, health),
    }
}

fn show(panel: &mut Panel, profile: &DisplayProfile, health: &SharedHealth, screen: &Screen) -> Result<(), PanelError> {
    if panel.is_none() {
        open(panel, profile, health)?;
    }
    match panel.as_mut() {
        Some(OpenDisplay::Graphic(p)) => {
            let (w, h) = p.size();
            p.show(&render_for(screen, w, h, p.is_mono()))
        }
        Some(OpenDisplay::Line(d)) => {
            let lines = text_lines(screen, usize::from(d.spec().columns));
            Ok(d.show_lines(&lines)?)
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Endpoint;
    use posagent_drivers::display::LineDisplaySpec;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_line_display_whose_port_disappears_shows_disconnected() -> Result<(), Box<dyn std::error::Error>> {
        let (master, slave) = serialport::TTYPort::pair()?;
        let path = serialport::SerialPort::name(&slave).ok_or("a pseudo-terminal without a name")?;
        let profile = DisplayProfile {
            driver: DisplayDriver::Line(LineDisplaySpec::default()),
            endpoint: Endpoint::Serial { path: path.clone(), baud: 9600 },
            width: 20,
            height: 2,
            firmware: vec![],
        };
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
