//! The Debian package as store IT gets it: `cargo deb` packs this build's debug binary
//! (`--no-build --profile dev`, no strip, fast compression: seconds, not a release build),
//! `dpkg-deb -x` unpacks it into a temporary root, the package's own postinst logic runs
//! against that root (`DPKG_ROOT`; the cargo-deb systemd snippets after it are the host's
//! business and are not run), and the unit's ExecStart, read from the installed unit file,
//! runs as an unprivileged service user (a throwaway one made with `useradd` when the test
//! runs as root, dropped to with `setpriv`), with the config pointed at the simulator. It
//! checks /health (`ok`, then `degraded` with the acquirer named when the acquirer stops
//! answering: sales go on offline, so 200 — see src/ecr/health.rs), that a profile's
//! network printer needs `printer_endpoint`, and that the postrm purge leaves no secret.
//!
//! Skipped, saying so, only where cargo-deb or dpkg-deb is missing (`.ci/package --tools`
//! installs cargo-deb; `.ci/run` runs it before the tests).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use posagent::daemon::start_simulator;
use serde_json::Value;
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

/// Hook for the umockdev-emulated USB printer (tests/usb/, written on another branch):
/// once it lands, this returns its endpoint (`file:/dev/posagent-printer`, linked by the
/// installed `lib/udev/rules.d/99-posagent.rules` inside `umockdev-run`) and the ExecStart
/// runs under umockdev-run. Until then the printer is the simulator's, over TCP, set as
/// `printer_endpoint` for the profile's network printer.
fn emulated_usb_printer() -> Option<String> {
    None
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
    assert_eq!(rules, include_str!("../packaging/99-posagent.rules"));
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

async fn health(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(format!("{url}/health")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
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

/// Store IT's part, against the simulator: the acquirer key, a store profile by the
/// shipped one's name (the store's overrides come first) with a network printer, whose
/// address doctor asks for, then `printer_endpoint`. The acquirer key.
fn configure_for(r: &Root, sim: &posagent_sim::SimEnvironment, user: &ServiceUser) -> String {
    let key = std::fs::read_to_string(r.tmp.path().join("simdata/acquirer.key")).unwrap().trim().to_string();
    posagent::daemon::write_secret(&r.etc.join("acquirer.key"), &key).unwrap();
    let profile = include_str!("../firmware-config/simulator.toml")
        .replacen("endpoint = \"tcp:127.0.0.1:1\"", &format!("endpoint = \"tcp:{}\"", sim.display_addr), 1)
        .replacen("endpoint = \"tcp:127.0.0.1:1\"", "endpoint = \"network\"", 1);
    let profile = profile.split("[card_reader]").next().unwrap().to_string();
    std::fs::create_dir_all(r.etc.join("firmware-config")).unwrap();
    std::fs::write(r.etc.join("firmware-config/generic-800x480.toml"), profile).unwrap();
    // The installed binary runs in the temporary root: the config's paths become its.
    let config = std::fs::read_to_string(&r.config)
        .unwrap()
        .replace("data_dir = \"/var/lib/posagent\"", &format!("data_dir = \"{}\"", r.data.display()))
        .replace("url = \"https://acquirer.example/terminal\"", &format!("url = \"{}\"", sim.backend_url))
        .replace("timeout_ms = 10000", "timeout_ms = 1000")
        .replace("listen = \"127.0.0.1:7600\"", "listen = \"127.0.0.1:0\"");
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
    let printer = emulated_usb_printer().unwrap_or_else(|| format!("tcp:{}", sim.printer_addr));
    let set = format!("printer_endpoint = \"{printer}\"");
    std::fs::write(&r.config, config.replace("# printer_endpoint = \"tcp:PRINTER-ADDRESS:9100\"", &set)).unwrap();
    key
}

/// Polls /health until `done` holds (10 s at most); the last answer.
async fn health_until(http: &reqwest::Client, url: &str, done: impl Fn(&Value) -> bool) -> (u16, Value) {
    let mut last = health(http, url).await;
    for _ in 0..100 {
        if done(&last.1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = health(http, url).await;
    }
    last
}

/// The unit's ExecStart as the service user: healthy, then degraded once the acquirer
/// stops answering (sales go on offline: 200, the acquirer named); SIGTERM stops it.
/// The ECR token.
async fn run_service(r: &Root, sim: &posagent_sim::SimEnvironment, user: &ServiceUser) -> String {
    let exec = exec_start(&r.root);
    assert!(exec.contains(&r.config.display().to_string()), "{exec:?}");
    let log = r.tmp.path().join("daemon.log");
    let mut cmd = user.command(&exec);
    cmd.env_clear().env("PATH", "/usr/bin:/bin").env("POSAGENT_LOG", "info");
    let mut daemon = cmd.stdout(Stdio::piped()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let url = line.split_whitespace().find(|w| w.starts_with("http://"));
    let url = url.unwrap_or_else(|| panic!("{line}{}", logs())).to_string();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let (status, body) = health_until(&http, &url, |b| b["status"] == "ok").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}\n{}", logs());
    let db = r.data.join("posagent.db");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&db).unwrap().uid(), user.uid, "the journal is the service user's");
    assert_eq!(mode(&db) & 0o077, 0, "and private (UMask=0077)");

    let faults = http.post(format!("{}/sim/faults", sim.backend_url)).json(&serde_json::json!({"partition": true}));
    assert!(faults.send().await.unwrap().status().is_success());
    let token = std::fs::read_to_string(r.data.join("ecr.token")).unwrap().trim().to_string();
    let sale = serde_json::json!({"amount": 100, "currency": "SEK"});
    let _ = http.post(format!("{url}/v1/sales")).bearer_auth(&token).json(&sale).send().await;
    let (status, body) = health_until(&http, &url, |b| b["status"] != "ok").await;
    let parts: Vec<&str> = body["problems"].as_array().unwrap().iter().filter_map(|p| p["part"].as_str()).collect();
    assert_eq!((status, body["status"].as_str()), (200, Some("degraded")), "{body}");
    assert!(parts.contains(&"acquirer") && body["acquirer"]["online"] == false, "{body}");

    Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    let mut stopped = None;
    for _ in 0..300 {
        stopped = daemon.try_wait().unwrap();
        if stopped.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stopped.is_some_and(|s| s.success()), "stopped cleanly: {stopped:?}\n{}", logs());
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_installs_runs_as_its_service_user_and_purges_its_secrets() {
    if !Command::new(cargo()).args(["deb", "--version"]).output().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED tests/package.rs: cargo-deb is not installed (`.ci/package --tools` installs it)");
        return;
    }
    if !succeeds(Command::new("dpkg-deb").arg("--version")) {
        eprintln!("SKIPPED tests/package.rs: dpkg-deb is not installed (Debian package dpkg)");
        return;
    }
    let r = install_and_configure();
    let user = ServiceUser::new();
    let stop = CancellationToken::new();
    let sim = start_simulator(&r.tmp.path().join("simdata"), &r.tmp.path().join("sim"), stop.clone()).await.unwrap();
    let key = configure_for(&r, &sim, &user);
    let token = run_service(&r, &sim, &user).await;
    stop.cancel();

    // Purge: the config, the keys and the token go; the journal stays (docs/install.md).
    std::fs::write(r.etc.join("ecr.key"), "-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::write(r.data.join("ecr.key"), "-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::write(r.data.join("terminal-identity.pem"), "-----BEGIN PRIVATE KEY-----").unwrap();
    run_script(r.tmp.path(), "postrm", &own_part(&r.control.join("postrm")), &r.root, "purge");
    let left = [secrets_left(&r.root.join("etc"), &[&key, &token]), secrets_left(&r.root.join("var"), &[&key, &token])];
    assert_eq!(left.concat(), Vec::<String>::new(), "no secret survives the purge");
    assert!(!r.etc.exists() && r.data.join("posagent.db").exists(), "the config goes, the sale journal is kept");
}
