//! Test hosts as network namespaces on a bridge, each running Debian's sshd with key auth and
//! a private mount namespace giving it its own /etc/containerd, /var/lib/sealer and /etc/hosts.
//! Everything is torn down by PID and by name in Drop.
//!
//! Shared by the end-to-end tests and the runtime crate's tests (a dev-dependency).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// Why these tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    for bin in [
        SSHD,
        "/usr/sbin/ip",
        "/usr/bin/ssh-keygen",
        "/usr/bin/unshare",
    ] {
        if !Path::new(bin).exists() && which(bin).is_none() {
            return Some(format!(
                "{bin} is missing (apt-get install openssh-server iproute2)"
            ));
        }
    }
    if which("busybox").is_none() {
        return Some("busybox is missing (apt-get install busybox-static)".into());
    }
    None
}

fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).exists().then(|| PathBuf::from(name));
    }
    std::env::var("PATH")
        .ok()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub struct NetHost {
    pub ip: String,
    pub ns: String,
    /// Per-host directory holding `sealer/` (→ /var/lib/sealer), `containerd/` (→ /etc/containerd)
    /// and `hosts` (→ /etc/hosts).
    pub dir: PathBuf,
    sshd: Option<Child>,
}

impl NetHost {
    pub fn var_lib_sealer(&self) -> PathBuf {
        self.dir.join("sealer")
    }
    pub fn etc_containerd(&self) -> PathBuf {
        self.dir.join("containerd")
    }
    pub fn etc_hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }
    /// `<dataRoot>/<cluster>` as seen from outside the host.
    pub fn cluster_dir(&self, cluster: &str) -> PathBuf {
        self.var_lib_sealer().join("data").join(cluster)
    }
}

pub struct Net {
    pub x: u8,
    pub bridge: String,
    pub scratch: tempfile::TempDir,
    pub hosts: Vec<NetHost>,
    route: String,
}

impl Net {
    /// `n` hosts at 10.213.<x>.11.. on bridge `brsrt<x>`.
    pub fn new(x: u8, n: usize) -> Net {
        let scratch = tempfile::Builder::new()
            .prefix("sealer-netns-")
            .tempdir()
            .unwrap();
        let route = format!("10.213.{x}.0/24");
        let mut net = Net {
            x,
            bridge: format!("brsrt{x}"),
            scratch,
            hosts: Vec::new(),
            route: route.clone(),
        };
        // Leftovers of a crashed earlier run with the same number.
        for i in 1..=n {
            let _ = run(&["ip", "netns", "del", &format!("srt{x}h{i}")]);
        }
        let _ = run(&["ip", "link", "del", &net.bridge]);
        let _ = run(&[
            "ip",
            "route",
            "del",
            "unreachable",
            &route,
            "metric",
            "4242",
        ]);
        // Safety net first: nothing for the test range may leave by the real interface.
        run(&[
            "ip",
            "route",
            "add",
            "unreachable",
            &route,
            "metric",
            "4242",
        ])
        .unwrap();
        run(&["ip", "link", "add", &net.bridge, "type", "bridge"]).unwrap();
        run(&[
            "ip",
            "addr",
            "add",
            &format!("10.213.{x}.1/24"),
            "dev",
            &net.bridge,
        ])
        .unwrap();
        run(&["ip", "link", "set", &net.bridge, "up"]).unwrap();
        for dir in ["/var/lib/sealer", "/etc/containerd", "/run/sshd"] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let s = net.scratch.path().to_path_buf();
        run(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            s.join("client").to_str().unwrap(),
        ])
        .unwrap();
        std::fs::copy(s.join("client.pub"), s.join("authorized_keys")).unwrap();
        let mut known = String::new();
        for i in 1..=n {
            let ns = format!("srt{x}h{i}");
            let veth = format!("vsrt{x}h{i}");
            let ip = format!("10.213.{x}.{}", 10 + i);
            run(&["ip", "netns", "add", &ns]).unwrap();
            run(&[
                "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])
            .unwrap();
            run(&["ip", "link", "set", &veth, "master", &net.bridge, "up"]).unwrap();
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                "eth0",
            ])
            .unwrap();
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"]).unwrap();
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"]).unwrap();
            let dir = s.join(format!("h{i}"));
            std::fs::create_dir_all(dir.join("sealer")).unwrap();
            std::fs::create_dir_all(dir.join("containerd")).unwrap();
            std::fs::write(dir.join("hosts"), "127.0.0.1 localhost\n").unwrap();
            let key = dir.join("hostkey");
            run(&[
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                key.to_str().unwrap(),
            ])
            .unwrap();
            let pubkey = std::fs::read_to_string(dir.join("hostkey.pub")).unwrap();
            let mut parts = pubkey.split_whitespace();
            known.push_str(&format!(
                "{ip} {} {}\n",
                parts.next().unwrap(),
                parts.next().unwrap()
            ));
            std::fs::write(
                dir.join("sshd_config"),
                format!(
                    "Port 22\nListenAddress 0.0.0.0\nHostKey {k}\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {s}/authorized_keys\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nPermitRootLogin yes\nUsePAM no\nStrictModes no\nMaxStartups 100\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
                    k = key.display(),
                    d = dir.display(),
                    s = s.display()
                ),
            )
            .unwrap();
            net.hosts.push(NetHost {
                ip,
                ns,
                dir,
                sshd: None,
            });
        }
        std::fs::write(s.join("known_hosts"), known).unwrap();
        for i in 0..n {
            net.start_sshd(i);
        }
        net
    }

    pub fn client_key(&self) -> PathBuf {
        self.scratch.path().join("client")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.scratch.path().join("known_hosts")
    }

    pub fn ips(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.ip.clone()).collect()
    }

    /// Start host `i`'s sshd (in its netns and private mount namespace) and wait for port 22.
    pub fn start_sshd(&mut self, i: usize) {
        let h = &self.hosts[i];
        let script = format!(
            "mount --bind {d}/sealer /var/lib/sealer && mount --bind {d}/containerd /etc/containerd && mount --bind {d}/hosts /etc/hosts && exec {SSHD} -D -f {d}/sshd_config -E {d}/sshd.log",
            d = h.dir.display()
        );
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &h.ns,
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = format!("{}:22", h.ip).parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "sshd on {} did not start", h.ip);
            std::thread::sleep(Duration::from_millis(50));
        }
        self.hosts[i].sshd = Some(child);
    }

    /// Kill host `i`'s sshd and every session it spawned (the connection drops).
    pub fn kill_sshd(&mut self, i: usize) {
        if let Some(mut child) = self.hosts[i].sshd.take() {
            let pid = child.id();
            for p in descendants(pid) {
                unsafe_kill(p);
            }
            unsafe_kill(pid);
            let _ = child.wait();
        }
    }

    /// PIDs of every process in host `i`'s network namespace.
    pub fn ns_pids(&self, i: usize) -> Vec<u32> {
        run(&["ip", "netns", "pids", &self.hosts[i].ns])
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Commands in host `i`'s namespace whose command line contains `needle`.
    pub fn ns_procs(&self, i: usize, needle: &str) -> Vec<u32> {
        self.ns_pids(i)
            .into_iter()
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| {
                        String::from_utf8_lossy(&c)
                            .replace('\0', " ")
                            .contains(needle)
                    })
                    .unwrap_or(false)
            })
            .collect()
    }
}

fn unsafe_kill(pid: u32) {
    if let Ok(p) = i32::try_from(pid) {
        unsafe {
            libc::kill(p, libc::SIGKILL);
        }
    }
}

/// All descendants of `pid` (by walking /proc parent links).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat"))
                && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
                && let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok())
            {
                parents.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(cur) = frontier.pop() {
        for (p, pp) in &parents {
            if *pp == cur && !out.contains(p) {
                out.push(*p);
                frontier.push(*p);
            }
        }
    }
    out
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.hosts.len() {
            self.kill_sshd(i);
            for p in self.ns_pids(i) {
                unsafe_kill(p);
            }
        }
        for h in &self.hosts {
            let _ = run(&["ip", "netns", "del", &h.ns]);
        }
        let _ = run(&["ip", "link", "del", &self.bridge]);
        let _ = run(&[
            "ip",
            "route",
            "del",
            "unreachable",
            &self.route,
            "metric",
            "4242",
        ]);
    }
}
