//! Owner thread of the customer display: renders screens and shows them.

use super::{DeviceError, DeviceHealth, JOB_QUEUE, SharedHealth, new_health, open_transport, read_health, set_health};
use crate::config::DisplayProfile;
use crate::screens::{Screen, render};
use posagent_drivers::display::{CustomerDisplay, PanelDisplay, PanelError};
use posagent_drivers::transport::Transport;
use tokio::sync::{mpsc, oneshot};

struct Job {
    screen: Screen,
    done: oneshot::Sender<Result<(), DeviceError>>,
}

/// Handle to the display thread.
#[derive(Clone)]
pub struct DisplayService {
    jobs: mpsc::Sender<Job>,
    health: SharedHealth,
}

impl DisplayService {
    /// Starts the owner thread; the panel is opened on the first screen.
    pub fn start(profile: DisplayProfile) -> std::io::Result<Self> {
        let (jobs, mut rx) = mpsc::channel::<Job>(JOB_QUEUE);
        let health = new_health("display", &profile.endpoint);
        let h = health.clone();
        std::thread::Builder::new().name("display".into()).spawn(move || {
            let mut panel: Option<PanelDisplay<Box<dyn Transport>>> = None;
            while let Some(job) = rx.blocking_recv() {
                let result = show(&mut panel, &profile, &job.screen);
                match &result {
                    Ok(()) => set_health(&h, true, None),
                    Err(e) => {
                        tracing::warn!(error = %e, "customer display failed; it will be reopened");
                        panel = None;
                        set_health(&h, false, Some(e.to_string()));
                    }
                }
                let _ = job.done.send(result.map_err(DeviceError::from));
            }
        })?;
        Ok(DisplayService { jobs, health })
    }

    /// Shows `screen` and returns once the panel acknowledged it.
    pub async fn show(&self, screen: Screen) -> Result<(), DeviceError> {
        let (done, rx) = oneshot::channel();
        self.jobs.send(Job { screen, done }).await.map_err(|_| DeviceError::Stopped("display"))?;
        rx.await.map_err(|_| DeviceError::Stopped("display"))?
    }

    /// The display's state.
    pub fn health(&self) -> DeviceHealth {
        read_health(&self.health)
    }
}

fn show(
    panel: &mut Option<PanelDisplay<Box<dyn Transport>>>,
    profile: &DisplayProfile,
    screen: &Screen,
) -> Result<(), PanelError> {
    if panel.is_none() {
        let transport = open_transport(&profile.endpoint)?;
        *panel = Some(PanelDisplay::open(transport)?);
    }
    let Some(p) = panel.as_mut() else { return Ok(()) };
    let (w, h) = p.size();
    p.show(&render(screen, w, h))
}
