//! Debian's Mosquitto in a temporary directory, configured as packaging/fleet/ (TLS with
//! client certificates, the CN as username and client id, the ACL) with the pushed
//! configuration's ACL lines added, no connection limit, and the benchmark's fd limit.
//! Killed with SIGKILL and started again on the same port for the restart.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The lines docs/fleet.md's "Pushed configuration" adds to packaging/fleet/acl: the
/// terminals read their three layers, the operator writes them.
const CONFIG_ACL: &str = "
# Pushed configuration (docs/fleet.md): each terminal reads its three layers.
pattern read posagent/%u/config
pattern read posagent/+/config
pattern read posagent/+/+/config
user operator-alice
topic write posagent/+/config
topic write posagent/+/+/config
topic write posagent/+/+/+/config
# The benchmark's second operator, reading the states as `posagent fleet status` does.
user operator-bob
topic read posagent/+/+/+/state
";

/// The broker's process.
pub struct Broker {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// packaging/fleet's config, its paths in `dir` and its listener on `port`.
fn write_config(dir: &Path, port: u16) {
    let acl = format!("{}{CONFIG_ACL}", include_str!("../../packaging/fleet/acl"));
    std::fs::write(dir.join("acl"), acl).unwrap();
    std::fs::create_dir_all(dir.join("db")).unwrap();
    let mut conf = include_str!("../../packaging/fleet/mosquitto.conf")
        .replace("/etc/mosquitto/posagent/", &format!("{}/", dir.display()))
        .replace("/var/lib/mosquitto/", &format!("{}/db/", dir.display()))
        .replace("listener 8883", &format!("listener {port} 127.0.0.1"));
    conf.push_str(concat!(
        "log_dest stderr\n",
        "# The benchmark: no limit on clients (2.0.11's default too, said here).\n",
        "max_connections -1\n",
        "# An operator watching every state gets a burst of one a terminal (a push, a\n",
        "# restart, the retained states at its subscription): with the default of 1000\n",
        "# queued (beyond 20 in flight) Mosquitto drops the rest for it.\n",
        "max_queued_messages 100000\n",
    ));
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir).unwrap()) == 0 {
        // Started as root, Mosquitto drops to `mosquitto`, who cannot read these files.
        conf.push_str("user root\n");
    }
    std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
}

impl Broker {
    /// Mosquitto on a free loopback port, its files in `dir` (the PKI's there already).
    pub async fn start(dir: &Path) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        write_config(dir, port);
        let child = spawn(dir);
        let broker = Broker { child, dir: dir.to_path_buf(), port };
        broker.listening().await;
        broker
    }

    /// Waits until the port takes a TCP connection (10 s at most).
    pub async fn listening(&self) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "mosquitto does not listen:\n{}", self.log_tail());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGKILL, then the same broker started again at once; returns when it was spawned.
    pub fn kill_and_restart(&mut self) -> Instant {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let spawned = Instant::now();
        self.child = spawn(&self.dir);
        spawned
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The broker's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        status_kib(&format!("/proc/{}/status", self.pid()), "VmRSS:")
    }

    /// The broker's soft limit of open files.
    pub fn open_files_limit(&self) -> u64 {
        open_files_limit(&format!("/proc/{}/limits", self.pid()))
    }

    /// The broker's log lines that name `who`.
    pub fn log_of(&self, who: &str) -> String {
        let log = std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains(who)).collect::<Vec<_>>().join("\n")
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default();
        log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

fn spawn(dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("mosquitto.log")).unwrap();
    Command::new(mosquitto().expect("mosquitto"))
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Mosquitto's binary on PATH or in /usr/sbin.
pub fn mosquitto() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).map(|d| d.join("mosquitto")).find(|p| p.is_file())
}

/// A `… kB` line of a /proc status file, in KiB.
pub fn status_kib(file: &str, key: &str) -> u64 {
    let status = std::fs::read_to_string(file).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The soft `Max open files` of a /proc limits file.
pub fn open_files_limit(file: &str) -> u64 {
    let limits = std::fs::read_to_string(file).unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default();
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The kernel's count of connections dropped because a listen queue was full
/// (`TcpExt: ListenOverflows`, the whole machine's): Mosquitto listens with a backlog of 100.
pub fn listen_overflows() -> u64 {
    let netstat = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else { return 0 };
    let at = names.split_whitespace().position(|n| n == "ListenOverflows");
    at.and_then(|i| values.split_whitespace().nth(i)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// CPU time (user + system) of a process so far, from `/proc/PID/stat` (100 ticks a second).
pub fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}
