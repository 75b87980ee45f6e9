//! Real daemons for tests (docker-registry, containerd, `sealer registry serve`), started on
//! loopback with private state and killed by PID when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn spawn(mut cmd: Command, log: &Path) -> Daemon {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Daemon {
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Status code of `GET url` (plain HTTP on loopback), or None when nothing answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    line.split(' ').nth(1)?.parse().ok()
}

/// Wait until `http://addr/v2/` answers 200.
pub fn wait_registry(addr: &str, daemon: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while http_status(addr, "/v2/") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "registry on {addr} did not start:\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Debian's docker-registry (CNCF distribution) over `root`, on a free loopback port.
pub fn docker_registry(root: &Path, read_only: bool, log_dir: &Path) -> (Daemon, String) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    std::fs::create_dir_all(log_dir).expect("log dir");
    let cfg = log_dir.join(format!("registry-{port}.yml"));
    let maintenance = if read_only {
        "  maintenance:\n    readonly: {enabled: true}\n    uploadpurging: {enabled: false}\n"
    } else {
        ""
    };
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\n{maintenance}http: {{addr: {addr}}}\n",
            root.display()
        ),
    )
    .expect("registry config");
    let mut cmd = Command::new("docker-registry");
    cmd.arg("serve").arg(&cfg);
    let d = Daemon::spawn(cmd, &log_dir.join(format!("registry-{port}.log")));
    wait_registry(&addr, &d);
    (d, addr)
}

/// `sealer registry serve` over `root`.
pub fn sealer_registry(root: &Path, read_only: bool, log_dir: &Path) -> (Daemon, String) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(super::sealer_bin());
    cmd.args(["registry", "serve", "--dir"])
        .arg(root)
        .args(["--addr", &addr]);
    if read_only {
        cmd.arg("--read-only");
    }
    cmd.arg("--access-log")
        .arg(log_dir.join(format!("access-{port}.jsonl")));
    let d = Daemon::spawn(cmd, &log_dir.join(format!("sealer-registry-{port}.log")));
    wait_registry(&addr, &d);
    (d, addr)
}

/// `sealer registry serve --image NAME --platform P` over the store `store`, on a free port.
pub fn sealer_registry_image(
    store: &Path,
    image: &str,
    platform: &str,
    log_dir: &Path,
) -> (Daemon, String) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(super::sealer_bin());
    cmd.arg("--root")
        .arg(store)
        .args([
            "registry",
            "serve",
            "--image",
            image,
            "--platform",
            platform,
        ])
        .args(["--addr", &addr]);
    let d = Daemon::spawn(cmd, &log_dir.join(format!("sealer-registry-{port}.log")));
    wait_registry(&addr, &d);
    (d, addr)
}

/// A private containerd (CRI disabled) under `dir`; returns the daemon and its socket.
pub fn containerd(dir: &Path) -> (Daemon, PathBuf) {
    let sock = dir.join("containerd.sock");
    let cfg = dir.join("config.toml");
    std::fs::create_dir_all(dir).expect("containerd dir");
    std::fs::write(
        &cfg,
        format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n[debug]\n  address = \"{d}/debug.sock\"\n",
            d = dir.display(),
            s = sock.display()
        ),
    )
    .expect("containerd config");
    let mut cmd = Command::new("containerd");
    cmd.arg("--config").arg(&cfg);
    let d = Daemon::spawn(cmd, &dir.join("containerd.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = Command::new("ctr")
            .arg("--address")
            .arg(&sock)
            .arg("version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return (d, sock);
        }
        assert!(
            Instant::now() < deadline,
            "containerd did not start:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A containerd `hosts.toml` mirroring `domain` to `mirror`; the fallback server is an
/// unused loopback port, so nothing can leave the machine.
pub fn hosts_toml(hosts_dir: &Path, domain: &str, mirror: &str) {
    let d = hosts_dir.join(domain);
    std::fs::create_dir_all(&d).expect("hosts dir");
    std::fs::write(
        d.join("hosts.toml"),
        format!(
            "server = \"http://127.0.0.1:{}\"\n\n[host.\"http://{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            free_port()
        ),
    )
    .expect("hosts.toml");
}
