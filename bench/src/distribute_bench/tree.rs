//! The benchmark's rootfs: one big incompressible file plus many small files in a few dozen
//! directories (sizes 1–128 KiB). No symlinks: `scp -r` (SFTP mode) refuses them.

use crate::util::{Noise, write_noise};
use anyhow::Result;
use std::path::Path;

/// Write the tree; returns (regular files, bytes).
pub fn make(root: &Path, total_mib: usize, big_mib: usize) -> Result<(usize, u64)> {
    std::fs::create_dir_all(root.join("bin"))?;
    write_noise(&root.join("bin/big.bin"), big_mib, 0x5eed)?;
    let mut files = 1;
    let mut bytes = (big_mib as u64) << 20;
    let budget = ((total_mib - big_mib) as u64) << 20;
    let mut noise = Noise::new(0xfeed);
    let mut sizes = Noise::new(0x51ce);
    let mut word = [0u8; 8];
    let mut buf = vec![0u8; 128 << 10];
    let mut used = 0u64;
    for d in 0..48 {
        std::fs::create_dir_all(root.join(format!("lib/d{d:02}")))?;
    }
    while used < budget {
        sizes.fill(&mut word);
        let want = 1024 + u64::from_le_bytes(word) % (127 << 10);
        let size = want.min(budget - used) as usize;
        let dir = root.join(format!("lib/d{:02}", files % 48));
        noise.fill(&mut buf[..size]);
        std::fs::write(dir.join(format!("f{files:05}.dat")), &buf[..size])?;
        files += 1;
        used += size as u64;
        bytes += size as u64;
    }
    Ok((files, bytes))
}
