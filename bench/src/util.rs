//! Timing, peak-RSS and data-generation helpers shared by the benchmarks.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Wall time and peak RSS (KiB) of one child process.
pub struct Measured {
    pub wall: Duration,
    pub max_rss_kib: i64,
}

/// Run a command to completion, measuring wall time and the child's peak RSS via wait4.
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    let start = Instant::now();
    let child = cmd.spawn().with_context(|| format!("spawn {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, zero-initialised; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is a child of this process that has not been waited for.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if r < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{cmd:?} failed with status {status}");
    }
    std::mem::forget(child);
    Ok(Measured {
        wall,
        max_rss_kib: usage.ru_maxrss,
    })
}

/// The sealer binary next to this benchmark binary.
pub fn sealer_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SEALER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("exe dir")?.join("sealer");
    if !bin.is_file() {
        bail!(
            "{} missing: build it first (cargo build --release -p sealer-cli)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Deterministic incompressible bytes (xorshift64).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed | 1)
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let bytes = self.0.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Write `mib` MiB of noise to `path`.
pub fn write_noise(path: &Path, mib: usize, seed: u64) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut noise = Noise::new(seed);
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        noise.fill(&mut buf);
        f.write_all(&buf)?;
    }
    f.flush()?;
    Ok(())
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
