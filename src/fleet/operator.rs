//! The operator's side of the link, for `posagent fleet`: read every terminal's retained
//! state (`status`), and send a terminal one command and wait for its result
//! (`command`), and change a layer's retained config document (`push`, `rollout`,
//! `rollback`: [`Operator::update_document`]), each over a connection of its own with the
//! operator's certificate.

use super::commands::CommandResult;
use super::document::ConfigDocument;
use super::state::TerminalState;
use super::tls::TlsFiles;
use super::topics::{ALL_STATES, TerminalPath};
use super::{FleetError, mqtt_options};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, Event, EventLoop};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How the operator reaches the broker.
#[derive(Debug, Clone)]
pub struct Operator {
    /// `mqtts://host:port` (or `mqtt://127.0.0.1:port`).
    pub broker_url: String,
    /// The CA, the operator's certificate and key (mqtts).
    pub files: Option<TlsFiles>,
    /// The MQTT client id (the broker may replace it with the certificate's CN).
    pub client_id: String,
}

/// Largest packet the operator takes from the broker.
const MAX_PACKET: u32 = 256 * 1024;

/// After the subscription is granted, the retained states are taken as all there once
/// none came for this long.
pub const QUIET: Duration = Duration::from_millis(300);

/// How long after the subscription is granted a layer's retained document is waited for.
pub const QUIET_DOCUMENT: Duration = Duration::from_secs(1);

impl Operator {
    async fn connect(&self) -> Result<(AsyncClient, EventLoop), FleetError> {
        let mut options = mqtt_options(&self.broker_url, &self.client_id, self.files.clone()).await?;
        options.set_keep_alive(Duration::from_secs(30));
        // A doctor's result or a state with long reasons may pass the client's 10 KiB.
        options.set_max_packet_size(Some(MAX_PACKET));
        Ok(AsyncClient::new(options, 16))
    }

    fn broker_error(&self, message: impl std::fmt::Display) -> FleetError {
        FleetError::Broker { broker: self.broker_url.clone(), message: message.to_string() }
    }

    /// Next event before `deadline`.
    async fn next(&self, eventloop: &mut EventLoop, deadline: Instant, wait: Duration) -> Result<Event, FleetError> {
        match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Ok(Ok(event)) => Ok(event),
            Ok(Err(e)) => Err(self.broker_error(e)),
            Err(_) => Err(FleetError::Timeout(wait)),
        }
    }

    /// Every terminal's retained state (the will of those offline), by terminal.
    pub async fn states(&self, wait: Duration) -> Result<BTreeMap<TerminalPath, TerminalState>, FleetError> {
        let (client, mut eventloop) = self.connect().await?;
        client.subscribe(ALL_STATES, QoS::AtLeastOnce).await.map_err(|e| FleetError::Internal(e.to_string()))?;
        let deadline = Instant::now() + wait;
        let mut granted_at: Option<Instant> = None;
        let mut found = BTreeMap::new();
        loop {
            let until = granted_at.map_or(deadline, |at| (at + QUIET).min(deadline));
            let event = match self.next(&mut eventloop, until, wait).await {
                Err(FleetError::Timeout(_)) if granted_at.is_some() => break,
                other => other?,
            };
            match event {
                Event::Incoming(Packet::SubAck(ack)) => {
                    granted(&ack.return_codes).map_err(|why| self.broker_error(why))?;
                    granted_at = Some(Instant::now());
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let topic = String::from_utf8_lossy(&p.topic).into_owned();
                    let Some(path) = TerminalPath::of_state_topic(&topic) else { continue };
                    match serde_json::from_slice::<TerminalState>(&p.payload) {
                        // The topic says who it is (the broker's ACL keeps each to its own).
                        Ok(state) => drop(found.insert(path, TerminalState { terminal: topic_path(&topic), ..state })),
                        Err(e) => tracing::warn!(%topic, error = %e, "a state that does not parse; left out"),
                    }
                    if granted_at.is_some() {
                        granted_at = Some(Instant::now());
                    }
                }
                _ => {}
            }
        }
        let _ = client.try_disconnect();
        Ok(found)
    }

    /// Sends `command` (a JSON object with `command`) to `terminal` and waits up to
    /// `wait` for its final result.
    pub async fn command(
        &self,
        terminal: &TerminalPath,
        command: &serde_json::Value,
        wait: Duration,
    ) -> Result<CommandResult, FleetError> {
        let id = format!("op-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let (client, mut eventloop) = self.connect().await?;
        let internal = |e: rumqttc::v5::ClientError| FleetError::Internal(e.to_string());
        client.subscribe(terminal.result(&id), QoS::AtLeastOnce).await.map_err(internal)?;
        let deadline = Instant::now() + wait;
        let payload = serde_json::to_vec(command).map_err(|e| FleetError::Internal(e.to_string()))?;
        loop {
            match self.next(&mut eventloop, deadline, wait).await? {
                Event::Incoming(Packet::SubAck(ack)) => {
                    granted(&ack.return_codes).map_err(|why| self.broker_error(why))?;
                    client
                        .publish(terminal.command(&id), QoS::AtLeastOnce, false, payload.clone())
                        .await
                        .map_err(internal)?;
                }
                Event::Incoming(Packet::PubAck(ack)) if ack.reason == PubAckReason::NotAuthorized => {
                    return Err(self.broker_error(
                        "refused the command: this certificate may not command that terminal (the broker's ACL)",
                    ));
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let Ok(result) = serde_json::from_slice::<CommandResult>(&p.payload) else { continue };
                    if result.id == id && result.stage == "done" {
                        let _ = client.try_disconnect();
                        return Ok(result);
                    }
                }
                _ => {}
            }
        }
    }
}

impl Operator {
    /// Reads the document retained on `topic` (a layer's), gives it to `change`, and
    /// publishes what that returns, retained (`None`: an empty message, the layer
    /// removed), once the broker has taken it. Returns the document before and after.
    pub async fn update_document(
        &self,
        topic: &str,
        wait: Duration,
        change: impl FnOnce(Option<ConfigDocument>) -> Result<Option<ConfigDocument>, String>,
    ) -> Result<(Option<ConfigDocument>, Option<ConfigDocument>), FleetError> {
        let (client, mut eventloop) = self.connect().await?;
        let internal = |e: rumqttc::v5::ClientError| FleetError::Internal(e.to_string());
        client.subscribe(topic, QoS::AtLeastOnce).await.map_err(internal)?;
        let deadline = Instant::now() + wait;
        let mut current: Option<Result<Option<ConfigDocument>, String>> = None;
        let mut granted_at: Option<Instant> = None;
        // The retained document, if any, comes right after the subscription is granted
        // (waited for longer than a state: a document missed would lose its `previous`).
        loop {
            let until = granted_at.map_or(deadline, |at| (at + QUIET_DOCUMENT).min(deadline));
            match self.next(&mut eventloop, until, wait).await {
                Err(FleetError::Timeout(_)) if granted_at.is_some() => break,
                Err(e) => return Err(e),
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    granted(&ack.return_codes).map_err(|why| self.broker_error(why))?;
                    granted_at = Some(Instant::now());
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic.as_bytes() => {
                    current = Some(ConfigDocument::parse(&p.payload));
                    break;
                }
                Ok(_) => {}
            }
        }
        let before = match current {
            None => None,
            Some(Ok(doc)) => doc,
            Some(Err(e)) => {
                tracing::warn!(topic, error = %e, "the retained document does not parse; it is replaced");
                None
            }
        };
        let after = change(before.clone()).map_err(FleetError::Address)?;
        let payload = match &after {
            Some(doc) => serde_json::to_vec(doc).map_err(|e| FleetError::Internal(e.to_string()))?,
            None => vec![],
        };
        client.publish(topic, QoS::AtLeastOnce, true, payload).await.map_err(internal)?;
        loop {
            match self.next(&mut eventloop, deadline, wait).await? {
                Event::Incoming(Packet::PubAck(ack)) if ack.reason == PubAckReason::Success => break,
                Event::Incoming(Packet::PubAck(ack)) => {
                    return Err(self.broker_error(format!(
                        "refused the document ({:?}): this certificate may not publish on {topic} (the broker's ACL)",
                        ack.reason
                    )));
                }
                _ => {}
            }
        }
        let _ = client.try_disconnect();
        Ok((before, after))
    }
}

/// `chain/store/terminal` of a state topic.
fn topic_path(topic: &str) -> String {
    TerminalPath::of_state_topic(topic).map(|p| p.to_string()).unwrap_or_default()
}

/// Whether the broker granted the subscription.
fn granted(codes: &[SubscribeReasonCode]) -> Result<(), String> {
    match codes.iter().find(|c| !matches!(c, SubscribeReasonCode::Success(_))) {
        None => Ok(()),
        Some(c) => {
            Err(format!("refused the subscription ({c:?}): check this certificate's rights in the broker's ACL"))
        }
    }
}
