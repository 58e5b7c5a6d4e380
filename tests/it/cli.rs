//! The `posagent` binary: `demo`, `init` and start-up errors, run as a process.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::common::eventually::{Seen, WITHIN, eventually, eventually_seen};
use std::process::Command;

fn posagent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_posagent"))
}

#[test]
fn demo_writes_frames_receipts_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = posagent().args(["demo", "--out"]).arg(&out).env("POSAGENT_LOG", "warn").output().unwrap();
    assert!(
        run.status.success(),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["ok"], true);
    let sales = summary["sales"].as_array().unwrap();
    let finals: Vec<&str> = sales.iter().map(|s| s["final_state"].as_str().unwrap()).collect();
    assert_eq!(finals, ["APPROVED", "DECLINED"]);
    for s in sales {
        assert_eq!(s["method"], "KLARNA");
        assert_eq!(s["currency"], "SEK");
        assert!(s["reference"].as_str().is_some_and(|r| r.starts_with("SIM01-")));
    }
    let frames = std::fs::read_dir(out.join("display"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
        .count();
    assert!(frames >= 4, "frames: {frames}");
    let bin = std::fs::read(out.join("printer/receipt-0001.bin")).unwrap();
    let klarna_ref = sales[0]["klarna_reference"].as_str().unwrap();
    assert!(bin.windows(klarna_ref.len()).any(|w| w == klarna_ref.as_bytes()));
    let txt = std::fs::read_to_string(out.join("printer/receipt-0001.txt")).unwrap();
    assert!(txt.contains(klarna_ref) && txt.contains("1\u{a0}234,50\u{a0}kr"), "{txt}");
    assert!(!out.join("printer/receipt-0002.bin").exists(), "a declined sale prints no receipt");
}

#[test]
fn init_writes_a_config_that_loads_and_bad_configs_name_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let init = posagent().args(["init", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let config = dir.path().join("posagent.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("# "), "the default config is commented");
    assert!(dir.path().join("firmware-config/generic-800x480.toml").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let token = dir.path().join("posagent-data/ecr.token");
        assert_eq!(std::fs::metadata(token).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // A second init refuses to overwrite.
    assert!(!posagent().args(["init", "--dir"]).arg(dir.path()).output().unwrap().status.success());

    // An unknown key stops start-up naming the file and the key.
    std::fs::write(&config, text.replace("[limits]", "[limits]\nmax_amout = 5")).unwrap();
    let run = posagent().args(["run", "--config"]).arg(&config).output().unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("posagent.toml") && err.contains("max_amout"), "{err}");

    // A missing credentials file is named too.
    std::fs::write(&config, &text).unwrap();
    let run = posagent().args(["run", "--config"]).arg(&config).output().unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("acquirer.key"), "{err}");

    // No mode chosen.
    let run = posagent().arg("run").output().unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--simulator"));
}

/// `config check` is what configuration tools call before putting a file in place: the
/// config and its profile only, exit 0 or 1 with the reason; `devices --profile` exits 1
/// when a device of the profile is missing.
#[test]
fn config_check_validates_the_file_alone_and_devices_fails_when_one_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(posagent().args(["init", "--dir"]).arg(dir.path()).output().unwrap().status.success());
    let config = dir.path().join("posagent.toml");
    let check = || posagent().args(["config", "check", "--config"]).arg(&config).output().unwrap();
    // No acquirer key, no devices, no network here: the file itself is fine.
    let ok = check();
    let said = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(ok.status.success(), "{said}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(said.contains("OK") && said.contains("device profile"), "{said}");
    assert!(!said.contains("acquirer"), "nothing beyond the files is checked: {said}");

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("choice_timeout_secs = 180", "choice_timeout_secs = 0")).unwrap();
    let bad = check();
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stdout);
    assert!(said.contains("FAIL") && said.contains("limits.choice_timeout_secs"), "{said}");

    let profile = dir.path().join("firmware-config/generic-800x480.toml");
    let devices = posagent().args(["devices", "--profile"]).arg(&profile).output().unwrap();
    let said = String::from_utf8_lossy(&devices.stdout);
    assert!(said.contains("MISSING"), "this machine has none of the profile's serial devices: {said}");
    assert!(!devices.status.success(), "a missing device fails the command: {said}");
    assert!(String::from_utf8_lossy(&devices.stderr).contains("missing"));
}

/// The daemon as a process on the simulator, driven by the CLI: reprint, capture/void,
/// reports; then SIGTERM stops it cleanly and a restart resumes an open sale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_drives_a_running_daemon_and_sigterm_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_posagent"))
            .args(["run", "--simulator", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env("POSAGENT_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut daemon = start();
    let info_path = data.join("simulator.json");
    eventually("the daemon to write simulator.json", WITHIN, || async { info_path.exists().then_some(()) }).await;
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
    let (ecr, sim) = (info["ecr_url"].as_str().unwrap().to_string(), info["sim_url"].as_str().unwrap().to_string());
    let token = std::fs::read_to_string(info["ecr_token_file"].as_str().unwrap()).unwrap().trim().to_string();
    let http = reqwest::Client::new();
    let sale: serde_json::Value = http
        .post(format!("{ecr}/v1/sales"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"amount": 5000, "currency": "SEK", "reference": "CLI-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = sale["id"].as_str().unwrap().to_string();
    let wait = |want: &'static str| {
        let (http, ecr, token, id) = (http.clone(), ecr.clone(), token.clone(), id.clone());
        async move {
            eventually_seen(&format!("the sale to reach {want}"), WITHIN, || async {
                let r = http.get(format!("{ecr}/v1/sales/{id}")).bearer_auth(&token).send().await.unwrap();
                let s: serde_json::Value = r.json().await.unwrap();
                let done = s["state"] == want && (want != "APPROVED" || s["receipt_printed"] == true);
                if done { Seen::Done(s) } else { Seen::Not(s) }
            })
            .await
        }
    };
    wait("QR_SHOWN").await;
    http.post(format!("{sim}/sim/customer")).json(&serde_json::json!({"action": "approve"})).send().await.unwrap();
    wait("APPROVED").await;

    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_posagent"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap()
    };
    let reprint = cli(&["sale", "reprint", "CLI-1"]);
    assert!(reprint.status.success(), "{}", String::from_utf8_lossy(&reprint.stderr));
    let void = cli(&["sale", "void", "CLI-1"]);
    assert!(!void.status.success(), "a sale captured in full has nothing to void");
    assert!(String::from_utf8_lossy(&void.stdout).contains("NOTHING_LEFT"));
    // Store IT reads what happened to it, change by change.
    let show = cli(&["sale", "show", "CLI-1"]);
    let shown = String::from_utf8_lossy(&show.stdout).to_string();
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    assert!(shown.starts_with("sale CLI-1 (") && shown.contains("state APPROVED  5000 SEK KLARNA"), "{shown}");
    assert!(shown.contains("(COMPLETED)  captured 5000  refunded 0"), "{shown}");
    for state in ["CREATED", "QR_SHOWN", "CUSTOMER_COMPLETED", "APPROVED"] {
        assert!(shown.lines().any(|l| l.split_whitespace().nth(1) == Some(state)), "no {state} line: {shown}");
    }
    assert!(shown.contains("receipt printed"), "{shown}");
    let sales = cli(&["sales", "--state", "APPROVED"]);
    let listed = String::from_utf8_lossy(&sales.stdout).to_string();
    assert!(sales.status.success(), "{}", String::from_utf8_lossy(&sales.stderr));
    let row = listed.lines().find(|l| l.contains("CLI-1")).unwrap_or_else(|| panic!("no CLI-1 row: {listed}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[1..], ["CLI-1", "APPROVED", "KLARNA", "5000", "SEK"], "{listed}");
    assert!(listed.ends_with("1 sale(s)\n"), "{listed}");
    let none = cli(&["sales", "--method", "CARD", "--json"]);
    assert!(none.status.success() && String::from_utf8_lossy(&none.stdout).contains("\"sales\": []"));
    // The simulator's demo cashiers, and store IT's cashier commands.
    let listed = cli(&["cashier", "list"]);
    let table = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(table.contains("1       Alex") && table.contains("supervisor"), "{table}");
    let signed = http.post(format!("{ecr}/console/session")).json(&serde_json::json!({"cashier": "1", "pin": "1357"}));
    let signed = signed.send().await.unwrap();
    assert_eq!(signed.status(), 200);
    assert!(signed.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    let add = |pin: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_posagent"))
            .args(["cashier", "add", "7", "--name", "Anna", "--pin-stdin", "--data-dir"])
            .arg(&data)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{pin}\n").as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let weak = add("1234");
    assert!(!weak.status.success() && String::from_utf8_lossy(&weak.stderr).contains("1234"), "{weak:?}");
    let added = add("4071");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(String::from_utf8_lossy(&added.stdout), "added cashier 7 (Anna, cashier)\n");
    assert!(cli(&["cashier", "disable", "7"]).status.success());
    let table = String::from_utf8_lossy(&cli(&["cashier", "list"]).stdout).to_string();
    assert!(table.lines().any(|l| l.starts_with("7 ") && l.ends_with(" no")), "{table}");
    let bad = cli(&["sales", "--since", "today"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("since"), "{bad:?}");
    let missing = cli(&["sale", "show", "NO-SUCH-SALE"]);
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("404"));
    let x = cli(&["report", "x"]);
    assert!(x.status.success());
    assert!(
        String::from_utf8_lossy(&x.stdout).contains("\"sales_amount\": 5000"),
        "{}",
        String::from_utf8_lossy(&x.stdout)
    );

    // The queue, for store IT: empty here, drained, exported; no dead letter to retry.
    let out = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string();
    let list = cli(&["queue", "list"]);
    assert!(list.status.success() && out(&list).contains("0 operation(s)"), "{}", out(&list));
    let sync = cli(&["queue", "sync", "--timeout", "10"]);
    assert!(sync.status.success() && out(&sync).contains("queue drained"), "{}", out(&sync));
    let export = cli(&["queue", "export"]);
    assert!(export.status.success());
    assert!(serde_json::from_str::<serde_json::Value>(&out(&export)).unwrap().is_array());
    let retry = cli(&["queue", "retry", "999"]);
    assert!(!retry.status.success());
    assert!(
        String::from_utf8_lossy(&retry.stderr).contains("NOT_FOUND")
            || String::from_utf8_lossy(&retry.stderr).contains("NOT_DEAD")
    );

    // An open sale, then SIGTERM twice: the daemon exits cleanly, and the sale resumes at the
    // next start (with a new simulator: the old acquirer's payment request is gone, so
    // the resumed sale settles into a final state rather than hanging).
    let open: serde_json::Value = http
        .post(format!("{ecr}/v1/sales"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"amount": 7000, "currency": "SEK"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let open_id = open["id"].as_str().unwrap().to_string();
    // The open sale waits for its customer (its QR code is up) when the stop comes.
    eventually_seen("the open sale's QR code", WITHIN, || async {
        let r = http.get(format!("{ecr}/v1/sales/{open_id}")).bearer_auth(&token).send().await.unwrap();
        let s: serde_json::Value = r.json().await.unwrap();
        if s["state"] == "QR_SHOWN" { Seen::Done(()) } else { Seen::Not(s) }
    })
    .await;
    // The first SIGTERM refuses new sales and waits for the open one; a second stops
    // without waiting (the open sale is journaled and resumes at the next start).
    let kill = std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    assert!(kill.success());
    // Until the signal is handled a new sale is 409 TERMINAL_BUSY (one is open), then
    // 503: new sales are refused while stopping.
    eventually_seen("new sales to be refused while stopping", WITHIN, || async {
        let body = serde_json::json!({"amount": 100, "currency": "SEK"});
        let r = http.post(format!("{ecr}/v1/sales")).bearer_auth(&token).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        let answer: serde_json::Value = r.json().await.unwrap();
        assert!(status == 503 || answer["code"] == "TERMINAL_BUSY", "{status} {answer}");
        if status == 503 { Seen::Done(()) } else { Seen::Not(answer) }
    })
    .await;
    assert!(daemon.try_wait().unwrap().is_none(), "the open sale holds the stop");
    let kill = std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = eventually("the daemon to stop within 5 s of SIGTERM", std::time::Duration::from_secs(5), || {
        let exited = daemon.try_wait().unwrap();
        async move { exited }
    })
    .await;
    assert!(status.success(), "{status:?}");
    let db = rusqlite::Connection::open(data.join("posagent.db")).unwrap();
    let state: String = db.query_row("SELECT state FROM sales WHERE id = ?1", [&open_id], |r| r.get(0)).unwrap();
    assert!(["AVAILABILITY_CHECKED", "QR_SHOWN", "CREATED"].contains(&state.as_str()), "open sale left as {state}");
    drop(db);
    let _again = KillOnDrop(start());
    // The new simulator's acquirer does not know the old payment request: the resumed sale
    // asks for it by id and ends FAILED, with the reason, instead of staying open.
    eventually_seen("the resumed sale to end FAILED", WITHIN, || async {
        let db = rusqlite::Connection::open(data.join("posagent.db")).unwrap();
        let resumed: String = db.query_row("SELECT state FROM sales WHERE id = ?1", [&open_id], |r| r.get(0)).unwrap();
        if resumed == "FAILED" { Seen::Done(()) } else { Seen::Not(resumed) }
    })
    .await;
}

/// `--listen` overrides the config's `ecr.listen`, and plain HTTP beyond loopback is
/// refused at start with the key that allows it.
#[test]
fn listen_overrides_the_config_and_plain_http_beyond_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(posagent().args(["init", "--dir"]).arg(dir.path()).output().unwrap().status.success());
    let config = dir.path().join("posagent.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("listen = \"127.0.0.1:7600\"", "listen = \"0.0.0.0:7600\"")).unwrap();
    // The config alone is refused: its listener is beyond loopback without TLS.
    let out = posagent()
        .args(["run", "--simulator", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("a"))
        .env("POSAGENT_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("ecr.allow_plain_http"), "{stderr}");
    // With --listen on loopback it starts there.
    let data = dir.path().join("b");
    let mut daemon = posagent()
        .args(["run", "--simulator", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("POSAGENT_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let info_path = data.join("simulator.json");
    for _ in 0..400 {
        if info_path.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
    let url = info["ecr_url"].as_str().unwrap().to_string();
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":7600"), "{url}");
}

/// A daemon process killed when the test is done with it, failed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
