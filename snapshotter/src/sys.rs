//! Thin wrappers over the Linux calls std does not offer (xattrs, mknod, mount).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub(crate) fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The value of xattr `name` on `path` (not following symlinks); `None` if absent/unsupported.
pub(crate) fn lgetxattr(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    let p = cpath(path)?;
    let n = cstr(name)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: p and n are valid NUL-terminated strings; buf is writable for buf.len() bytes.
        let rc =
            unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if rc >= 0 {
            buf.truncate(rc as usize);
            return Ok(Some(buf));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            Some(libc::ERANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            _ => return Err(err),
        }
    }
}

pub(crate) fn lsetxattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let p = cpath(path)?;
    let n = cstr(name)?;
    // SAFETY: valid C strings and a readable buffer of value.len() bytes.
    check(unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

pub(crate) fn mknod(path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let p = cpath(path)?;
    // SAFETY: p is a valid C string.
    check(unsafe {
        libc::mknod(
            p.as_ptr(),
            mode as libc::mode_t,
            libc::makedev(major, minor),
        )
    })
}

pub(crate) fn mkfifo(path: &Path, mode: u32) -> io::Result<()> {
    let p = cpath(path)?;
    // SAFETY: p is a valid C string.
    check(unsafe { libc::mkfifo(p.as_ptr(), mode as libc::mode_t) })
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid never fails.
    unsafe { libc::geteuid() == 0 }
}

pub(crate) fn mount_overlay(target: &Path, options: &str) -> io::Result<()> {
    let src = cstr("overlay")?;
    let t = cpath(target)?;
    let data = cstr(options)?;
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    check(unsafe {
        libc::mount(
            src.as_ptr(),
            t.as_ptr(),
            src.as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    })
}

pub(crate) fn umount(target: &Path, detach: bool) -> io::Result<()> {
    let t = cpath(target)?;
    let flags = if detach { libc::MNT_DETACH } else { 0 };
    // SAFETY: t is a valid C string.
    check(unsafe { libc::umount2(t.as_ptr(), flags) })
}

/// Give the calling thread its own cwd (so a later chdir does not affect other threads).
pub(crate) fn unshare_fs() -> io::Result<()> {
    // SAFETY: plain syscall wrapper; CLONE_FS only detaches this thread's fs struct.
    check(unsafe { libc::unshare(libc::CLONE_FS) })
}

/// Mount points at or below `dir` in this mount namespace, deepest first.
pub(crate) fn mounts_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out: Vec<std::path::PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p.starts_with(dir))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &str) -> std::path::PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    std::path::PathBuf::from(std::ffi::OsString::from(
        <std::ffi::OsStr as OsStrExt>::from_bytes(&out),
    ))
}

#[cfg(test)]
#[path = "tests/sys.rs"]
mod tests;
