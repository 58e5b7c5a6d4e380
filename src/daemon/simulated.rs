//! `posagent run --simulator`: the same daemon, with the simulated acquirer, display and
//! printer started in-process on loopback ports.

use super::{Daemon, DaemonError, create_private_dir, write_secret};
use crate::config::{
    AcquirerConfig, ConfigError, DeviceProfile, EcrConfig, Endpoint, LimitsConfig, StoreConfig, StoreSection,
};
use posagent_acquirer_api::Currency;
use posagent_sim::{SimConfig, SimEnvironment};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The simulator's device profile, shipped in `firmware-config/`.
const SIMULATOR_PROFILE: &str = include_str!("../../firmware-config/simulator.toml");
const COUNTER_PC_PROFILE: &str = include_str!("../../firmware-config/counter-pc.toml");

/// The daemon and the simulator it runs against.
pub struct SimulatedDaemon {
    /// The daemon.
    pub daemon: Daemon,
    /// The simulator.
    pub sim: SimEnvironment,
}

/// A store config for the simulator: a Swedish store selling in SEK.
pub fn simulated_store_config(data_dir: &Path, backend_url: &str, ecr_listen: SocketAddr) -> StoreConfig {
    StoreConfig {
        data_dir: data_dir.to_path_buf(),
        store: StoreSection {
            store_reference: "sim-store-0001".into(),
            terminal_reference: "SIM01".into(),
            name: "Simulated Store".into(),
            country: "SE".into(),
            currency: Currency::SEK,
            locale: "sv-SE".into(),
            logo: None,
            merchant_copy: false,
            address: vec![],
            vat_number: None,
            time_zone: Default::default(),
        },
        acquirer: AcquirerConfig {
            url: backend_url.into(),
            credentials_file: data_dir.join("acquirer.key"),
            timeout_ms: 10_000,
            ca_file: None,
            client_identity_file: None,
            event_signing_keys_file: None,
        },
        ecr: EcrConfig { listen: ecr_listen, ..EcrConfig::default() },
        limits: LimitsConfig::default(),
        offline: Default::default(),
        sync: Default::default(),
        metrics: Default::default(),
        console: simulated_console(),
        // A ZVT register may drive it too, on a port of its own (printed at start).
        zvt: Some(crate::config::ZvtConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            ..Default::default()
        }),
        fleet: None,
        device_profile: PathBuf::from("firmware-config/simulator.toml"),
        printer_endpoint: None,
        log_level: None,
    }
}

/// A café's quick keys (12 % VAT on food in Sweden, 25 % on the rest), and cashiers may
/// refund up to 100 SEK without a supervisor.
fn simulated_console() -> crate::config::ConsoleConfig {
    let article = |reference: &str, name: &str, price, tax_rate| crate::config::Article {
        reference: reference.into(),
        name: name.into(),
        price,
        tax_rate,
    };
    crate::config::ConsoleConfig {
        cashier_refund_limit: 10_000,
        articles: vec![
            article("KAFFE", "Kaffe", 3_500, 1_200),
            article("LATTE", "Caffè latte", 4_900, 1_200),
            article("BULLE", "Kanelbulle", 3_200, 1_200),
            article("MACKA", "Räksmörgås", 11_900, 1_200),
            article("MUGG", "Termosmugg", 24_900, 2_500),
            article("BONOR", "Kaffebönor 500 g", 15_900, 1_200),
        ],
        ..Default::default()
    }
}

/// The simulator's device profile, pointed at the simulated devices of `sim`.
pub fn simulated_profile(sim: &SimEnvironment) -> Result<DeviceProfile, ConfigError> {
    let mut profile = DeviceProfile::parse(SIMULATOR_PROFILE, Path::new("firmware-config/simulator.toml"))?;
    profile.display.endpoint = Endpoint::Tcp(sim.display_addr.to_string());
    profile.printer.endpoint = Endpoint::Tcp(sim.printer_addr.to_string());
    sim.printer.set_columns(profile.printer.profile.columns);
    let firmware = profile.card_reader.as_ref().map(|c| c.firmware.clone()).unwrap_or_default();
    profile.card_reader = sim.card_reader.as_ref().map(|r| crate::config::CardReaderProfile {
        endpoint: Endpoint::Serial { path: r.path.clone(), baud: 115_200 },
        firmware: firmware.clone(),
    });
    Ok(profile)
}

/// The shipped counter-PC profile (2×20 line display, QR code on a slip) with its
/// devices pointed at the simulator's.
pub fn simulated_line_display_profile(sim: &SimEnvironment) -> Result<DeviceProfile, ConfigError> {
    let path = Path::new("firmware-config/counter-pc.toml");
    let mut profile = DeviceProfile::parse(COUNTER_PC_PROFILE, path)?;
    let Some(line) = &sim.line_display else {
        return Err(crate::config::invalid(path, "display.endpoint", "this system has no pseudo-terminals"));
    };
    profile.display.endpoint = Endpoint::Serial { path: line.path.clone(), baud: 9600 };
    profile.printer.endpoint = Endpoint::Tcp(sim.printer_addr.to_string());
    sim.printer.set_columns(profile.printer.profile.columns);
    let firmware = profile.card_reader.as_ref().map(|c| c.firmware.clone()).unwrap_or_default();
    profile.card_reader = sim.card_reader.as_ref().map(|r| crate::config::CardReaderProfile {
        endpoint: Endpoint::Serial { path: r.path.clone(), baud: 115_200 },
        firmware: firmware.clone(),
    });
    Ok(profile)
}

/// Starts the simulator alone, with the terminal API key in `data_dir/acquirer.key`
/// (created, mode 0600, if missing); frames and receipts go under `sim_out`.
pub async fn start_simulator(
    data_dir: &Path,
    sim_out: &Path,
    shutdown: CancellationToken,
) -> Result<SimEnvironment, DaemonError> {
    create_private_dir(data_dir)?;
    let key_path = data_dir.join("acquirer.key");
    let api_key = match crate::ecr::read_token(&key_path) {
        Ok(k) => k,
        Err(_) => {
            let k = format!("sim_{}", uuid::Uuid::new_v4().simple());
            write_secret(&key_path, &k)?;
            k
        }
    };
    SimEnvironment::start(SimConfig::new(api_key, Some(sim_out.to_path_buf())), shutdown)
        .await
        .map_err(|source| DaemonError::DataDir { path: sim_out.to_path_buf(), source })
}

/// Starts the simulator and the daemon against it. `base` overrides the store, limits
/// and ECR sections but the token file (e.g. from `--config`); state lives under `data_dir`, the simulated display's frames
/// and the printed receipts under `sim_out` (`display/`, `printer/`).
pub async fn start_simulated(
    data_dir: &Path,
    sim_out: &Path,
    ecr_listen: SocketAddr,
    base: Option<StoreConfig>,
    line_display: bool,
    shutdown: CancellationToken,
) -> Result<SimulatedDaemon, DaemonError> {
    let sim = start_simulator(data_dir, sim_out, shutdown.clone()).await?;
    let mut config = simulated_store_config(data_dir, &sim.backend_url, ecr_listen);
    if let Some(base) = base {
        config.store = base.store;
        config.limits = base.limits;
        config.ecr = crate::config::EcrConfig { token_file: config.ecr.token_file, ..base.ecr };
    }
    let profile = if line_display { simulated_line_display_profile(&sim)? } else { simulated_profile(&sim)? };
    let daemon = Daemon::start(config, profile, shutdown).await?;
    seed_demo_cashiers(&daemon.facts.state.console.staff).await;
    Ok(SimulatedDaemon { daemon, sim })
}

/// The simulator's cashiers, so the console can be signed in to at once: 1 (cashier,
/// PIN 1357) and 2 (supervisor, PIN 2468), added to a journal that has none.
pub const DEMO_CASHIERS: [(&str, &str, crate::domain::Role, &str); 2] =
    [("1", "Alex", crate::domain::Role::Cashier, "1357"), ("2", "Sam", crate::domain::Role::Supervisor, "2468")];

async fn seed_demo_cashiers(staff: &crate::staff::Staff) {
    if !staff.list().await.is_ok_and(|l| l.is_empty()) {
        return;
    }
    for (id, name, role, pin) in DEMO_CASHIERS {
        let change = crate::staff::CashierChange {
            id: id.into(),
            name: name.into(),
            role,
            active: true,
            pin: Some(zeroize::Zeroizing::new(pin.into())),
        };
        if let Err(e) = staff.put(change).await {
            tracing::warn!(error = %e, "the simulator's demo cashier could not be added");
        }
    }
}
