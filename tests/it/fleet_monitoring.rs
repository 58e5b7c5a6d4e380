//! Metrics and logs at fleet scale with packaging/fleet's configs (docs/fleet-monitoring.md):
//! a terminal (posagent on the simulator, `[metrics] listen` on loopback) scraped by
//! Debian's Prometheus in agent mode, started as the systemd drop-in starts it, which
//! remote-writes over HTTPS with basic auth to a central Prometheus (its remote-write
//! receiver and web config): posagent's series arrive there labelled chain, store,
//! terminal and instance, and a write without the password is refused. posagent's log
//! lines, as journald would store them, shipped by systemd-journal-upload over HTTPS to
//! a central systemd-journal-remote: all of them arrive with no secret in them, an
//! uploader that does not trust the server's certificate ships nothing, and one run
//! again resumes at its cursor (resending only the record at it: systemd 252). Each part
//! is skipped, saying so, when its binaries are absent (`apt-get install prometheus
//! systemd-journal-remote`).

use crate::common::eventually::{Seen, eventually_seen};
use crate::common::process::{self, Setup};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AGENT_YML: &str = include_str!("../../packaging/fleet/prometheus-agent.yml");
const TERMINAL_YML: &str = include_str!("../../packaging/fleet/prometheus-terminal.yml");
const CENTRAL_YML: &str = include_str!("../../packaging/fleet/prometheus-central.yml");
const CENTRAL_WEB_YML: &str = include_str!("../../packaging/fleet/prometheus-central-web.yml");
const AGENT_DROP_IN: &str = include_str!("../../packaging/fleet/prometheus-agent.conf");
const JOURNAL_UPLOAD: &str = include_str!("../../packaging/fleet/journal-upload.conf");
const JOURNAL_REMOTE: &str = include_str!("../../packaging/fleet/journal-remote.conf");

/// The basic-auth password of the test, and its bcrypt hash (cost 10) for the web config.
const PASSWORD: &str = "fleet-test-password";
const PASSWORD_BCRYPT: &str = "$2b$10$GxdbstH0tUeMAYQUoXSWreo5esHmrJ315dMrzs/QqrBvIC9JlvgJe";

/// `name` on PATH, in /usr/bin or in /lib/systemd (where Debian puts journal-remote's).
fn binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/lib/systemd")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when dropped, its output in `log`.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd.stdout(out.try_clone().unwrap()).stderr(out).spawn().unwrap();
        Proc { child, log }
    }

    /// Its output so far; panics if it has exited.
    fn alive_log(&mut self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let exited = self.child.try_wait().unwrap();
        assert!(exited.is_none(), "{} exited: {exited:?}\n{log}", self.log.display());
        log
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `port` on loopback takes connections, `p` still running.
async fn listening(what: &str, p: &mut Proc, port: u16) {
    eventually_seen(what, Duration::from_secs(10), || {
        let log = p.alive_log();
        async move {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Ok(_) => Seen::Done(()),
                Err(e) => Seen::Not((e.to_string(), log)),
            }
        }
    })
    .await;
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) PEM.
fn server_tls(cn: &str) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, format!("{cn} test CA"));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// A terminal (posagent as a process on its own simulator) with `[metrics] listen` on
/// `metrics_port`, logging as it does into the journal (`--log-format journald`) into a file.
struct Terminal {
    setup: Setup,
    daemon: Child,
    log: PathBuf,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

async fn terminal(metrics_port: u16) -> Terminal {
    let setup = process::setup().await;
    let mut config = std::fs::read_to_string(&setup.config).unwrap();
    config.push_str(&format!("[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n"));
    std::fs::write(&setup.config, config).unwrap();
    let log = setup._dir.path().join("posagent.log");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_posagent"))
        .args(["run", "--log-format", "journald", "--config"])
        .arg(&setup.config)
        .env("POSAGENT_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // The daemon prints its ECR URL once it is running.
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("http://"), "posagent did not start: {line}");
    Terminal { setup, daemon, log }
}

/// The drop-in's `ExecStart=` command line (after the line that resets it).
fn drop_in_exec_start() -> Vec<String> {
    let line = AGENT_DROP_IN
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .find(|l| !l.is_empty())
        .expect("the drop-in sets ExecStart");
    line.split_whitespace().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminals_metrics_reach_the_central_prometheus_labelled_with_its_fleet_identity() {
    let Some(prometheus) = binary("prometheus") else {
        eprintln!(
            "SKIPPED tests/it/fleet_monitoring.rs (metrics): the prometheus binary is absent; install: apt-get install -y prometheus"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let metrics_port = free_port();
    let t = terminal(metrics_port).await;

    // The central server: the packaged config and web config, its files in `dir`.
    let (ca, cert, key) = server_tls("central");
    std::fs::write(dir.join("posagent-central-ca.pem"), ca).unwrap();
    std::fs::write(dir.join("posagent-central.pem"), cert).unwrap();
    crate::common::write_secret(&dir.join("posagent-central.key"), key);
    let central_port = free_port();
    let placeholder = CENTRAL_WEB_YML.lines().find(|l| l.trim_start().starts_with("posagent-agent: ")).unwrap();
    let web = CENTRAL_WEB_YML
        .replace("/etc/prometheus/", &format!("{}/", dir.display()))
        .replace(placeholder, &format!("  posagent-agent: {PASSWORD_BCRYPT}"));
    std::fs::write(dir.join("central-web.yml"), web).unwrap();
    std::fs::write(
        dir.join("central.yml"),
        CENTRAL_YML.replace("localhost:9090", &format!("127.0.0.1:{central_port}")),
    )
    .unwrap();
    let mut central = Proc::spawn(
        Command::new(&prometheus)
            .arg(format!("--config.file={}/central.yml", dir.display()))
            .arg("--web.enable-remote-write-receiver")
            .arg(format!("--web.config.file={}/central-web.yml", dir.display()))
            .arg(format!("--storage.tsdb.path={}/central-data", dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{central_port}")),
        dir.join("central.log"),
    );
    listening("the central Prometheus listens", &mut central, central_port).await;

    // The agent: the packaged config with the test's ports and paths, and a short scrape
    // interval and send deadline (30 s and 5 s as shipped), started with the drop-in's
    // ExecStart.
    let agent_yml = AGENT_YML
        .replace("/etc/prometheus/", &format!("{}/", dir.display()))
        .replace("https://prometheus.fleet.example:9090", &format!("https://127.0.0.1:{central_port}"))
        .replace("scrape_interval: 30s", "scrape_interval: 1s")
        .replace("scrape_timeout: 10s", "scrape_timeout: 1s")
        .replace("batch_send_deadline: 5s", "batch_send_deadline: 1s");
    assert_ne!(agent_yml, AGENT_YML);
    std::fs::write(dir.join("posagent-agent.yml"), agent_yml).unwrap();
    std::fs::write(
        dir.join("posagent-terminal.yml"),
        TERMINAL_YML.replace("127.0.0.1:9464", &format!("127.0.0.1:{metrics_port}")),
    )
    .unwrap();
    crate::common::write_secret(&dir.join("posagent-central.password"), PASSWORD);
    let agent_port = free_port();
    let args: Vec<String> = drop_in_exec_start()
        .iter()
        .map(|a| {
            a.replace("/etc/prometheus/", &format!("{}/", dir.display()))
                .replace("/var/lib/prometheus/agent", &format!("{}/agent-wal", dir.display()))
                .replace("127.0.0.1:9090", &format!("127.0.0.1:{agent_port}"))
        })
        .collect();
    assert_eq!(args[0], "/usr/bin/prometheus");
    assert!(args.contains(&"--enable-feature=agent".to_string()), "{args:?}");
    let started = Instant::now();
    let mut agent = Proc::spawn(Command::new(&prometheus).args(&args[1..]), dir.join("agent.log"));

    // posagent's identity series arrives centrally with the terminal's fleet labels.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("posagent-central-ca.pem")).unwrap()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).timeout(Duration::from_secs(5)).build().unwrap();
    let query = format!("https://127.0.0.1:{central_port}/api/v1/query");
    let series = eventually_seen("posagent_terminal_info in the central Prometheus", Duration::from_secs(25), || {
        let agent_log = agent.alive_log();
        let central_log = central.alive_log();
        let asked = http
            .get(&query)
            .basic_auth("posagent-agent", Some(PASSWORD))
            .query(&[("query", "posagent_terminal_info")])
            .send();
        async move {
            let answer: Value = match asked.await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(e) => return Seen::Not(format!("{e}\n--- agent:\n{agent_log}\n--- central:\n{central_log}")),
            };
            match answer["data"]["result"].as_array() {
                Some(r) if !r.is_empty() => Seen::Done(r.clone()),
                _ => Seen::Not(format!("{answer}\n--- agent:\n{agent_log}\n--- central:\n{central_log}")),
            }
        }
    })
    .await;
    let arrived = started.elapsed();
    assert_eq!(series.len(), 1, "{series:?}");
    let labels = &series[0]["metric"];
    for (label, value) in [
        ("chain", "acme"),
        ("store", "s1"),
        ("terminal", "t1"),
        ("instance", "acme/s1/t1"),
        ("job", "posagent"),
        ("acquirer_store", "crash-store"),
        ("acquirer_terminal", "CRASH01"),
    ] {
        assert_eq!(labels[label], value, "{label} in {labels}");
    }
    assert!(labels.get("exported_store").is_none() && labels.get("exported_terminal").is_none(), "{labels}");
    eprintln!(
        "posagent_terminal_info was queryable centrally {:.2} s after the agent started (scrape interval 1 s)",
        arrived.as_secs_f64()
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", agent.child.id())).unwrap_or_default();
    let rss = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: ?").split_whitespace().nth(1);
    eprintln!("the agent's resident memory then: {} kB", rss.unwrap_or("?"));

    // Every series of the scrape carries the labels, e.g. a counter and `up`.
    for q in [r#"posagent_sales_total{chain="acme",store="s1",terminal="t1"}"#, r#"up{instance="acme/s1/t1"}"#] {
        let r: Value = http
            .get(&query)
            .basic_auth("posagent-agent", Some(PASSWORD))
            .query(&[("query", q)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(r["data"]["result"].as_array().is_some_and(|a| !a.is_empty()), "{q}: {r}");
    }

    // Without the password (or with a wrong one) the receiver takes nothing.
    let write = format!("https://127.0.0.1:{central_port}/api/v1/write");
    let refused = http.post(&write).body(Vec::new()).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused = http.post(&write).basic_auth("posagent-agent", Some("guess")).body(Vec::new()).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    // The agent itself serves no query API (agent mode) and its web listener is loopback.
    let r = reqwest::get(format!("http://127.0.0.1:{agent_port}/api/v1/query?query=up")).await.unwrap();
    assert!(!r.status().is_success(), "the agent answered a query: {}", r.status());
    drop(t);
}

/// The drop-in on Debian's prometheus.service as systemd reads it.
#[test]
fn the_agents_drop_in_verifies_on_debians_prometheus_unit() {
    let unit = Path::new("/lib/systemd/system/prometheus.service");
    let Some(analyze) = binary("systemd-analyze").filter(|_| unit.is_file()) else {
        eprintln!("SKIPPED tests/it/fleet_monitoring.rs (drop-in): needs systemd-analyze and the prometheus package");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(unit, tmp.path().join("prometheus.service")).unwrap();
    std::fs::create_dir(tmp.path().join("prometheus.service.d")).unwrap();
    std::fs::write(tmp.path().join("prometheus.service.d/posagent-agent.conf"), AGENT_DROP_IN).unwrap();
    let out = Command::new(&analyze).arg("verify").arg(tmp.path().join("prometheus.service")).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("Unknown") && !text.contains("posagent-agent.conf"), "{text}");
    // systemd reads the drop-in (a broken one fails the unit: no ExecStart left).
    let broken = AGENT_DROP_IN.replace("ExecStart=/usr/bin", "ExecStrt=/usr/bin");
    std::fs::write(tmp.path().join("prometheus.service.d/posagent-agent.conf"), broken).unwrap();
    let out = Command::new(&analyze).arg("verify").arg(tmp.path().join("prometheus.service")).output().unwrap();
    assert!(!out.status.success(), "the drop-in was not read");
}

/// `key`'s value in an INI file's lines (`Key=value`, not commented).
fn ini(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in:\n{text}"))
        .trim()
        .to_string()
}

/// A journal export-format entry (systemd's JOURNAL_EXPORT_FORMATS) as journald stores a
/// line posagent wrote to its stderr under systemd: the `<N>` prefix its PRIORITY.
fn export_entry(line: &str, unit: &str, identifier: &str, n: u64, boot: &str) -> String {
    let (priority, message) = match line.strip_prefix('<').and_then(|l| l.split_once('>')) {
        Some((p, m)) if p.len() == 1 => (p.to_string(), m.to_string()),
        _ => ("6".to_string(), line.to_string()),
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64;
    format!(
        "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID={boot}\n_HOSTNAME=acme-s1-t1\n_TRANSPORT=stdout\n_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER={identifier}\nPRIORITY={priority}\nMESSAGE={message}\n\n",
        now + n,
        1_000_000 + n
    )
}

/// The central journal's records as JSON objects.
fn central_records(journalctl: &Path, dir: &Path) -> Vec<Value> {
    let out = Command::new(journalctl).arg("-D").arg(dir).args(["-o", "json", "--no-pager"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posagents_journal_reaches_the_central_journal_remote_over_https() {
    let (Some(remote), Some(upload), Some(journalctl)) =
        (binary("systemd-journal-remote"), binary("systemd-journal-upload"), binary("journalctl"))
    else {
        eprintln!(
            "SKIPPED tests/it/fleet_monitoring.rs (journal): systemd-journal-remote is absent; install: apt-get install -y systemd-journal-remote"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // posagent's lines as it writes them into the journal: its start, then its stop
    // (SIGTERM) for the shutdown lines.
    let mut t = terminal(free_port()).await;
    let token = std::fs::read_to_string(t.setup.data.join("ecr.token")).unwrap().trim().to_string();
    let acquirer_key = std::fs::read_to_string(t.setup.data.join("acquirer.key")).unwrap().trim().to_string();
    let pid = t.daemon.id().to_string();
    // posagent installs its SIGTERM handler just after it prints its URL: until then a
    // SIGTERM would end it by the default action, without its shutdown lines.
    eventually_seen("posagent catches SIGTERM", Duration::from_secs(5), || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        async move {
            let caught = status
                .lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
            match caught {
                Some(mask) if mask & (1 << (15 - 1)) != 0 => Seen::Done(()),
                other => Seen::Not(other),
            }
        }
    })
    .await;
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(t.daemon.wait().unwrap().success());
    let lines: Vec<String> = std::fs::read_to_string(&t.log).unwrap().lines().map(String::from).collect();
    assert!(lines.iter().any(|l| l.starts_with("<6>") && l.contains("posagent ready")), "{lines:?}");

    // The terminal's journal: posagent's records and another unit's (the whole journal ships).
    let boot = "4c6f9d4f0a1e4b3c9a2b1c0d9e8f7a6b";
    let mut export: String = lines
        .iter()
        .enumerate()
        .map(|(n, l)| export_entry(l, "posagent.service", "posagent", n as u64, boot))
        .collect();
    export.push_str(&export_entry("<6>Accepted publickey for admin", "ssh.service", "sshd", lines.len() as u64, boot));
    std::fs::write(dir.join("terminal.export"), export).unwrap();
    let terminal_journal = dir.join("terminal.journal");
    let made = Command::new(&remote)
        .arg(format!("--output={}", terminal_journal.display()))
        .arg(dir.join("terminal.export"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));

    // The central journal-remote with the packaged settings, its files in `dir`.
    let (ca, cert, key) = server_tls("journal");
    // /etc/ssl/private/x.pem (a key) and /etc/ssl/certs/x.pem (its certificate) under `dir`.
    for sub in ["private", "certs", "ca"] {
        std::fs::create_dir(dir.join(sub)).unwrap();
    }
    let files = |path: String| path.replace("/etc/ssl/", &format!("{}/", dir.display()));
    let server_key = files(ini(JOURNAL_REMOTE, "ServerKeyFile"));
    let server_cert = files(ini(JOURNAL_REMOTE, "ServerCertificateFile"));
    crate::common::write_secret(Path::new(&server_key), key);
    std::fs::write(&server_cert, cert).unwrap();
    let trust = files(ini(JOURNAL_UPLOAD, "TrustedCertificateFile"));
    std::fs::write(&trust, ca).unwrap();
    let port = free_port();
    let central_dir = dir.join("remote");
    std::fs::create_dir(&central_dir).unwrap();
    let mut central = Proc::spawn(
        Command::new(&remote)
            .arg(format!("--listen-https=127.0.0.1:{port}"))
            .arg(format!("--key={server_key}"))
            .arg(format!("--cert={server_cert}"))
            .arg(format!("--split-mode={}", ini(JOURNAL_REMOTE, "SplitMode")))
            .arg(format!("--seal={}", ini(JOURNAL_REMOTE, "Seal")))
            .arg(format!("--output={}/", central_dir.display())),
        dir.join("journal-remote.log"),
    );
    listening("journal-remote listens", &mut central, port).await;

    // The terminal's uploader with the packaged settings (journal-upload reads its
    // settings only from /etc/systemd: the same values as its flags).
    let (ca_other, cert_other, key_other) = server_tls("terminal");
    let client_key = files(ini(JOURNAL_UPLOAD, "ServerKeyFile"));
    let client_cert = files(ini(JOURNAL_UPLOAD, "ServerCertificateFile"));
    crate::common::write_secret(Path::new(&client_key), key_other);
    std::fs::write(&client_cert, cert_other).unwrap();
    let url = ini(JOURNAL_UPLOAD, "URL").replace("journal.fleet.example:19532", &format!("127.0.0.1:{port}"));
    assert!(url.starts_with("https://"), "{url}");
    let state = dir.join("upload-state");
    let run_upload = |trust: &str| {
        Command::new(&upload)
            .arg(format!("--url={url}"))
            .arg(format!("--key={client_key}"))
            .arg(format!("--cert={client_cert}"))
            .arg(format!("--trust={trust}"))
            .arg(format!("--file={}", terminal_journal.display()))
            .arg("--follow=no")
            .arg(format!("--save-state={}", state.display()))
            .output()
            .unwrap()
    };

    // An uploader that does not trust the server's certificate ships nothing.
    let wrong_ca = dir.join("wrong-ca.pem");
    std::fs::write(&wrong_ca, ca_other).unwrap();
    let refused = run_upload(&wrong_ca.display().to_string());
    assert!(!refused.status.success(), "uploaded to an untrusted server");

    let started = Instant::now();
    let shipped = run_upload(&trust);
    assert!(shipped.status.success(), "{}", String::from_utf8_lossy(&shipped.stderr));
    let expected = lines.len() + 1;
    let records = eventually_seen("the terminal's journal in the central journal", Duration::from_secs(10), || {
        let records = central_records(&journalctl, &central_dir);
        let log = central.alive_log();
        async move { if records.len() == expected { Seen::Done(records) } else { Seen::Not((records.len(), log)) } }
    })
    .await;
    eprintln!(
        "{expected} journal records were readable centrally {:.2} s after the upload started",
        started.elapsed().as_secs_f64()
    );
    let ours: Vec<&Value> = records.iter().filter(|r| r["_SYSTEMD_UNIT"] == "posagent.service").collect();
    assert_eq!(ours.len(), lines.len());
    assert!(ours.iter().all(|r| r["_HOSTNAME"] == "acme-s1-t1" && r["SYSLOG_IDENTIFIER"] == "posagent"));
    assert!(
        ours.iter()
            .any(|r| r["PRIORITY"] == "6" && r["MESSAGE"].as_str().is_some_and(|m| m.contains("posagent ready")))
    );
    let text = serde_json::to_string(&records).unwrap();
    assert!(!text.contains(&token) && !text.contains(&acquirer_key), "a secret was shipped");
    assert!(std::fs::read_to_string(&state).unwrap().contains("LAST_CURSOR="));

    // Run again, it resumes at its saved cursor: systemd 252's uploader ships the record
    // at the cursor (the last one shipped) again, and nothing else.
    let again = run_upload(&trust);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let log = central.alive_log();
    let after = central_records(&journalctl, &central_dir);
    assert_eq!(after.len(), expected + 1, "{log}");
    let last = |r: &Value| (r["MESSAGE"].clone(), r["__REALTIME_TIMESTAMP"].clone());
    let resent = after.iter().filter(|r| last(r) == last(&records[expected - 1])).count();
    assert_eq!(resent, 2, "only the record at the cursor is shipped again");
}
