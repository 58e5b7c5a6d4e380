//! `posagent doctor` against a daemon running on the simulator, and with a broken setup.
#![cfg(feature = "simulator")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Harness;
use posagent::doctor::Level;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_a_running_terminal() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            "model = \"sim\"\ndescription = \"d\"\n[display]\ndriver = \"panel\"\nendpoint = \"tcp:{}\"\nwidth = 800\nheight = 480\n[printer]\ndriver = \"escpos\"\nendpoint = \"tcp:{}\"\ncolumns = 48\nwidth_dots = 576\nnative_qr = true\ncode_page = \"pc858\"\n",
            h.sim.display_addr, h.sim.printer_addr
        ),
    )
    .unwrap();
    let listen = h.url.trim_start_matches("http://");
    let config = dir.path().join("posagent.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{data}\"\ndevice_profile = \"{profile}\"\n[store]\nstore_reference = \"s\"\nterminal_reference = \"SIM01\"\nname = \"n\"\ncountry = \"SE\"\ncurrency = \"SEK\"\nlocale = \"sv-SE\"\n[acquirer]\nurl = \"{url}\"\ncredentials_file = \"{key}\"\n[ecr]\nlisten = \"{listen}\"\ntoken_file = \"ecr.token\"\n",
            data = h.data_dir().display(),
            profile = profile.display(),
            url = h.sim.backend_url,
            key = h.data_dir().join("acquirer.key").display(),
        ),
    )
    .unwrap();
    let checks = posagent::doctor::run(&config).await;
    let text: Vec<String> = checks.iter().map(ToString::to_string).collect();
    for name in [
        "config",
        "acquirer key",
        "ECR token",
        "journal integrity",
        "disk space",
        "acquirer",
        "clock",
        "device display",
        "device printer",
    ] {
        let c = checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} check: {text:#?}"));
        assert_ne!(c.level, Level::Fail, "{c}");
    }

    // Break the key file's mode: FAIL with what to do.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = h.data_dir().join("acquirer.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let checks = posagent::doctor::run(&config).await;
        let c = checks.iter().find(|c| c.name == "acquirer key").unwrap();
        assert_eq!(c.level, Level::Fail);
        assert!(c.detail.contains("chmod 600"), "{c}");
        // A key the daemon would refuse (too short) is a FAIL too, and the acquirer
        // checks say they were not run instead of vanishing.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&key, "short\n").unwrap();
        let checks = posagent::doctor::run(&config).await;
        let c = checks.iter().find(|c| c.name == "acquirer key").unwrap();
        assert!(c.level == Level::Fail && c.detail.contains("will not start"), "{c}");
        let a = checks.iter().find(|c| c.name == "acquirer").expect("the acquirer check is reported");
        assert!(a.level == Level::Fail && a.detail.contains("not checked"), "{a}");
    }
    // A config that does not load is one FAIL line.
    let checks = posagent::doctor::run(&dir.path().join("missing.toml")).await;
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].level, Level::Fail);
}
