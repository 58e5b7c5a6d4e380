//! The operator's side: one client with the operator's certificate that publishes the
//! config documents (retained, QoS 1, as `posagent fleet push` would) and watches
//! `posagent/+/+/+/state` as `posagent fleet status` does, telling the benchmark each
//! state it sees with the chain version it names.

use super::link::{Ev, Kind};
use posagent::fleet::TerminalPath;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The operator's connection; its watcher runs on a task of its own.
pub struct Operator {
    client: AsyncClient,
}

/// An operator's client options: `cn`'s certificate, to the broker on `port`.
fn options(cn: &str, port: u16, tls: Arc<tokio_rustls::rustls::ClientConfig>) -> MqttOptions {
    let mut options = MqttOptions::new(cn, "127.0.0.1", port);
    options.set_clean_start(true);
    options.set_connection_timeout(10);
    options.set_outgoing_inflight_upper_limit(20);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(tls)));
    options
}

/// What `posagent fleet status` does: subscribe to every state and take the retained
/// ones (until `n`, or 0.3 s after the last); returns how many and how long it took.
pub async fn status(port: u16, tls: Arc<tokio_rustls::rustls::ClientConfig>, n: usize) -> (usize, Duration) {
    let (client, mut eventloop) = AsyncClient::new(options("operator-bob", port, tls), 16);
    let started = Instant::now();
    let mut got = std::collections::HashSet::new();
    let mut last = started;
    while got.len() < n {
        match tokio::time::timeout(Duration::from_millis(300), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                let _ = client.try_subscribe(posagent::fleet::topics::ALL_STATES, QoS::AtLeastOnce);
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.retain => {
                last = Instant::now();
                got.insert(p.topic.to_vec());
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) if !got.is_empty() => break,
            Ok(Err(e)) => panic!("operator-bob: {e}"),
            Err(_) => {}
        }
    }
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    (got.len(), last - started)
}

impl Operator {
    /// Connects as `operator-alice` and starts watching the states.
    pub fn start(
        port: u16,
        tls: Arc<tokio_rustls::rustls::ClientConfig>,
        events: mpsc::UnboundedSender<Ev>,
    ) -> Operator {
        let (client, eventloop) = AsyncClient::new(options("operator-alice", port, tls), 64);
        tokio::spawn(watch(client.clone(), eventloop, events));
        Operator { client }
    }

    /// Publishes `doc` retained on the chain's config topic; returns when it was handed over.
    pub async fn push_chain(&self, chain: &str, doc: Value) -> Instant {
        let payload = serde_json::to_vec(&doc).unwrap();
        let at = Instant::now();
        self.client.publish(format!("posagent/{chain}/config"), QoS::AtLeastOnce, true, payload).await.unwrap();
        at
    }
}

/// Every state seen, as `Kind::Observed` of the link its terminal name (`t{id}`) names.
async fn watch(client: AsyncClient, mut eventloop: EventLoop, events: mpsc::UnboundedSender<Ev>) {
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.try_subscribe(posagent::fleet::topics::ALL_STATES, QoS::AtLeastOnce);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let at = Instant::now();
                let topic = String::from_utf8_lossy(&p.topic);
                let Some(path) = TerminalPath::of_state_topic(&topic) else { continue };
                let Some(id) = path.terminal.strip_prefix('t').and_then(|n| n.parse().ok()) else { continue };
                let state: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                let chain = state["config"]["running"]["chain"].as_str().map(str::to_string);
                let online = state["online"] == true;
                let _ = events.send(Ev { id, at, kind: Kind::Observed { chain, online } });
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
