#![allow(dead_code)]

use sealer_snapshotter::{
    Compression, DiffSource, LayerBlobRef, LayerStats, TarOptions, write_layer,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn write(path: &Path, data: &[u8]) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::write(path, data).unwrap();
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn set_mtime(path: &Path, secs: i64) {
    let t = filetime::FileTime::from_unix_time(secs, 0);
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

/// A tree with the interesting cases: nested dirs, modes, symlinks, a hardlink pair,
/// a long name, an empty file and a mid-sized file.
pub fn sample_tree(root: &Path) {
    write(&root.join("etc/app.conf"), b"key=value\n");
    write(&root.join("etc/empty"), b"");
    write(&root.join("bin/tool"), b"#!/bin/sh\necho hi\n");
    chmod(&root.join("bin/tool"), 0o755);
    write(&root.join("a.b"), b"sorts before a/");
    write(&root.join("a/inner"), b"inside a");
    let long = "d".repeat(120);
    write(&root.join(format!("deep/{long}/{long}.txt")), b"long names");
    std::os::unix::fs::symlink("../etc/app.conf", root.join("bin/conf-link")).unwrap();
    std::os::unix::fs::symlink(format!("/{}", "t".repeat(150)), root.join("long-link")).unwrap();
    write(&root.join("data/one"), b"hardlinked content");
    fs::hard_link(root.join("data/one"), root.join("data/two")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i % 251) as u8 ^ (i >> 13) as u8)
        .collect();
    write(&root.join("data/big.bin"), &big);
    chmod(&root.join("etc"), 0o750);
}

/// Layer bytes and stats for `diff`.
pub fn layer_bytes(
    diff: &dyn DiffSource,
    c: Compression,
    opts: &TarOptions,
) -> (LayerStats, Vec<u8>) {
    let (stats, out) = write_layer(diff, c, opts, Vec::new()).unwrap();
    (stats, out)
}

/// Write `diff` as a zstd blob file under `dir` and describe it.
pub fn blob(diff: &dyn DiffSource, dir: &Path, name: &str) -> LayerBlobRef {
    let c = Compression::default();
    let (stats, bytes) = layer_bytes(diff, c, &TarOptions::default());
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    LayerBlobRef {
        diff_id: stats.diff_id,
        media_type: c.media_type().to_string(),
        path,
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Every entry below `root`: path → (kind, permission bits, content digest or link target).
/// mtimes are not compared (layers clamp them).
pub fn tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e.unwrap();
        let md = e.path().symlink_metadata().unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
        let perm = md.mode() & 0o7777;
        let ft = md.file_type();
        let desc = if ft.is_dir() {
            format!("dir {perm:o}")
        } else if ft.is_symlink() {
            format!("link -> {}", fs::read_link(e.path()).unwrap().display())
        } else if ft.is_file() {
            let mut data = Vec::new();
            fs::File::open(e.path())
                .unwrap()
                .read_to_end(&mut data)
                .unwrap();
            format!("file {perm:o} {}", sha256_hex(&data))
        } else {
            format!("other {:o} rdev {}", md.mode(), md.rdev())
        };
        out.insert(rel, desc);
    }
    out
}

/// Entries of an uncompressed tar: (path, type byte, mode, uid, gid, mtime, link target, data).
pub struct TarEntry {
    pub path: String,
    pub kind: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub uname: Vec<u8>,
    pub link: Option<String>,
    pub data: Vec<u8>,
}

pub fn read_tar(bytes: &[u8]) -> Vec<TarEntry> {
    let mut ar = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8(l.into_owned()).unwrap());
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(TarEntry {
            path,
            kind: h.entry_type().as_byte(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            uname: h.username_bytes().unwrap_or_default().to_vec(),
            link,
            data,
        });
    }
    out
}

pub fn zstd_decode(bytes: &[u8]) -> Vec<u8> {
    zstd::decode_all(bytes).unwrap()
}

pub fn tool_exists(name: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
