//! Store IT's path, end to end: `packaging/install.sh` into a temporary root, the
//! generated config pointed at the simulator, the installed binary started as a
//! process; /health and /metrics scraped, file modes checked, the log level changed at
//! run time and by SIGHUP; then SIGTERM in the middle of a sale: new sales are refused,
//! the sale in progress finishes (receipt printed), and the logged shutdown steps come
//! in order — refuse, sale finished, flush, devices closed, stopped.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent::daemon::start_simulator;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_run_reload_and_stop_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let out = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh"))
        .args(["--root"])
        .arg(&root)
        .args(["--bin", env!("CARGO_BIN_EXE_posagent")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let etc = root.join("etc/posagent");
    let data = root.join("var/lib/posagent");
    assert_eq!(mode(&root.join("usr/bin/posagent")), 0o755);
    assert_eq!(mode(&root.join("usr/lib/systemd/system/posagent.service")), 0o644);
    assert_eq!(mode(&root.join("lib/udev/rules.d/99-posagent.rules")), 0o644);
    assert!(root.join("usr/share/posagent/firmware-config/simulator.toml").exists());
    assert_eq!(mode(&etc.join("posagent.toml")), 0o640);
    assert_eq!(mode(&etc), 0o750);
    assert_eq!(mode(&data), 0o700);
    // The config names the paths the service runs with, not the staging root, and its
    // profile by name (found in /usr/share/posagent/firmware-config): no copies in /etc.
    let installed = std::fs::read_to_string(etc.join("posagent.toml")).unwrap();
    assert!(installed.contains("\ndata_dir = \"/var/lib/posagent\"\n"), "{installed}");
    assert!(!installed.contains(&root.display().to_string()), "no staging path in the config");
    assert!(installed.contains("\ndevice_profile = \"generic-800x480\"\n"));
    assert!(!etc.join("firmware-config").exists() && !etc.join("posagent-data").exists());

    // The generated config, pointed at a simulator: its acquirer and devices.
    let stop = CancellationToken::new();
    // The simulator stops with the test (the tests share one process).
    let _stop_guard = stop.clone().drop_guard();
    let sim = start_simulator(&tmp.path().join("simdata"), &tmp.path().join("sim"), stop.clone()).await.unwrap();
    let key = std::fs::read_to_string(tmp.path().join("simdata/acquirer.key")).unwrap();
    posagent::daemon::write_secret(&etc.join("acquirer.key"), key.trim()).unwrap();
    let profile = std::fs::read_to_string(root.join("usr/share/posagent/firmware-config/simulator.toml"))
        .unwrap()
        .replacen("endpoint = \"tcp:127.0.0.1:1\"", &format!("endpoint = \"tcp:{}\"", sim.display_addr), 1)
        .replacen("endpoint = \"tcp:127.0.0.1:1\"", &format!("endpoint = \"tcp:{}\"", sim.printer_addr), 1)
        .replace("serial:/dev/null@115200", &format!("serial:{}@115200", sim.card_reader.as_ref().unwrap().path));
    std::fs::create_dir_all(etc.join("firmware-config")).unwrap();
    std::fs::write(etc.join("firmware-config/terminal.toml"), profile).unwrap();
    let config_path = etc.join("posagent.toml");
    // The test runs the installed binary in its temporary root: the config's runtime
    // paths become that root's, and the profile the store's own, by name.
    let config = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("data_dir = \"/var/lib/posagent\"", &format!("data_dir = \"{}\"", data.display()))
        .replace("url = \"https://acquirer.example/terminal\"", &format!("url = \"{}\"", sim.backend_url))
        .replace("device_profile = \"generic-800x480\"", "device_profile = \"terminal\"")
        .replace("listen = \"127.0.0.1:7600\"", "listen = \"127.0.0.1:0\"")
        .replace("shutdown_grace_secs = 20", "shutdown_grace_secs = 15");
    std::fs::write(&config_path, &config).unwrap();
    let doctor =
        Command::new(root.join("usr/bin/posagent")).args(["doctor", "--config"]).arg(&config_path).output().unwrap();
    assert!(doctor.status.success(), "{}", String::from_utf8_lossy(&doctor.stdout));

    let log_path = tmp.path().join("daemon.log");
    let mut daemon = Command::new(root.join("usr/bin/posagent"))
        .args(["--log-format", "json", "run", "--config"])
        .arg(&config_path)
        .env("POSAGENT_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    let token_file = data.join("ecr.token");
    assert_eq!(mode(&token_file), 0o600);
    assert_eq!(mode(&etc.join("acquirer.key")), 0o600);
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let r = http.get(format!("{url}{path}")).bearer_auth(&token).send();
        async move { r.await.unwrap() }
    };

    // Health and metrics.
    let health: Value = get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["acquirer"]["online"], true);
    assert_eq!(health["queue"]["pending"], 0);
    let metrics = get("/metrics").await.text().await.unwrap();
    for m in ["posagent_device_up{device=\"printer\"", "posagent_queue_depth 0", "posagent_acquirer_up 1"] {
        assert!(metrics.contains(m), "{m} in {metrics}");
    }
    assert!(mode(&data.join("posagent.db")) & 0o077 == 0, "the journal is private");

    // The log level at run time, and by SIGHUP from the config.
    let r = http
        .put(format!("{url}/v1/log-level"))
        .bearer_auth(&token)
        .json(&json!({"level": "debug"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .put(format!("{url}/v1/log-level"))
        .bearer_auth(&token)
        .json(&json!({"level": "lo=ud=x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // A word that is not a level would parse as a target and switch logging off.
    for word in ["warning", "verbose", "AAA"] {
        let r = http
            .put(format!("{url}/v1/log-level"))
            .bearer_auth(&token)
            .json(&json!({"level": word}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{word}");
    }
    std::fs::write(&config_path, config.replace("# log_level = \"info\"", "log_level = \"info,posagent=debug\""))
        .unwrap();
    Command::new("kill").args(["-HUP", &daemon.id().to_string()]).status().unwrap();
    let mut level = Value::Null;
    for _ in 0..100 {
        level = get("/v1/log-level").await.json().await.unwrap();
        if level["level"] == "info,posagent=debug" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(level["level"], "info,posagent=debug", "SIGHUP applied the config's log_level");

    // SIGTERM in the middle of a Klarna sale.
    let sale: Value = http
        .post(format!("{url}/v1/sales"))
        .bearer_auth(&token)
        .json(&json!({"amount": 12_500, "currency": "SEK"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = sale["id"].as_str().unwrap().to_string();
    let state = |http: reqwest::Client, url: String, token: String, id: String| async move {
        let s: Value =
            http.get(format!("{url}/v1/sales/{id}")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        s
    };
    for _ in 0..250 {
        if state(http.clone(), url.clone(), token.clone(), id.clone()).await["state"] == "QR_SHOWN" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    // Until the signal is handled a new sale is 409 TERMINAL_BUSY (one is open), then
    // 503 SHUTTING_DOWN: never a second sale.
    let body = crate::common::eventually::eventually_seen(
        "new sales to be refused while stopping",
        crate::common::eventually::WITHIN,
        || async {
            let refused = http
                .post(format!("{url}/v1/sales"))
                .bearer_auth(&token)
                .json(&json!({"amount": 100, "currency": "SEK"}))
                .send()
                .await
                .unwrap();
            let status = refused.status().as_u16();
            let body: Value = refused.json().await.unwrap();
            assert!(status == 503 || body["code"] == "TERMINAL_BUSY", "{status} {body}");
            if status == 503 {
                crate::common::eventually::Seen::Done(body)
            } else {
                crate::common::eventually::Seen::Not(body)
            }
        },
    )
    .await;
    assert_eq!(body["code"], "SHUTTING_DOWN");
    // The customer finishes the sale in progress.
    sim.customer(posagent_sim::customer::CustomerAction::Approve).await.unwrap();
    let mut exited = None;
    for _ in 0..500 {
        if let Some(s) = daemon.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = exited.expect("the daemon stops once the sale is done");
    assert!(status.success(), "{status:?}");
    let receipts = sim.printer.wait_for(1, Duration::from_secs(2)).await.unwrap();
    assert!(receipts.iter().any(|r| r.text.contains("Klarna")), "the receipt of the finished sale printed");
    let db = rusqlite::Connection::open(data.join("posagent.db")).unwrap();
    let (st, printed): (String, bool) = db
        .query_row("SELECT state, json_extract(data, '$.receipt_printed') FROM sales WHERE id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((st.as_str(), printed), ("APPROVED", true));

    // The shutdown order, from the JSON logs.
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let at = |pred: &dyn Fn(&Value) -> bool| lines.iter().position(pred);
    let step = |name: &'static str| {
        at(&|l: &Value| l["fields"]["shutdown_step"] == name)
            .unwrap_or_else(|| panic!("no shutdown step {name} in {logs}"))
    };
    let approved = at(&|l: &Value| l["fields"]["state"] == "APPROVED").expect("the sale's approval is logged");
    let (refuse, sales, flush, devices, stopped) =
        (step("refuse"), step("sales"), step("flush"), step("devices"), step("stopped"));
    assert!(
        refuse < approved && approved < sales,
        "the sale finished after new sales were refused, before the sale step"
    );
    assert!(sales < flush && flush < devices && devices < stopped, "flush, then devices, then stopped");
    assert!(lines[sales]["level"] == "INFO", "the sale finished within the grace period: {}", lines[sales]);
    assert!(logs.contains("SIGHUP: config reloaded"));
    stop.cancel();
}
