//! Benchmark hosts: network namespaces on a bridge, each running Debian's sshd (key auth) in a
//! private mount namespace where the host's own directory is bound onto /var/lib/sealer.
//! Adapted from tests/tests/common/netns.rs (test code cannot be imported). Everything is torn
//! down by PID and by name in Drop; an `unreachable` route for the subnet goes in first so
//! nothing addressed to it can leave by the real interface.

use anyhow::{Context, Result, bail};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
/// Third octet of the bench subnet (tests use 41..=54).
const NET: u8 = 60;
const PREFIX: &str = "sdb";

/// Why the benchmark cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    for bin in [
        SSHD,
        "/usr/sbin/ip",
        "/usr/bin/ssh-keygen",
        "/usr/bin/unshare",
    ] {
        if !Path::new(bin).exists() {
            return Some(format!(
                "{bin} is missing (apt-get install openssh-server iproute2)"
            ));
        }
    }
    if !crate::util::have("scp") {
        return Some("scp is missing (apt-get install openssh-client)".into());
    }
    None
}

fn run(args: &[&str]) -> Result<String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| args.join(" "))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub struct BenchHost {
    pub ip: String,
    pub ns: String,
    /// Seen by the host as /var/lib/sealer.
    pub data: PathBuf,
    dir: PathBuf,
    sshd: Option<Child>,
}

pub struct Net {
    pub scratch: tempfile::TempDir,
    pub hosts: Vec<BenchHost>,
    bridge: String,
    route: String,
}

impl Net {
    /// `n` hosts at 10.213.60.11.. on bridge `brsdb`.
    pub fn new(n: usize) -> Result<Net> {
        let scratch = tempfile::Builder::new()
            .prefix("sealer-distribute-bench-")
            .tempdir()?;
        let route = format!("10.213.{NET}.0/24");
        let mut net = Net {
            scratch,
            hosts: Vec::new(),
            bridge: format!("br{PREFIX}"),
            route: route.clone(),
        };
        // Leftovers of an earlier run that was killed before its Drop ran: its sshds still
        // run inside the old namespaces.
        for i in 1..=n {
            let ns = format!("{PREFIX}h{i}");
            let pids = run(&["ip", "netns", "pids", &ns]).unwrap_or_default();
            for p in pids.split_whitespace().filter_map(|p| p.parse().ok()) {
                kill(p);
            }
            let _ = run(&["ip", "netns", "del", &ns]);
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
        run(&[
            "ip",
            "route",
            "add",
            "unreachable",
            &route,
            "metric",
            "4242",
        ])?;
        run(&["ip", "link", "add", &net.bridge, "type", "bridge"])?;
        let gw = format!("10.213.{NET}.1/24");
        run(&["ip", "addr", "add", &gw, "dev", &net.bridge])?;
        run(&["ip", "link", "set", &net.bridge, "up"])?;
        for dir in ["/var/lib/sealer", "/run/sshd"] {
            std::fs::create_dir_all(dir)?;
        }
        let s = net.scratch.path().to_path_buf();
        keygen(&s.join("client"))?;
        std::fs::copy(s.join("client.pub"), s.join("authorized_keys"))?;
        let mut known = String::new();
        for i in 1..=n {
            let ns = format!("{PREFIX}h{i}");
            let veth = format!("v{PREFIX}h{i}");
            let ip = format!("10.213.{NET}.{}", 10 + i);
            run(&["ip", "netns", "add", &ns])?;
            run(&[
                "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            run(&["ip", "link", "set", &veth, "master", &net.bridge, "up"])?;
            let cidr = format!("{ip}/24");
            run(&["ip", "-n", &ns, "addr", "add", &cidr, "dev", "eth0"])?;
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            let dir = s.join(format!("h{i}"));
            std::fs::create_dir_all(dir.join("data"))?;
            keygen(&dir.join("hostkey"))?;
            let pubkey = std::fs::read_to_string(dir.join("hostkey.pub"))?;
            let mut parts = pubkey.split_whitespace();
            let (kind, key) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            known.push_str(&format!("{ip} {kind} {key}\n"));
            std::fs::write(
                dir.join("sshd_config"),
                format!(
                    "Port 22\nListenAddress 0.0.0.0\nHostKey {d}/hostkey\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {s}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nMaxStartups 100\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
                    d = dir.display(),
                    s = s.display()
                ),
            )?;
            net.hosts.push(BenchHost {
                ip,
                ns,
                data: dir.join("data"),
                dir,
                sshd: None,
            });
        }
        std::fs::write(s.join("known_hosts"), known)?;
        for i in 0..n {
            net.start_sshd(i)?;
        }
        Ok(net)
    }

    pub fn client_key(&self) -> PathBuf {
        self.scratch.path().join("client")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.scratch.path().join("known_hosts")
    }

    fn start_sshd(&mut self, i: usize) -> Result<()> {
        let h = &self.hosts[i];
        let script = format!(
            "mount --bind {d}/data /var/lib/sealer && exec {SSHD} -D -f {d}/sshd_config -E {d}/sshd.log",
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
            ])
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.hosts[i].sshd = Some(child);
        let addr = format!("{}:22", self.hosts[i].ip).parse()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                bail!("sshd on {} did not start", self.hosts[i].ip);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// CPU seconds used so far by everything on the hosts (sshd, its sessions, their commands;
    /// exited processes count through their parents' reaped-children times).
    pub fn hosts_cpu(&self) -> f64 {
        (0..self.hosts.len())
            .flat_map(|i| self.ns_pids(i))
            .map(super::cpu::process_cpu)
            .sum()
    }

    fn ns_pids(&self, i: usize) -> Vec<i32> {
        run(&["ip", "netns", "pids", &self.hosts[i].ns])
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

fn keygen(path: &Path) -> Result<()> {
    let p = path.to_str().context("non-UTF-8 scratch path")?;
    run(&["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", p]).map(|_| ())
}

fn kill(pid: i32) {
    // SAFETY: sending a signal has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.hosts.len() {
            if let Some(mut c) = self.hosts[i].sshd.take() {
                if let Ok(pid) = i32::try_from(c.id()) {
                    kill(pid);
                }
                let _ = c.wait();
            }
            for p in self.ns_pids(i) {
                kill(p);
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
