//! One lightweight fleet link: the client side of docs/fleet.md written from the spec
//! alone (not src/fleet's terminal). MQTT 5 over TLS with its own certificate, the last
//! will (the offline state, retained), its retained state at each connection, its three
//! config topics subscribed at each connection; half a second after the last document
//! changed it works out the offered versions (a layer's `version` when its bucket is in
//! the rollout, else its `previous`) and, when they differ from what it runs, publishes
//! its state again naming them in `config.running` (as a terminal does after its restart
//! into the new configuration). Reconnects as src/fleet/link.rs does: the same
//! RetryPolicy, the failure count 1 at the loss. Tells the benchmark what happened.

use posagent::backend::RetryPolicy;
use posagent::fleet::{TerminalPath, TerminalState};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, LastWill, Packet};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

/// src/fleet/link.rs's waits between connection attempts.
pub const RECONNECT: RetryPolicy =
    RetryPolicy { attempts: u32::MAX, base: Duration::from_millis(500), cap: Duration::from_secs(30) };
/// docs/fleet.md: the offered configuration is worked out this long after the last change.
pub const SETTLE: Duration = Duration::from_millis(500);
const LAYERS: [&str; 3] = ["chain", "store", "terminal"];

/// What a link tells the benchmark, with when.
#[derive(Debug, Clone)]
pub enum Kind {
    /// CONNACK received.
    Connected,
    /// The connection broke (the first failure).
    Lost,
    /// A connection attempt after the loss failed.
    Failed,
    /// A config document arrived on `layer` (0 chain, 1 store, 2 terminal).
    Document { layer: usize, version: Option<String> },
    /// The state naming these running versions was handed to the client.
    Reported { chain: Option<String> },
    /// The operator saw this link's state (online or not) naming this chain version.
    Observed { chain: Option<String>, online: bool },
}

/// An event of link `id`.
pub struct Ev {
    pub id: usize,
    pub at: Instant,
    pub kind: Kind,
}

/// A pushed config document (docs/fleet.md), the keys the link needs.
#[derive(Deserialize)]
struct Document {
    version: String,
    rollout: Option<Rollout>,
    previous: Option<Previous>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Rollout {
    Percent(u32),
    Terminals(Vec<String>),
}

#[derive(Deserialize)]
struct Previous {
    version: String,
}

/// The rollout bucket: CRC-32 (ISO-HDLC, zlib's) of `chain/store/terminal`, modulo 100.
pub fn bucket(path: &str) -> u32 {
    crc32(path.as_bytes()) % 100
}

/// CRC-32/ISO-HDLC, bit by bit (reflected 0x04C11DB7, init and final XOR all ones).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// How the links behave beyond the spec's defaults (the benchmark's variants).
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// `RESTART_ON_APPLY`: a new configuration ends the connection (the farewell, then
    /// DISCONNECT) and a new one starts at once, as the terminal's `exec` would.
    pub restart_on_apply: bool,
    /// `RECONNECT_WINDOW_SECS`: the first attempt after a loss drawn uniformly in this
    /// window instead of the terminal's first 0.5 s (then RECONNECT as before); zero:
    /// the terminal's policy.
    pub first_window: Duration,
}

/// One link's connection and what it runs.
pub struct Link {
    id: usize,
    path: TerminalPath,
    client: AsyncClient,
    eventloop: EventLoop,
    events: mpsc::UnboundedSender<Ev>,
    first_connect: Option<OwnedSemaphorePermit>,
    failures: u32,
    documents: [Option<Document>; 3],
    running: [Option<String>; 3],
    settle_at: Option<tokio::time::Instant>,
    behaviour: Behaviour,
    restarting: bool,
    options: MqttOptions,
}

impl Link {
    /// Link `id` as `path`, to the broker on `port`; `permit` is held until its first CONNACK.
    pub fn new(
        id: usize,
        path: TerminalPath,
        port: u16,
        tls: Arc<tokio_rustls::rustls::ClientConfig>,
        events: mpsc::UnboundedSender<Ev>,
        permit: OwnedSemaphorePermit,
        behaviour: Behaviour,
    ) -> Link {
        let mut options = MqttOptions::new(path.to_string(), "127.0.0.1", port);
        options.set_clean_start(true);
        options.set_connection_timeout(10);
        // rumqttc's default (u16::MAX) allocates a slot per packet id up front: 13.6 MiB
        // a client. Mosquitto's receive maximum is 20 (max_inflight_messages).
        options.set_outgoing_inflight_upper_limit(20);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(tls)));
        options.set_last_will(will(&path));
        let (client, eventloop) = AsyncClient::new(options.clone(), 8);
        Link {
            id,
            path,
            client,
            eventloop,
            events,
            first_connect: Some(permit),
            failures: 0,
            documents: [None, None, None],
            running: [None, None, None],
            settle_at: None,
            behaviour,
            restarting: false,
            options,
        }
    }

    fn tell(&self, kind: Kind) {
        let _ = self.events.send(Ev { id: self.id, at: Instant::now(), kind });
    }

    /// Runs the link until the task is aborted.
    pub async fn run(mut self) {
        loop {
            let settle = self.settle_at;
            tokio::select! {
                polled = self.eventloop.poll() => match polled {
                    Ok(Event::Incoming(p)) => self.incoming(p),
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) if self.restarting => self.start_again(),
                    Ok(Event::Outgoing(_)) => {}
                    Err(_) => self.failed().await,
                },
                () = sleep_until(settle) => self.settled(),
            }
        }
    }

    fn incoming(&mut self, packet: Packet) {
        match packet {
            Packet::ConnAck(_) => {
                self.failures = 0;
                self.first_connect = None;
                self.tell(Kind::Connected);
                let filters = self.topics().into_iter().map(|t| Filter::new(t, QoS::AtLeastOnce));
                let _ = self.client.try_subscribe_many(filters);
                self.publish_state();
            }
            Packet::Publish(p) => {
                let topic = String::from_utf8_lossy(&p.topic);
                let Some(layer) = self.topics().iter().position(|t| *t == topic) else { return };
                // An empty (retained) message removes the layer; a document that does not
                // parse is taken as none here (the terminal would refuse it).
                let doc = serde_json::from_slice::<Document>(&p.payload).ok();
                self.tell(Kind::Document { layer, version: doc.as_ref().map(|d| d.version.clone()) });
                self.documents[layer] = doc;
                self.settle_at = Some(tokio::time::Instant::now() + SETTLE);
            }
            _ => {}
        }
    }

    /// The connection broke, or an attempt failed: wait as the terminal does, renew the will.
    async fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        self.tell(if self.failures == 1 { Kind::Lost } else { Kind::Failed });
        let window = self.behaviour.first_window;
        let wait = if self.failures == 1 && !window.is_zero() {
            window.mul_f64(fastrand::f64())
        } else {
            RECONNECT.delay(self.failures, None, fastrand::f64()).max(Duration::from_millis(100))
        };
        tokio::time::sleep(wait).await;
        self.eventloop.options.set_last_will(will(&self.path));
    }

    /// The offered versions: each layer's own when this terminal is in its rollout.
    fn settled(&mut self) {
        self.settle_at = None;
        let bucket = bucket(&self.path.to_string());
        let offered = self.documents.each_ref().map(|doc| {
            let doc = doc.as_ref()?;
            let inside = match &doc.rollout {
                None => true,
                Some(Rollout::Percent(p)) => bucket < *p,
                Some(Rollout::Terminals(named)) => named.contains(&self.path.terminal),
            };
            if inside { Some(doc.version.clone()) } else { doc.previous.as_ref().map(|p| p.version.clone()) }
        });
        if offered != self.running {
            self.running = offered;
            if self.behaviour.restart_on_apply {
                let farewell = serde_json::to_vec(&TerminalState::offline(&self.path.to_string(), now_ms())).unwrap();
                let _ = self.client.try_publish(self.path.state(), QoS::AtLeastOnce, true, farewell);
                self.restarting = self.client.try_disconnect().is_ok();
            } else {
                self.publish_state();
            }
        }
    }

    /// The restarted daemon's new connection: a new client, connecting at once.
    fn start_again(&mut self) {
        self.restarting = false;
        self.options.set_last_will(will(&self.path));
        (self.client, self.eventloop) = AsyncClient::new(self.options.clone(), 8);
    }

    /// Its three config topics: chain, store, terminal.
    fn topics(&self) -> [String; 3] {
        let TerminalPath { chain, store, terminal } = &self.path;
        [
            format!("posagent/{chain}/config"),
            format!("posagent/{chain}/{store}/config"),
            format!("posagent/{chain}/{store}/{terminal}/config"),
        ]
    }

    /// The retained state, online, with `config` naming what it runs.
    fn publish_state(&self) {
        let mut state = serde_json::to_value(online(&self.path)).unwrap();
        let running: serde_json::Map<String, Value> =
            LAYERS.iter().zip(&self.running).map(|(l, v)| (l.to_string(), json!(v))).collect();
        let status = if self.running.iter().all(Option::is_none) { "local" } else { "trial" };
        state["config"] = json!({"running": running, "status": status, "offered": null, "detail": null});
        let payload = serde_json::to_vec(&state).unwrap();
        if self.client.try_publish(self.path.state(), QoS::AtLeastOnce, true, payload).is_ok() {
            self.tell(Kind::Reported { chain: self.running[0].clone() });
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn now_ms() -> i64 {
    posagent::domain::now_ms()
}

/// The last will: the offline state, retained, QoS 1.
fn will(path: &TerminalPath) -> LastWill {
    let payload = serde_json::to_vec(&TerminalState::offline(&path.to_string(), now_ms())).unwrap();
    LastWill::new(path.state(), payload, QoS::AtLeastOnce, true, None)
}

/// A healthy terminal's state, of the size a real one has (three devices, a queue).
fn online(path: &TerminalPath) -> TerminalState {
    let mut state = TerminalState::offline(&path.to_string(), now_ms());
    state.online = true;
    state.uptime_secs = Some(86_400);
    state.health = Some("ok".to_string());
    state.devices = ["display", "printer", "card_reader"]
        .map(|device| posagent::fleet::state::Device {
            device: device.to_string(),
            connected: true,
            firmware: Some("1.08".to_string()),
            firmware_validated: Some(true),
            conditions: vec![],
        })
        .to_vec();
    state.queue = Some(posagent::fleet::state::Queue { depth: 0, oldest_age_secs: None, dead: 0 });
    state
}
