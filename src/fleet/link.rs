//! The terminal's side of the link: one task drives the MQTT connection (reconnecting
//! with capped exponential backoff and full jitter, the last will renewed each time),
//! the other publishes the retained state — at each connection, on every change of the
//! facts (read every second and at every sale's change) and at each heartbeat — and runs
//! the commands, each on a task of its own, answering on `…/result/{id}`; the pushed
//! configuration's documents go to [`Pushed`]. Both end on the daemon's cancellation
//! token; a stop publishes the offline state itself first.

use super::commands::{self, CommandResult, Context};
use super::pushed::Pushed;
use super::state::TerminalState;
use super::topics::TerminalPath;
use crate::backend::RetryPolicy;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, LastWill, Packet, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, Event, EventLoop};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the facts are read for a change.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Waits between connection attempts: 0.5 s growing to 30 s, jittered.
const RECONNECT: RetryPolicy =
    RetryPolicy { attempts: u32::MAX, base: Duration::from_millis(500), cap: Duration::from_secs(30) };
/// How long a stop waits for the offline state and the disconnect to leave.
const FAREWELL: Duration = Duration::from_secs(2);
/// Command ids remembered, so a command delivered twice (QoS 1) runs once.
const REMEMBERED_IDS: usize = 128;

/// What the connection's task tells the publisher.
enum LinkEvent {
    /// Connected (again): subscribe and publish the state.
    Connected,
    /// The connection was lost: nothing is published until the next.
    Disconnected,
    /// The subscriptions were answered; whether the config topics were granted.
    Subscribed { config_granted: bool },
    /// A command arrived.
    Command { id: String, payload: Vec<u8>, retained: bool },
    /// A config document (or its removal) arrived.
    Document { topic: String, payload: Vec<u8> },
}

/// The link, ready to run.
pub(super) struct Link {
    pub path: TerminalPath,
    pub client: AsyncClient,
    pub eventloop: EventLoop,
    pub heartbeat: Duration,
    pub spread: Duration,
    pub pushed: Pushed,
}

/// Runs the link until `shutdown`.
pub(super) async fn run(link: Link, cx: Context, shutdown: CancellationToken) {
    let Link { path, client, eventloop, heartbeat, spread, pushed } = link;
    let (events_tx, events) = mpsc::channel(64);
    let conn_stop = CancellationToken::new();
    let mut connection = tokio::spawn(drive(eventloop, path.clone(), spread, events_tx, conn_stop.clone()));
    let publisher = Publisher { path, client, heartbeat, cx, pushed, last: None, seen: VecDeque::new() };
    publisher.run(events, &shutdown).await;
    // The offline state and the disconnect are queued; the connection sends them.
    if tokio::time::timeout(FAREWELL, &mut connection).await.is_err() {
        conn_stop.cancel();
        connection.abort();
    }
    tracing::info!("fleet: link closed");
}

/// Drives the connection: events to the publisher, reconnects after a wait — the first
/// after a lost connection drawn below `spread` (a fleet losing its broker comes back
/// spread over it, not all at once), then the doubling backoff.
async fn drive(
    mut eventloop: EventLoop,
    path: TerminalPath,
    spread: Duration,
    events: mpsc::Sender<LinkEvent>,
    stop: CancellationToken,
) {
    let (mut failures, mut was_connected) = (0u32, false);
    loop {
        let polled = tokio::select! {
            () = stop.cancelled() => return,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if failures > 0 {
                    tracing::info!(failures, "fleet: connected to the broker again");
                } else {
                    tracing::info!("fleet: connected to the broker");
                }
                (failures, was_connected) = (0, true);
                let _ = events.send(LinkEvent::Connected).await;
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let topic = String::from_utf8_lossy(&p.topic).into_owned();
                if let Some(id) = path.command_id(&topic) {
                    let event =
                        LinkEvent::Command { id: id.to_string(), payload: p.payload.to_vec(), retained: p.retain };
                    let _ = events.send(event).await;
                } else if path.config_layer(&topic).is_some() {
                    let _ = events.send(LinkEvent::Document { topic, payload: p.payload.to_vec() }).await;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                // The config topics are the last three filters (see `Publisher::subscribe`).
                let config_granted = ack.return_codes.len() == 4
                    && ack.return_codes[1..].iter().all(|c| matches!(c, SubscribeReasonCode::Success(_)));
                let _ = events.send(LinkEvent::Subscribed { config_granted }).await;
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                failures = failures.saturating_add(1);
                if failures == 1 {
                    let _ = events.send(LinkEvent::Disconnected).await;
                    tracing::warn!(error = %e, "fleet: the broker cannot be reached; trying again");
                } else {
                    tracing::debug!(error = %e, failures, "fleet: the broker cannot be reached");
                }
                if events.is_closed() {
                    return;
                }
                let wait = if failures == 1 && was_connected {
                    spread.mul_f64(fastrand::f64())
                } else {
                    RECONNECT.delay(failures, None, fastrand::f64())
                }
                .max(Duration::from_millis(100));
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                let will = TerminalState::offline(&path.to_string(), crate::domain::now_ms());
                eventloop.options.set_last_will(will_of(&path, &will));
            }
        }
    }
}

/// Sleeps until `at` (forever when `None`; the caller's guard keeps that from being polled).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The last will: the offline state, retained on `…/state`.
pub(super) fn will_of(path: &TerminalPath, will: &TerminalState) -> LastWill {
    let payload = serde_json::to_vec(will).unwrap_or_default();
    LastWill::new(path.state(), payload, QoS::AtLeastOnce, true, None)
}

/// Publishes the state and runs the commands.
struct Publisher {
    path: TerminalPath,
    client: AsyncClient,
    heartbeat: Duration,
    cx: Context,
    pushed: Pushed,
    last: Option<TerminalState>,
    seen: VecDeque<String>,
}

impl Publisher {
    async fn run(mut self, mut events: mpsc::Receiver<LinkEvent>, shutdown: &CancellationToken) {
        let (results_tx, mut results) = mpsc::channel::<CommandResult>(32);
        let mut look = tokio::time::interval(LOOK_EVERY);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sales = self.cx.facts.sale_changes();
        // Polled only while something ticks: a backlog of missed ticks would fire at once
        // (five readings of the health before a change in one instant), so none is kept,
        // and the first tick comes a second after the offer was worked out.
        let mut trial = tokio::time::interval(Duration::from_secs(1));
        trial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut connected, mut sales_open) = (false, true);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                event = events.recv() => match event {
                    Some(LinkEvent::Connected) => {
                        connected = true;
                        self.subscribe();
                        self.publish_state(true).await;
                    }
                    Some(LinkEvent::Disconnected) => connected = false,
                    Some(LinkEvent::Subscribed { config_granted: true }) => self.pushed.subscribed(),
                    Some(LinkEvent::Subscribed { config_granted: false }) => tracing::warn!(
                        "fleet: the broker refused the config topics; no pushed configuration is taken (its ACL, docs/fleet.md)"
                    ),
                    Some(LinkEvent::Command { id, payload, retained }) => {
                        self.command(id, payload, retained, &results_tx);
                    }
                    Some(LinkEvent::Document { topic, payload }) => drop(self.pushed.document(&topic, &payload)),
                    None => break,
                },
                () = sleep_until(self.pushed.due()), if self.pushed.due().is_some() => {
                    self.pushed.evaluate(&self.cx.facts).await;
                    trial.reset();
                    self.publish_state(false).await;
                }
                _ = trial.tick(), if self.pushed.ticking() => {
                    self.pushed.tick(&self.cx.facts).await;
                    if connected {
                        self.publish_state(false).await;
                    }
                }
                Some(result) = results.recv() => self.publish_result(&result),
                _ = look.tick(), if connected => self.publish_state(false).await,
                changed = sales.recv(), if sales_open => {
                    if matches!(changed, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        sales_open = false;
                    } else if connected {
                        self.publish_state(false).await;
                    }
                }
            }
        }
        let mut bye = TerminalState::offline(&self.path.to_string(), crate::domain::now_ms());
        bye.uptime_secs = Some(self.cx.facts.uptime().as_secs());
        self.publish(&self.path.state(), &bye, true);
        let _ = self.client.try_disconnect();
    }

    /// Subscribes to its commands and its config layers (in this order: the `SubAck`'s
    /// codes are read so in `drive`).
    fn subscribe(&self) {
        let topics = std::iter::once(self.path.commands()).chain(self.pushed.topics());
        let _ = self.client.try_subscribe_many(topics.map(|t| Filter::new(t, QoS::AtLeastOnce)));
    }

    /// Publishes the state if it changed, if the heartbeat is due, or if `force`.
    async fn publish_state(&mut self, force: bool) {
        let mut now = TerminalState::read(&self.path.to_string(), &self.cx.facts).await;
        now.config = Some(self.pushed.report());
        let due = match &self.last {
            None => true,
            Some(last) => {
                let age = Duration::from_millis(u64::try_from(now.at_ms - last.at_ms).unwrap_or(0));
                age >= self.heartbeat || now.differs_from(last)
            }
        };
        if (force || due) && self.publish(&self.path.state(), &now, true) {
            self.last = Some(now);
        }
    }

    fn publish_result(&self, result: &CommandResult) {
        self.publish(&self.path.result(&result.id), result, false);
    }

    /// Queues a publish without waiting (the connection may be down: the state is
    /// published again at the next connection).
    fn publish<T: serde::Serialize>(&self, topic: &str, value: &T, retain: bool) -> bool {
        let Ok(payload) = serde_json::to_vec(value) else { return false };
        match self.client.try_publish(topic, QoS::AtLeastOnce, retain, payload) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, topic, "fleet: publish not queued");
                false
            }
        }
    }

    /// Parses, logs and runs a command on a task of its own; answers `accepted` at once.
    fn command(&mut self, id: String, payload: Vec<u8>, retained: bool, results: &mpsc::Sender<CommandResult>) {
        if !crate::config::fleet::is_topic_id(&id) {
            tracing::warn!(command_id = %id.escape_debug(), "fleet: a command whose id is not an id; not answered");
            return;
        }
        if retained {
            tracing::warn!(command_id = %id, "fleet: a retained command (sent before this connection); not run");
            return;
        }
        if self.seen.contains(&id) {
            tracing::info!(command_id = %id, "fleet: command delivered again; run once");
            return;
        }
        if self.seen.len() == REMEMBERED_IDS {
            self.seen.pop_front();
        }
        self.seen.push_back(id.clone());
        let command = match commands::parse(&payload) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(command_id = %id, error = %e, "fleet: command refused");
                self.publish_result(&CommandResult::done(&id, None, Err(e)));
                return;
            }
        };
        tracing::info!(command_id = %id, command = command.name(), "fleet: command received");
        self.publish_result(&CommandResult::accepted(&id, &command));
        let (cx, results) = (self.cx.clone(), results.clone());
        tokio::spawn(async move {
            let outcome = commands::execute(&command, &cx, &id).await;
            match &outcome {
                Ok(_) => tracing::info!(command_id = %id, command = command.name(), "fleet: command done"),
                Err(e) => {
                    tracing::warn!(command_id = %id, command = command.name(), error = %e, "fleet: command failed")
                }
            }
            let _ = results.send(CommandResult::done(&id, Some(&command), outcome)).await;
        });
    }
}
