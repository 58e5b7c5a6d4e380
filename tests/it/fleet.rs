//! The fleet link on a real broker (docs/fleet.md): Debian's Mosquitto with TLS, client
//! certificates and the ACL of packaging/fleet/, three terminals (posagent processes on
//! the simulator) with `[fleet]`. `posagent fleet status` lists them online, a command is
//! answered ok and a malformed one `ok: false`, a terminal killed with SIGKILL shows
//! offline within 1.5 × keepalive (at once, its connection closed), so is one that hangs
//! (its connection silent) and it comes back by itself, a stopped one publishes its
//! farewell, and a terminal's certificate cannot publish another terminal's state nor get
//! its commands. Skipped, saying so, only when the `mosquitto` binary is absent.

use crate::common::eventually::{Seen, eventually_seen};
use crate::common::process::{self, Daemon, Setup};
use posagent::fleet::tls::TlsFiles;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The terminals' MQTT keepalive (the MQTT client takes no less than 5 s).
pub(crate) const KEEPALIVE_SECS: u64 = 5;
/// Reconnections after a lost broker, and restarts into a pushed configuration, are
/// spread over this (the product's default is 30 s, for thousands of terminals).
pub(crate) const SPREAD_SECS: u64 = 2;
const TERMINALS: [&str; 3] = ["acme/s1/t1", "acme/s1/t2", "acme/s2/t3"];
pub(crate) const OPERATOR: &str = "operator-alice";

pub(crate) fn mosquitto() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).map(|d| d.join("mosquitto")).find(|p| p.is_file())
}

/// The chain's CA, and certificates it signs (CN = the identity) written to `dir`.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    pub(crate) fn new(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "acme fleet test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = ca.self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Pki { dir: dir.to_path_buf(), ca, ca_key }
    }

    /// Issues `cn`'s certificate; `server` for the broker's. Returns the file names' stem.
    pub(crate) fn issue(&self, cn: &str, server: bool) -> TlsFiles {
        let key = KeyPair::generate().unwrap();
        let names = if server { vec!["127.0.0.1".to_string(), "localhost".to_string()] } else { vec![] };
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages =
            vec![if server { ExtendedKeyUsagePurpose::ServerAuth } else { ExtendedKeyUsagePurpose::ClientAuth }];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let stem = cn.replace('/', "-");
        let files = TlsFiles {
            ca: self.dir.join("ca.pem"),
            cert: self.dir.join(format!("{stem}.pem")),
            key: self.dir.join(format!("{stem}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        crate::common::write_secret(&files.key, key.serialize_pem());
        files
    }
}

/// Mosquitto on a free loopback port, with packaging/fleet's config and ACL.
pub(crate) struct Broker {
    child: Child,
    pub(crate) url: String,
    log: PathBuf,
    bin: PathBuf,
    conf: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    pub(crate) async fn start(bin: &Path, dir: &Path, pki: &Pki) -> Broker {
        pki.issue("broker", true);
        std::fs::copy(pki.dir.join("broker.pem"), dir.join("broker.pem")).unwrap();
        std::fs::copy(pki.dir.join("broker.key"), dir.join("broker.key")).unwrap();
        std::fs::copy(pki.dir.join("ca.pem"), dir.join("ca.pem")).unwrap();
        let acl = include_str!("../../packaging/fleet/acl");
        std::fs::write(dir.join("acl"), acl).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let mut conf = include_str!("../../packaging/fleet/mosquitto.conf")
            .replace("/etc/mosquitto/posagent/", &format!("{}/", dir.display()))
            .replace("/var/lib/mosquitto/", &format!("{}/db/", dir.display()))
            .replace("listener 8883", &format!("listener {port} 127.0.0.1"));
        conf.push_str("log_dest stderr\n");
        if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir).unwrap()) == 0 {
            // Mosquitto started as root drops to the user `mosquitto`, who cannot read
            // the test's files.
            conf.push_str("user root\n");
        }
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let log = dir.join("mosquitto.log");
        let conf = dir.join("mosquitto.conf");
        let child = Broker::spawn(bin, &conf, &log);
        let mut broker = Broker { child, url: format!("mqtts://127.0.0.1:{port}"), log, bin: bin.to_path_buf(), conf };
        broker.listening().await;
        broker
    }

    fn spawn(bin: &Path, conf: &Path, log: &Path) -> Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        Command::new(bin).arg("-c").arg(conf).stdout(Stdio::null()).stderr(log).spawn().unwrap()
    }

    /// Stops the broker (SIGTERM: it saves the retained messages) and starts it again
    /// on the same port; returns when it listens.
    pub(crate) async fn restart(&mut self) {
        let stopped = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(stopped.success());
        self.child.wait().unwrap();
        self.child = Broker::spawn(&self.bin, &self.conf, &self.log);
        self.listening().await;
    }

    async fn listening(&mut self) {
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let broker = self;
        eventually_seen("mosquitto listens", Duration::from_secs(10), || {
            let exited = broker.child.try_wait().unwrap();
            let log = std::fs::read_to_string(&broker.log).unwrap_or_default();
            async move {
                assert!(exited.is_none(), "mosquitto exited: {exited:?}\n{log}");
                match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                    Ok(_) => Seen::Done(()),
                    Err(e) => Seen::Not(e.to_string()),
                }
            }
        })
        .await;
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A terminal on its own simulator, its config with `[fleet]`.
async fn terminal(identity: &str, broker: &Broker, pki: &Pki) -> (Setup, Daemon) {
    let s = process::setup().await;
    add_fleet_section(&s, identity, broker, pki, "");
    let d = process::start_daemon_logging(&s, Some(&log_of(&s)));
    (s, d)
}

/// Adds `[fleet]` for `identity` (its certificate issued) to `s`'s config, with `extra`
/// lines in the section.
pub(crate) fn add_fleet_section(s: &Setup, identity: &str, broker: &Broker, pki: &Pki, extra: &str) {
    let files = pki.issue(identity, false);
    let mut ids = identity.split('/');
    let (chain, store, id) = (ids.next().unwrap(), ids.next().unwrap(), ids.next().unwrap());
    let section = format!(
        "[fleet]\nbroker_url = \"{}\"\nchain = \"{chain}\"\nstore = \"{store}\"\nterminal = \"{id}\"\nca_file = \"{}\"\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"\nkeepalive_secs = {KEEPALIVE_SECS}\nheartbeat_secs = 5\nspread_secs = {SPREAD_SECS}\n",
        broker.url,
        files.ca.display(),
        files.cert.display(),
        files.key.display()
    );
    let mut config = std::fs::read_to_string(&s.config).unwrap();
    config.push_str(&section);
    config.push_str(extra);
    std::fs::write(&s.config, config).unwrap();
}

/// Where a terminal's daemon logs.
pub(crate) fn log_of(s: &Setup) -> PathBuf {
    s._dir.path().join("posagent.log")
}

/// `posagent fleet ARGS --broker … --json` as the operator: exit status and JSON.
pub(crate) async fn fleet_cli(broker: &Broker, operator: &TlsFiles, args: &[&str]) -> (bool, Value) {
    let out = fleet_run(broker, operator, &[args, &["--json"]].concat()).await;
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        json != Value::Null || !out.status.success(),
        "no JSON from fleet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), json)
}

/// `posagent fleet ARGS --broker …` as the operator.
pub(crate) async fn fleet_run(broker: &Broker, operator: &TlsFiles, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_posagent"));
    cmd.arg("fleet")
        .args(args)
        .args(["--broker", &broker.url, "--timeout-secs", "8"])
        .arg("--ca-file")
        .arg(&operator.ca)
        .arg("--cert-file")
        .arg(&operator.cert)
        .arg("--key-file")
        .arg(&operator.key)
        .env("POSAGENT_LOG", "error");
    tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap()
}

/// The terminals `status` lists, with whether each is online.
async fn listed(broker: &Broker, operator: &TlsFiles) -> Vec<(String, bool)> {
    let (_, states) = fleet_cli(broker, operator, &["status"]).await;
    let mut found: Vec<(String, bool)> = states
        .as_array()
        .map(|a| a.iter().map(|s| (s["terminal"].as_str().unwrap_or("").to_string(), s["online"] == true)).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_on_a_mosquitto_broker_with_tls_and_acls() {
    let Some(bin) = mosquitto() else {
        eprintln!("SKIPPED tests/it/fleet.rs: the mosquitto binary is absent; install: apt-get install -y mosquitto");
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(tmp.path());
    let broker_dir = tmp.path().join("broker");
    std::fs::create_dir_all(&broker_dir).unwrap();
    let broker = Broker::start(&bin, &broker_dir, &pki).await;
    let operator = pki.issue(OPERATOR, false);

    let launched = Instant::now();
    let mut terminals = vec![];
    for id in TERMINALS {
        terminals.push(terminal(id, &broker, &pki).await);
    }
    let all_online: Vec<(String, bool)> = TERMINALS.iter().map(|t| (t.to_string(), true)).collect();
    eventually_seen("fleet status lists the three terminals online", Duration::from_secs(20), || async {
        let found = listed(&broker, &operator).await;
        if found == all_online { Seen::Done(()) } else { Seen::Not((found, broker.log())) }
    })
    .await;
    eprintln!(
        "fleet status listed 3 terminals online {:.1} s after they were started",
        launched.elapsed().as_secs_f64()
    );
    let (_, one) = fleet_cli(&broker, &operator, &["status", "--store", "s2"]).await;
    let one = one.as_array().unwrap();
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one[0]["health"], "ok", "{one:?}");
    assert!(one[0]["devices"].as_array().is_some_and(|d| d.len() == 3), "{one:?}");
    let table = fleet_run(&broker, &operator, &["status", "--chain", "acme"]).await;
    let table = String::from_utf8_lossy(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("TERMINAL") && lines[0].contains("LAST SEEN"), "{table}");
    for (line, t) in lines[1..].iter().zip(TERMINALS) {
        assert!(line.starts_with(t) && line.contains(" online ") && line.contains(" ok "), "{table}");
    }
    assert_eq!(lines.len(), 4, "{table}");

    commands(&broker, &operator).await;
    maintenance(&broker, &operator, &terminals[0].0).await;
    state_follows_a_sale(&broker, &operator, &terminals[1]).await;
    let log = std::fs::read_to_string(log_of(&terminals[1].0)).unwrap();
    for logged in ["fleet: connected to the broker", "fleet: command refused", "fleet: command received"] {
        assert!(log.contains(logged), "t2's log has no `{logged}`:\n{log}");
    }
    assert!(log.contains("command=\"sync-now\"") || log.contains("command=sync-now"), "{log}");
    assert!(!log.contains("PRIVATE KEY"), "{log}");

    // A terminal killed (SIGKILL) is shown offline, by its last will.
    let (_s3, d3) = terminals.pop().unwrap();
    let killed = Instant::now();
    d3.crash();
    let limit = Duration::from_secs_f64(1.5 * KEEPALIVE_SECS as f64);
    eventually_seen("the killed terminal is shown offline", limit, || async {
        let found = listed(&broker, &operator).await;
        if found.contains(&("acme/s2/t3".to_string(), false)) { Seen::Done(()) } else { Seen::Not(found) }
    })
    .await;
    eprintln!("a killed terminal was shown offline after {:.2} s (limit {limit:?})", killed.elapsed().as_secs_f64());
    let (_, offline) = fleet_cli(&broker, &operator, &["status", "--state", "offline"]).await;
    assert_eq!(offline.as_array().map(Vec::len), Some(1), "{offline}");
    forgery_is_refused(&broker, &pki, &operator).await;

    // A terminal that hangs (SIGSTOP: its connection open, silent) is shown offline once
    // the broker's keepalive check gives up on it; let go, it connects again by itself.
    let (_, d2) = &terminals[1];
    let hung = Instant::now();
    signal(d2, "-STOP");
    // Mosquitto 2.0.11 (Debian 12) looks for silent clients only every 6 s (newer
    // versions every second): 1.5 × keepalive, then up to 6 s more.
    let limit_hung = limit + Duration::from_secs(7);
    eventually_seen("the hung terminal is shown offline", limit_hung, || async {
        let found = listed(&broker, &operator).await;
        if found.contains(&("acme/s1/t2".to_string(), false)) { Seen::Done(()) } else { Seen::Not(found) }
    })
    .await;
    eprintln!(
        "a hung terminal was shown offline after {:.2} s (keepalive {KEEPALIVE_SECS} s)",
        hung.elapsed().as_secs_f64()
    );
    signal(d2, "-CONT");
    let resumed = Instant::now();
    eventually_seen("the resumed terminal is online again", Duration::from_secs(15), || async {
        let found = listed(&broker, &operator).await;
        if found.contains(&("acme/s1/t2".to_string(), true)) { Seen::Done(()) } else { Seen::Not(found) }
    })
    .await;
    eprintln!("it was online again {:.2} s after it resumed", resumed.elapsed().as_secs_f64());

    // A terminal that stops (SIGTERM) says so itself before it goes.
    let (_s1, mut d1) = terminals.remove(0);
    signal(&d1, "-TERM");
    let stopped = d1.child.wait().unwrap();
    assert!(stopped.success(), "{stopped:?}");
    let farewell = state_of(&broker, &operator, "acme/s1/t1").await;
    assert_eq!(farewell["online"], false, "{farewell}");
    assert!(farewell["uptime_secs"].is_u64(), "the stop's farewell, not the will: {farewell}");
    for (_, d) in terminals {
        d.crash();
    }
    eprintln!("fleet took {:.1} s", started.elapsed().as_secs_f64());
}

/// A sale begun on t2 shows in its state (`last_sale_at`) without waiting for the
/// heartbeat; cancelled, it leaves nothing of itself there but that time.
async fn state_follows_a_sale(broker: &Broker, operator: &TlsFiles, (s, d): &(Setup, Daemon)) {
    assert!(state_of(broker, operator, "acme/s1/t2").await["last_sale_at"].is_null());
    let (status, sale) = d
        .call(
            s,
            reqwest::Method::POST,
            "/v1/sales",
            serde_json::json!({"amount": 100, "currency": "SEK", "method": "CARD"}),
        )
        .await;
    assert_eq!(status, 201, "{sale}");
    let sold = Instant::now();
    let state = eventually_seen("t2's state shows its sale's time", Duration::from_secs(4), || async {
        let state = state_of(broker, operator, "acme/s1/t2").await;
        if state["last_sale_at"].is_string() { Seen::Done(state) } else { Seen::Not(state) }
    })
    .await;
    eprintln!("a sale's time was in the state {:.2} s after the sale began", sold.elapsed().as_secs_f64());
    let id = sale["id"].as_str().unwrap();
    let text = state.to_string();
    assert!(!text.contains(id) && !text.contains(sale["reference"].as_str().unwrap_or("-")), "{text}");
    let (status, _) = d.call(s, reqwest::Method::POST, &format!("/v1/sales/{id}/cancel"), serde_json::json!({})).await;
    assert_eq!(status, 200);
}

pub(crate) fn signal(d: &Daemon, which: &str) {
    let sent = Command::new("kill").args([which, &d.child.id().to_string()]).status().unwrap();
    assert!(sent.success(), "kill {which}");
}

/// A command gets its result; a malformed one is answered `ok: false`.
async fn commands(broker: &Broker, operator: &TlsFiles) {
    let asked = Instant::now();
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t1", "set-log-level", "warn"]).await;
    assert!(ok, "{result}");
    assert_eq!((result["ok"].clone(), result["stage"].clone()), (Value::Bool(true), Value::from("done")), "{result}");
    assert_eq!(result["output"]["level"], "warn", "{result}");
    eprintln!("set-log-level answered in {:.2} s (the command line's start included)", asked.elapsed().as_secs_f64());
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t2", "reboot-now"]).await;
    assert!(!ok, "{result}");
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["error"]["code"], "MALFORMED", "{result}");
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t2", "set-log-level", "loud"]).await;
    assert!(!ok && result["error"]["code"] == "INVALID", "{result}");
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t2", "sync-now"]).await;
    assert!(ok, "{result}");
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t2", "reload"]).await;
    assert!(ok && result["output"]["reloaded"] == true, "{result}");
    let asked = Instant::now();
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t1", "doctor"]).await;
    assert!(ok, "{result}");
    let checks = result["output"]["checks"].as_array().cloned().unwrap_or_default();
    assert!(checks.iter().any(|c| c["name"].as_str().is_some_and(|n| n.contains("config"))), "{result}");
    eprintln!("doctor answered in {:.2} s with {} checks", asked.elapsed().as_secs_f64(), checks.len());
}

/// The test receipt is printed (on t1's simulated printer, in the store's language); the
/// diagnostics bundle has the health, doctor's checks and the config file, and none of
/// the terminal's secrets.
async fn maintenance(broker: &Broker, operator: &TlsFiles, s1: &Setup) {
    let before = s1.sim.printer.receipts().len();
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t1", "print-test-receipt"]).await;
    assert!(ok && result["output"]["printed"] == true, "{result}");
    let receipts = s1.sim.printer.wait_for(before + 1, Duration::from_secs(5)).await.expect("the test receipt");
    let text = &receipts[before].text;
    assert!(text.contains("TESTKVITTO") && text.contains("ÅÄÖ") && text.contains("CRASH01"), "{text}");
    assert_eq!(receipts[before].qr_payloads, ["posagent test receipt"]);

    let asked = Instant::now();
    let (ok, result) = fleet_cli(broker, operator, &["command", "acme/s1/t1", "diagnostics-bundle"]).await;
    assert!(ok, "{result}");
    let bundle = &result["output"];
    eprintln!(
        "diagnostics-bundle answered in {:.2} s, {} bytes",
        asked.elapsed().as_secs_f64(),
        bundle.to_string().len()
    );
    assert_eq!(bundle["health"]["status"], "ok", "{bundle}");
    assert!(bundle["doctor"].as_array().is_some_and(|c| !c.is_empty()), "{bundle}");
    assert!(bundle["config"]["text"].as_str().is_some_and(|t| t.contains("[fleet]")), "{bundle}");
    assert!(bundle["system"]["rss_kib"].is_u64(), "{bundle}");
    let text = bundle.to_string();
    let token = std::fs::read_to_string(s1.data.join("ecr.token")).unwrap();
    let key = std::fs::read_to_string(s1.data.join("acquirer.key")).unwrap();
    for secret in [token.trim(), key.trim()] {
        assert!(secret.len() >= 8 && !text.contains(secret), "a secret in the bundle");
    }
    assert!(!text.contains("PRIVATE KEY"));
}

/// A raw MQTT 5 client with `files`' certificate.
pub(crate) async fn raw_client(broker: &Broker, files: TlsFiles, id: &str) -> (AsyncClient, rumqttc::v5::EventLoop) {
    let port: u16 = broker.url.rsplit(':').next().unwrap().parse().unwrap();
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    let tls = posagent::fleet::tls::client_config(files).await.unwrap();
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(tls)));
    AsyncClient::new(options, 10)
}

/// Polls `eventloop` until `done` says so (10 s at most).
pub(crate) async fn poll_until(
    eventloop: &mut rumqttc::v5::EventLoop,
    broker: &Broker,
    mut done: impl FnMut(&Packet) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, eventloop.poll()).await.expect("not within 10 s") {
            Ok(Event::Incoming(p)) if done(&p) => return,
            Ok(_) => {}
            Err(e) => panic!("connection failed: {e}\n{}", broker.log()),
        }
    }
}

/// Terminal t3's certificate (t3 is gone) cannot publish t2's state, nor get t2's commands.
async fn forgery_is_refused(broker: &Broker, pki: &Pki, operator: &TlsFiles) {
    let before = state_of(broker, operator, "acme/s1/t2").await;
    let t3 = TlsFiles {
        ca: pki.dir.join("ca.pem"),
        cert: pki.dir.join("acme-s2-t3.pem"),
        key: pki.dir.join("acme-s2-t3.key"),
    };
    let (forger, mut forger_loop) = raw_client(broker, t3, "forger").await;
    let forged = serde_json::json!({"online": false, "terminal": "acme/s1/t2", "version": "forged"});
    forger.publish("posagent/acme/s1/t2/state", QoS::AtLeastOnce, true, forged.to_string()).await.unwrap();
    let mut puback = None;
    poll_until(&mut forger_loop, broker, |p| match p {
        Packet::PubAck(a) => {
            puback = Some(a.reason);
            true
        }
        _ => false,
    })
    .await;
    eprintln!("t3 publishing t2's state: PUBACK {puback:?}");
    assert_eq!(puback, Some(PubAckReason::NotAuthorized), "the broker took t3's publish to t2's state");
    let after = state_of(broker, operator, "acme/s1/t2").await;
    assert_eq!((after["version"].clone(), after["online"].clone()), (before["version"].clone(), Value::Bool(true)));

    // Subscribed to t2's commands and its own, it gets its own only: the operator sends
    // one to t2, then one to t3, and the broker keeps their order.
    forger.subscribe("posagent/acme/s1/t2/cmd/+", QoS::AtLeastOnce).await.unwrap();
    forger.subscribe("posagent/acme/s2/t3/cmd/+", QoS::AtLeastOnce).await.unwrap();
    let mut acks = 0;
    poll_until(&mut forger_loop, broker, |p| {
        acks += usize::from(matches!(p, Packet::SubAck(_)));
        acks == 2
    })
    .await;
    let (op, mut op_loop) = raw_client(broker, operator.clone(), "operator-probe").await;
    let probe = serde_json::json!({"command": "sync-now"}).to_string();
    op.publish("posagent/acme/s1/t2/cmd/probe-t2", QoS::AtLeastOnce, false, probe.clone()).await.unwrap();
    op.publish("posagent/acme/s2/t3/cmd/probe-t3", QoS::AtLeastOnce, false, probe).await.unwrap();
    let mut acked = 0;
    poll_until(&mut op_loop, broker, |p| {
        acked += usize::from(matches!(p, Packet::PubAck(a) if a.reason == PubAckReason::Success));
        acked == 2
    })
    .await;
    let mut got = vec![];
    poll_until(&mut forger_loop, broker, |p| match p {
        Packet::Publish(m) => {
            got.push(String::from_utf8_lossy(&m.topic).into_owned());
            m.topic.ends_with(b"probe-t3")
        }
        _ => false,
    })
    .await;
    assert_eq!(got, ["posagent/acme/s2/t3/cmd/probe-t3"], "t3 got another terminal's command");
    let _ = forger.try_disconnect();
    let _ = op.try_disconnect();
}

pub(crate) async fn state_of(broker: &Broker, operator: &TlsFiles, terminal: &str) -> Value {
    let (_, states) = fleet_cli(broker, operator, &["status"]).await;
    states.as_array().and_then(|a| a.iter().find(|s| s["terminal"] == terminal).cloned()).unwrap_or(Value::Null)
}
