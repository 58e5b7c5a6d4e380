//! The `posagent` binary: `demo`, `init` and start-up errors, run as a process.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

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
    assert!(txt.contains(klarna_ref) && txt.contains("1 234,50 kr"), "{txt}");
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
