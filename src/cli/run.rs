//! `posagent run`: the daemon, on a config file or on the embedded simulator, until
//! SIGTERM or Ctrl-C (a second one stops without waiting for the sale in progress);
//! SIGHUP reloads what can change without a restart. With `[fleet]` the fleet link runs
//! beside it, and the pushed configuration's layers go over the config file
//! ([`posagent::fleet::applied::at_start`]); when the link takes a new configuration the
//! daemon stops as on SIGTERM and starts again in the same process (`exec`).

#[cfg(not(feature = "simulator"))]
use super::NoSimulator;
use super::OR_SIMULATOR;
use anyhow::bail;
use posagent::config::{DeviceProfile, StoreConfig};
use posagent::daemon::Daemon;
use posagent::fleet::applied::AppliedFile;
use posagent::fleet::pushed::PushedSetup;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_util::sync::CancellationToken;

/// A line on stdout, for a person or a supervising program; a closed stdout (a reader
/// gone, as after a restart in place) is no error.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// SIGTERM and Ctrl-C, listened to from the start of `run` (a signal during start-up is
/// a stop in order, not the default action's end of the process).
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> StopSignals {
        #[cfg(unix)]
        {
            let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
            StopSignals { term: term.ok() }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for the next SIGTERM or Ctrl-C.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reloads on SIGHUP what can be changed without a restart: the config file with the
/// pushed layers the daemon runs (`record`) over it.
#[cfg(unix)]
fn reload_on_sighup(daemon: &Daemon, config: Option<PathBuf>, record: Option<PathBuf>) {
    let Some(path) = config else { return };
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
    let reload = daemon.reload_handle();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let (path, record) = (path.clone(), record.clone());
            let loaded =
                tokio::task::spawn_blocking(move || posagent::fleet::applied::load_running(&path, record.as_deref()))
                    .await;
            match loaded {
                Ok(Ok(c)) => reload.apply(&c),
                Ok(Err(e)) => tracing::error!(error = %e, "SIGHUP: the config does not load; nothing changed"),
                Err(e) => tracing::error!(error = %e, "SIGHUP: the config was not read"),
            }
        }
    });
}

/// `run --simulator`: the simulator and the daemon on it in this process; writes
/// `simulator.json` (for `sale`, `report`, `queue` without `--config`) and prints the URLs.
#[cfg(feature = "simulator")]
async fn start_on_simulator(
    data_dir: &Path,
    listen: SocketAddr,
    base: Option<StoreConfig>,
    line_display: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Daemon> {
    let sim_out = data_dir.join("sim");
    let running = posagent::daemon::start_simulated(data_dir, &sim_out, listen, base, line_display, shutdown).await?;
    let s = &running.sim;
    let info = serde_json::json!({
        "ecr_url": running.daemon.ecr_url,
        "ecr_token_file": running.daemon.ecr_token_file,
        "sim_url": s.backend_url,
        "acquirer_key_file": data_dir.join("acquirer.key"),
        "zvt": running.daemon.zvt_addrs,
    });
    use anyhow::Context as _;
    let info_path = data_dir.join("simulator.json");
    std::fs::write(&info_path, serde_json::to_vec_pretty(&info)?)
        .with_context(|| format!("cannot write {}", info_path.display()))?;
    say!("posagent is running on the simulator (Ctrl-C stops it)");
    say!("  ECR API             {}   token: {}", running.daemon.ecr_url, running.daemon.ecr_token_file.display());
    say!("  health              {}/health", running.daemon.ecr_url);
    say!("  cashier console     {}/console   (cashier 1, PIN 1357; supervisor 2, PIN 2468)", running.daemon.ecr_url);
    for zvt in &running.daemon.zvt_addrs {
        say!("  ZVT (register)      {zvt}   (docs/zvt.md)");
    }
    say!("  dashboard           {}/   (display, receipts, customer, devices, network)", s.backend_url);
    say!("  simulated acquirer  {}", s.backend_url);
    say!("  customer display    {}/sim/display.png   (frames in {})", s.backend_url, sim_out.join("display").display());
    say!("  receipts            {}", sim_out.join("printer").display());
    say!(
        "  act as the customer curl -X POST -H 'content-type: application/json' -d '{{\"action\":\"approve\"}}' {}/sim/customer",
        s.backend_url
    );
    Ok(running.daemon)
}

/// `run --simulator` in a build without the simulator.
#[cfg(not(feature = "simulator"))]
async fn start_on_simulator(
    _data_dir: &Path,
    _listen: SocketAddr,
    _base: Option<StoreConfig>,
    _line_display: bool,
    _shutdown: CancellationToken,
) -> anyhow::Result<Daemon> {
    Err(NoSimulator("run --simulator").into())
}

pub async fn run(
    config: Option<PathBuf>,
    simulator: bool,
    line_display: bool,
    data_dir: PathBuf,
    listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    // Stopping is the daemon's to order (`Daemon::stop`): the signal only starts it.
    let signals = StopSignals::listen();
    let shutdown = CancellationToken::new();
    let config_path = config.clone();
    let mut base = config.as_deref().map(StoreConfig::load).transpose()?;
    let fleet = match base.as_ref().and_then(|c| c.fleet.as_ref()) {
        Some(f) => Some(posagent::fleet::Fleet::prepare(f).await?),
        None => None,
    };
    // With the fleet link, the pushed layers it took go over the config file.
    let pushed = match (config.as_deref(), base.as_mut(), fleet.as_ref()) {
        (Some(path), Some(local), Some(f)) => Some(with_pushed_layers(path, local, f.grace(), simulator, &data_dir)),
        _ => None,
    };
    if let (Some(c), Some(listen)) = (base.as_mut(), listen) {
        c.ecr.listen = listen;
    }
    let listen = listen.or(base.as_ref().map(|c| c.ecr.listen)).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7600)));
    if let Some(level) = base.as_ref().and_then(|c| c.log_level.as_deref()) {
        posagent::logging::set_level(level)?;
    }
    let daemon = if simulator {
        start_on_simulator(&data_dir, listen, base, line_display, shutdown.clone()).await?
    } else {
        let Some(config) = base else { bail!("pass --config FILE (write one with `posagent init`){OR_SIMULATOR}") };
        let profile = DeviceProfile::load(&config.device_profile)?;
        let d = Daemon::start(config, profile, shutdown.clone()).await?;
        // Into the journal the log's "posagent ready" line says it; a person at a terminal
        // or a supervising program reading stdout gets where to point the register.
        let to_journal =
            std::env::var_os("JOURNAL_STREAM").is_some() && !std::io::IsTerminal::is_terminal(&std::io::stdout());
        if !to_journal {
            say!("posagent is running; ECR API {} (token in {})", d.ecr_url, d.ecr_token_file.display());
        }
        d
    };
    let facts = daemon.facts();
    let restart = CancellationToken::new();
    let record = pushed.as_ref().map(|(record, _)| record.clone());
    let fleet = fleet.zip(pushed).map(|(f, (record, file))| {
        let (grace, spread) = (f.grace(), f.spread());
        let restart = restart.clone();
        let setup = PushedSetup { config_path: config_path.clone(), record, grace, spread, file, restart };
        f.start(facts.clone(), setup, facts.stopping())
    });
    #[cfg(unix)]
    reload_on_sighup(&daemon, config_path, record);
    stop_or_restart(daemon, fleet, signals, restart).await
}

/// The local config `local` (read from `path`) with the recorded pushed layers over it;
/// the record's path and what it holds.
fn with_pushed_layers(
    path: &Path,
    local: &mut StoreConfig,
    grace: std::time::Duration,
    simulator: bool,
    data_dir: &Path,
) -> (PathBuf, AppliedFile) {
    let record = AppliedFile::path(if simulator { data_dir } else { &local.data_dir });
    let (layered, file) =
        tokio::task::block_in_place(|| posagent::fleet::applied::at_start(path, local.clone(), &record, grace));
    *local = layered;
    (record, file)
}

/// Waits for a stop signal or the fleet link's restart, stops the daemon in order, and
/// for a restart `exec`s this program again (unless a SIGTERM came meanwhile).
async fn stop_or_restart(
    daemon: Daemon,
    fleet: Option<posagent::fleet::Fleet>,
    mut signals: StopSignals,
    restart: CancellationToken,
) -> anyhow::Result<()> {
    let restarting = tokio::select! {
        () = signals.next() => false,
        () = restart.cancelled() => true,
    };
    let asked_to_stop = Arc::new(AtomicBool::new(!restarting));
    let hurry = daemon.hurry_handle();
    let asked = asked_to_stop.clone();
    tokio::spawn(async move {
        if restarting {
            // A first SIGTERM during a restart stops instead, as a first SIGTERM does.
            signals.next().await;
            asked.store(true, Ordering::SeqCst);
            tracing::info!(
                "stop requested during the restart: stopping; a second SIGTERM stops without waiting for the sale in progress"
            );
        }
        signals.next().await;
        asked.store(true, Ordering::SeqCst);
        hurry.cancel();
    });
    if restarting {
        tracing::info!("restarting to run the pushed configuration; SIGTERM stops instead");
        daemon.stop_to_restart().await;
    } else {
        tracing::info!("stop requested; a second SIGTERM stops without waiting for the sale in progress");
        daemon.stop().await;
    }
    if let Some(fleet) = fleet {
        fleet.stopped().await;
    }
    if restarting && !asked_to_stop.load(Ordering::SeqCst) {
        return Err(exec_again());
    }
    Ok(())
}

/// Runs this program again in this process, with the same arguments: returns only when
/// that could not be done.
fn exec_again() -> anyhow::Error {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_default();
        // /proc/self/exe is this program even when its file was replaced by an upgrade.
        let program = if Path::new("/proc/self/exe").exists() {
            PathBuf::from("/proc/self/exe")
        } else {
            std::env::current_exe().unwrap_or_else(|_| PathBuf::from(&arg0))
        };
        let e = std::process::Command::new(program).arg0(arg0).args(args).exec();
        anyhow::anyhow!("cannot start again to run the pushed configuration: {e}; start the service again")
    }
    #[cfg(not(unix))]
    anyhow::anyhow!("restarting in place needs a Unix system; start the service again")
}
