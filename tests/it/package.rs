//! The Debian package as store IT gets it: `cargo deb` packs this build's debug binary
//! (`--no-build --profile dev`, no strip, fast compression: seconds, not a release build),
//! `dpkg-deb -x` unpacks it into a temporary root, the package's own postinst logic runs
//! against that root (`DPKG_ROOT`; the cargo-deb systemd snippets after it are the host's
//! business and are not run), and the unit's ExecStart, read from the installed unit file,
//! runs as an unprivileged service user (a throwaway one made with `useradd` when the test
//! runs as root, dropped to with `setpriv`), with the config pointed at the simulator and
//! the profile's receipt printer an Epson TM-T20II on raw USB (`usb:04b8:0e28`), emulated
//! by umockdev (`tests/it/usb/harness.rs`, shared with `tests/it/usb_printer.rs`): the service
//! reaches it through libusb under the umockdev preload. The binary packed is this test
//! build's, with the default `simulator` feature (the real package is built without it,
//! `.ci/package`); the service runs `run --config` against a simulator this test starts,
//! never `--simulator`, so it behaves as the terminal build does.
//!
//! It checks that a profile's network printer needs `printer_endpoint`; that the service
//! comes up `ok`; that a Klarna sale's receipt arrives at the USB printer (ESC @, the
//! amount as printed, the partial cut GS V B 3, decoded by `tests/it/usb/escpos.rs`); that
//! paper out shows in /metrics (the printer's `paper_out` condition 1, the printer down)
//! and clears; that with `[offline] card_payments = false` /health is `down` with 503,
//! the acquirer named, once the acquirer stops answering (no sale can be taken: Klarna
//! needs the acquirer, cards are not taken offline; see src/ecr/health.rs); and that the
//! postrm purge leaves no secret.
//!
//! Skipped, saying so, only where cargo-deb, dpkg-deb or umockdev is missing (`.ci/package
//! --tools` installs cargo-deb, `.ci/run` runs it and installs umockdev before the tests).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::usb::{escpos, harness};

use harness::{Ecr, Printer};
use posagent::daemon::start_simulator;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The user the service runs as: a throwaway system user when the test is root (removed
/// on drop), else the test's own user (nothing to drop to).
struct ServiceUser {
    name: Option<String>,
    uid: u32,
    gid: u32,
}

impl ServiceUser {
    fn new() -> Self {
        let id = |args: &[&str]| run(Command::new("id").args(args)).trim().parse::<u32>().unwrap();
        if id(&["-u"]) != 0 {
            return ServiceUser { name: None, uid: id(&["-u"]), gid: id(&["-g"]) };
        }
        let name = format!("posagent-t{}", std::process::id());
        run(Command::new("useradd").args(["--system", "--user-group", "--no-create-home"]).args([
            "--shell",
            "/usr/sbin/nologin",
            &name,
        ]));
        let (uid, gid) = (id(&["-u", &name]), id(&["-g", &name]));
        ServiceUser { name: Some(name), uid, gid }
    }

    /// The unit's ExecStart as this user, with the unit's umask.
    fn command(&self, exec: &[String]) -> Command {
        let mut cmd = match &self.name {
            Some(_) => {
                let mut c = Command::new("setpriv");
                c.args([format!("--reuid={}", self.uid), format!("--regid={}", self.gid), "--init-groups".into()]);
                c.arg("--").arg("sh");
                c
            }
            None => Command::new("sh"),
        };
        cmd.args(["-c", "umask 0077 && exec \"$@\"", "sh"]).args(exec);
        cmd
    }
}

impl Drop for ServiceUser {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            let _ = Command::new("userdel").arg(name).status();
        }
    }
}

/// The service's process, killed if the test fails before it stops it (so that the
/// service user can be removed).
struct Running(std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The part of an installed maintainer script that is the package's own (packaging/),
/// without the systemd snippets cargo-deb appends: those act on the host's systemd.
fn own_part(script: &Path) -> String {
    let text = std::fs::read_to_string(script).unwrap();
    text.split("# Automatically added by cargo-deb").next().unwrap().to_string()
}

fn run_script(dir: &Path, name: &str, text: &str, root: &Path, arg: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let bin = root.join("usr/bin");
    let path_var = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    run(Command::new("sh").arg(&path).arg(arg).env("DPKG_ROOT", root).env("PATH", path_var));
}

/// `cargo deb` of this build into `out`; the .deb's path.
fn build_deb(out: &Path) -> PathBuf {
    let manifest = env!("CARGO_MANIFEST_DIR");
    run(Command::new(cargo())
        .args(["deb", "--no-build", "--profile", "dev", "--no-strip", "--fast", "--quiet", "--output"])
        .arg(out)
        .current_dir(manifest));
    let deb =
        std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "deb"));
    deb.expect("cargo deb wrote a .deb")
}

fn unpack(deb: &Path, root: &Path, control: &Path) {
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(root));
    run(Command::new("dpkg-deb").arg("-e").arg(deb).arg(control));
    let packaged = root.join("usr/bin/posagent");
    let built = std::fs::metadata(env!("CARGO_BIN_EXE_posagent")).unwrap().len();
    assert_eq!(std::fs::metadata(&packaged).unwrap().len(), built, "the package holds this build");
    assert_eq!(mode(&packaged), 0o755);
    let rules = std::fs::read_to_string(root.join("lib/udev/rules.d/99-posagent.rules")).unwrap();
    assert_eq!(rules, include_str!("../../packaging/99-posagent.rules"));
    let copyright = std::fs::read_to_string(root.join("usr/share/doc/posagent/copyright")).unwrap();
    assert!(copyright.starts_with("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"));
    for f in [
        "usr/lib/systemd/system/posagent.service",
        "usr/share/posagent/firmware-config/generic-800x480.toml",
        "usr/share/man/man1/posagent.1.gz",
        "usr/share/doc/posagent/changelog.Debian.gz",
        "usr/share/lintian/overrides/posagent",
    ] {
        assert!(root.join(f).is_file(), "{f} in the package");
    }
}

/// The ExecStart of the installed unit, its absolute paths moved into `root`.
fn exec_start(root: &Path) -> Vec<String> {
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/posagent.service")).unwrap();
    let line = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("the unit has an ExecStart");
    line.split_whitespace()
        .map(|w| match w.strip_prefix('/') {
            Some(rel) => root.join(rel).display().to_string(),
            None => w.to_string(),
        })
        .collect()
}

fn own(path: &Path, uid: Option<u32>, gid: u32) {
    std::os::unix::fs::chown(path, uid, Some(gid)).unwrap();
}

/// Every file under `dir` whose name or contents give a secret away.
fn secrets_left(dir: &Path, secrets: &[&str]) -> Vec<String> {
    let mut found = vec![];
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.map(|e| e.unwrap().path()) {
        if entry.is_dir() {
            found.extend(secrets_left(&entry, secrets));
            continue;
        }
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let named = [".key", ".pem", ".token"].iter().any(|s| name.ends_with(s));
        let holds = secrets.iter().any(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()));
        if named || holds {
            found.push(entry.display().to_string());
        }
    }
    found
}

/// The unpacked package's root and the paths the steps share.
struct Root {
    tmp: tempfile::TempDir,
    root: PathBuf,
    control: PathBuf,
    etc: PathBuf,
    data: PathBuf,
    config: PathBuf,
}

/// postinst configure: the config by `posagent init`, runtime paths, no profile copies.
fn install_and_configure() -> Root {
    let tmp = tempfile::tempdir().unwrap();
    // The service user walks into the root through the temporary folder.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (root, control) = (tmp.path().join("root"), tmp.path().join("control"));
    let deb = build_deb(&tmp.path().join("deb"));
    unpack(&deb, &root, &control);
    run_script(tmp.path(), "postinst", &own_part(&control.join("postinst")), &root, "configure");
    let (etc, data) = (root.join("etc/posagent"), root.join("var/lib/posagent"));
    let config = etc.join("posagent.toml");
    let installed = std::fs::read_to_string(&config).unwrap();
    assert!(installed.contains("\ndata_dir = \"/var/lib/posagent\"\n"), "{installed}");
    assert!(installed.contains("\ndevice_profile = \"generic-800x480\"\n"));
    assert!(!etc.join("firmware-config").exists(), "no profile is copied into /etc");
    assert_eq!((mode(&etc), mode(&config), mode(&data)), (0o750, 0o640, 0o700));
    assert_eq!(mode(&data.join("ecr.token")), 0o600);
    Root { tmp, root, control, etc, data, config }
}

/// The profile's `[printer]`: the emulated TM-T20II on raw USB, its columns, width and
/// QR support from the printer database.
const USB_PRINTER: &str = "[printer]
driver = \"escpos\"
endpoint = \"usb:04b8:0e28\"
usb_id = \"04b8:0e28\"
model = \"TM-T20II\"
code_page = \"pc858\"
";

/// Store IT's part, against the simulator: the acquirer key, a store profile by the
/// shipped one's name (the store's overrides come first) with a network printer, whose
/// address doctor asks for; then the printer the terminal has, the USB TM-T20II, in the
/// profile; no card reader, and no card payments offline. The acquirer key.
fn configure_for(r: &Root, sim: &posagent_sim::SimEnvironment, user: &ServiceUser) -> String {
    let key = std::fs::read_to_string(r.tmp.path().join("simdata/acquirer.key")).unwrap().trim().to_string();
    posagent::daemon::write_secret(&r.etc.join("acquirer.key"), &key).unwrap();
    let profile = include_str!("../../firmware-config/simulator.toml")
        .replacen("endpoint = \"tcp:127.0.0.1:1\"", &format!("endpoint = \"tcp:{}\"", sim.display_addr), 1)
        .replacen("endpoint = \"tcp:127.0.0.1:1\"", "endpoint = \"network\"", 1);
    let profile = profile.split("[card_reader]").next().unwrap().to_string();
    let profile_path = r.etc.join("firmware-config/generic-800x480.toml");
    std::fs::create_dir_all(r.etc.join("firmware-config")).unwrap();
    std::fs::write(&profile_path, &profile).unwrap();
    // The installed binary runs in the temporary root: the config's paths become its.
    let installed = std::fs::read_to_string(&r.config).unwrap();
    assert!(installed.contains("\ncard_payments = true\n"), "{installed}");
    let config = installed
        .replace("data_dir = \"/var/lib/posagent\"", &format!("data_dir = \"{}\"", r.data.display()))
        .replace("url = \"https://acquirer.example/terminal\"", &format!("url = \"{}\"", sim.backend_url))
        .replace("timeout_ms = 10000", "timeout_ms = 1000")
        .replace("listen = \"127.0.0.1:7600\"", "listen = \"127.0.0.1:0\"")
        .replace("\ncard_payments = true\n", "\ncard_payments = false\n");
    std::fs::write(&r.config, &config).unwrap();
    // What postinst gives the posagent user, given to the service user.
    for (path, uid) in [(&r.data, Some(user.uid)), (&r.data.join("ecr.token"), Some(user.uid)), (&r.etc, None)] {
        own(path, uid, user.gid);
    }
    own(&r.config, None, user.gid);
    own(&r.etc.join("acquirer.key"), Some(user.uid), user.gid);
    let bin = r.root.join("usr/bin/posagent").display().to_string();
    let out = user.command(&[bin, "doctor".into(), "--config".into(), r.config.display().to_string()]).output();
    let text = String::from_utf8_lossy(&out.as_ref().unwrap().stdout).to_string();
    assert!(!out.unwrap().status.success() && text.contains("printer_endpoint"), "network printer: {text}");
    // The terminal's printer is on USB after all: the profile says so, no printer_endpoint.
    let printer_at = profile.find("[printer]").unwrap();
    let after = profile[printer_at..].find("\n[").map_or(profile.len(), |i| printer_at + i + 1);
    std::fs::write(&profile_path, format!("{}{USB_PRINTER}{}", &profile[..printer_at], &profile[after..])).unwrap();
    key
}

/// The unit's ExecStart as the service user under the umockdev preload: healthy, a
/// Klarna sale's receipt on the USB printer, paper out in /metrics and back, then down
/// once the acquirer stops answering; SIGTERM stops it. The ECR token.
async fn run_service(
    r: &Root,
    sim: &posagent_sim::SimEnvironment,
    user: &ServiceUser,
    printer: &mut Printer,
) -> String {
    let exec = exec_start(&r.root);
    assert!(exec.contains(&r.config.display().to_string()), "{exec:?}");
    let log = r.tmp.path().join("daemon.log");
    let mut cmd = user.command(&exec);
    // The preload goes through setpriv and sh to the ExecStart, as the unit's
    // Environment= would pass it; the testbed is the service user's group's.
    printer.share_with_group(user.gid);
    cmd.env_clear().env("PATH", "/usr/bin:/bin").env("POSAGENT_LOG", "info").envs(printer.env());
    let daemon = cmd.stdout(Stdio::piped()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let mut daemon = Running(daemon);
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let url = line.split_whitespace().find(|w| w.starts_with("http://"));
    let url = url.unwrap_or_else(|| panic!("{line}{}", logs())).to_string();
    let token = std::fs::read_to_string(r.data.join("ecr.token")).unwrap().trim().to_string();
    let ecr = Ecr::new(url, token.clone(), log.clone());
    let (status, body) = ecr.health_until(10, |_, b| b["status"] == "ok").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}\n{}", logs());
    printer.wait_line(|l| l == "event claimed", Duration::from_secs(1));
    let db = r.data.join("posagent.db");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&db).unwrap().uid(), user.uid, "the journal is the service user's");
    assert_eq!(mode(&db) & 0o077, 0, "and private (UMask=0077)");

    // A sale's receipt, byte for byte on the USB printer.
    ecr.klarna_sale(sim, 12_345).await;
    let items = printer.documents_until(1, 10, logs).await;
    harness::assert_receipt(escpos::documents(&items)[0], "123,45");

    // Paper out: the printer's condition and the printer down in /metrics; back: cleared.
    printer.command("paper out");
    ecr.metric_until(harness::PAPER_OUT, "1", 5).await;
    let up = ecr.printer_up_until(false, 2).await;
    assert_eq!(up, format!("posagent_device_up{{device=\"printer\",endpoint=\"{}\"}} 0", harness::ENDPOINT));
    printer.command("paper ok");
    ecr.metric_until(harness::PAPER_OUT, "0", 5).await;
    ecr.printer_up_until(true, 2).await;

    // The acquirer unreachable, and no card payments offline (nor a card reader): no sale
    // can be taken, so down with 503, the acquirer named.
    let faults = ecr.http.post(format!("{}/sim/faults", sim.backend_url)).json(&serde_json::json!({"partition": true}));
    assert!(faults.send().await.unwrap().status().is_success());
    let sale = serde_json::json!({"amount": 100, "currency": "SEK"});
    let _ = ecr.http.post(format!("{}/v1/sales", ecr.url)).bearer_auth(&token).json(&sale).send().await;
    let (status, body) = ecr.health_until(10, |_, b| b["acquirer"]["online"] == false).await;
    let parts: Vec<&str> = body["problems"].as_array().unwrap().iter().filter_map(|p| p["part"].as_str()).collect();
    assert!(parts.contains(&"acquirer") && body["acquirer"]["online"] == false, "{body}");
    assert_eq!((status, body["status"].as_str()), (503, Some("down")), "{body}");

    Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    let stopped = crate::common::eventually::eventually("the daemon to stop", Duration::from_secs(30), || {
        let exited = daemon.try_wait().unwrap();
        async move { exited }
    })
    .await;
    assert!(stopped.success(), "stopped cleanly: {stopped:?}\n{}", logs());
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_installs_runs_as_its_service_user_and_purges_its_secrets() {
    if !Command::new(cargo()).args(["deb", "--version"]).output().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED tests/it/package.rs: cargo-deb is not installed (`.ci/package --tools` installs it)");
        return;
    }
    if !succeeds(Command::new("dpkg-deb").arg("--version")) {
        eprintln!("SKIPPED tests/it/package.rs: dpkg-deb is not installed (Debian package dpkg)");
        return;
    }
    if let Some(why) = harness::missing_tools() {
        eprintln!(
            "SKIPPED tests/it/package.rs: {why}; install: apt-get install -y umockdev libumockdev-dev pkg-config gcc"
        );
        return;
    }
    let started = std::time::Instant::now();
    let r = install_and_configure();
    let user = ServiceUser::new();
    let stop = CancellationToken::new();
    // The simulator stops with the test (the tests share one process).
    let _stop_guard = stop.clone().drop_guard();
    let sim = start_simulator(&r.tmp.path().join("simdata"), &r.tmp.path().join("sim"), stop.clone()).await.unwrap();
    let key = configure_for(&r, &sim, &user);
    let usb = r.tmp.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let mut printer = Printer::start(&usb);
    let token = run_service(&r, &sim, &user, &mut printer).await;
    drop(printer);
    stop.cancel();

    // Purge: the config, the keys and the token go; the journal stays (docs/install.md).
    std::fs::write(r.etc.join("ecr.key"), "-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::write(r.data.join("ecr.key"), "-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::write(r.data.join("terminal-identity.pem"), "-----BEGIN PRIVATE KEY-----").unwrap();
    run_script(r.tmp.path(), "postrm", &own_part(&r.control.join("postrm")), &r.root, "purge");
    let left = [secrets_left(&r.root.join("etc"), &[&key, &token]), secrets_left(&r.root.join("var"), &[&key, &token])];
    assert_eq!(left.concat(), Vec::<String>::new(), "no secret survives the purge");
    assert!(!r.etc.exists() && r.data.join("posagent.db").exists(), "the config goes, the sale journal is kept");
    eprintln!("package took {:.1} s", started.elapsed().as_secs_f64());
}
