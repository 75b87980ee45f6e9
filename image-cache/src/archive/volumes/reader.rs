//! Reading a volume set back as one verified stream.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{VolumeManifest, file_name, parent_dir, read_manifest};
use crate::digest::Hasher;
use crate::error::StoreError;

struct Reading {
    index: usize,
    file: File,
    hasher: Hasher,
}

/// A `Read` over the volumes of a list, in order, verifying each volume's size and sha256
/// when its last byte has been read. [`VolumeReader::open`] checks up front that every
/// volume exists with the listed size, so a missing or truncated volume fails before any
/// byte is read.
pub struct VolumeReader {
    dir: PathBuf,
    manifest: VolumeManifest,
    next: usize,
    current: Option<Reading>,
    failure: Option<(PathBuf, String)>,
}

impl std::fmt::Debug for VolumeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolumeReader")
            .field("dir", &self.dir)
            .field("volumes", &self.manifest.volumes.len())
            .field("next", &self.next)
            .finish()
    }
}

impl VolumeReader {
    /// Open the set listed in `list` (a `FILE.volumes` path).
    pub fn open(list: &Path) -> Result<VolumeReader, StoreError> {
        let manifest = read_manifest(list)?;
        let dir = parent_dir(list);
        let mut missing = Vec::new();
        for (i, v) in manifest.volumes.iter().enumerate() {
            let p = dir.join(&v.name);
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() && m.len() == v.size => {}
                Ok(m) if m.is_file() => {
                    return Err(StoreError::Volume {
                        path: p,
                        message: format!(
                            "volume {} of {} is {} bytes, the volume list says {}: it is \
                             truncated or from another save; copy it again",
                            i + 1,
                            manifest.volumes.len(),
                            m.len(),
                            v.size
                        ),
                    });
                }
                _ => missing.push(v.name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(StoreError::Volume {
                path: dir.join(&missing[0]),
                message: format!(
                    "missing {} of {} volumes: {}; copy every volume listed in {} into {}",
                    missing.len(),
                    manifest.volumes.len(),
                    missing.join(", "),
                    file_name(list),
                    dir.display()
                ),
            });
        }
        Ok(VolumeReader {
            dir,
            manifest,
            next: 0,
            current: None,
            failure: None,
        })
    }

    pub fn manifest(&self) -> &VolumeManifest {
        &self.manifest
    }

    fn fail(&mut self, index: usize, message: String) -> std::io::Error {
        let path = self.dir.join(&self.manifest.volumes[index].name);
        let text = format!("bundle volume {}: {message}", path.display());
        self.failure.get_or_insert((path, message));
        std::io::Error::new(std::io::ErrorKind::InvalidData, text)
    }

    /// Verify the volume being read once all its bytes are in.
    fn check_done(&mut self, r: Reading) -> std::io::Result<()> {
        let entry = &self.manifest.volumes[r.index];
        let actual = r.hasher.finish().to_string();
        if actual != entry.digest {
            let count = self.manifest.volumes.len();
            let message = format!(
                "volume {} of {count} is damaged or out of order: sha256 is {actual}, the \
                 volume list says {}",
                r.index + 1,
                entry.digest
            );
            return Err(self.fail(r.index, message));
        }
        Ok(())
    }

    /// Read every remaining byte, verifying the remaining volumes.
    pub fn finish(&mut self) -> Result<(), StoreError> {
        std::io::copy(self, &mut std::io::sink()).map_err(|e| self.take_error(e))?;
        Ok(())
    }

    /// After a failed load: the volume damage that explains it, if any. Hashes the rest of
    /// the volume being read, so damage before the point of failure is found.
    pub fn explain(&mut self, original: StoreError) -> StoreError {
        if self.failure.is_none()
            && let Some(mut r) = self.current.take()
        {
            let mut buf = vec![0u8; 1 << 20];
            let ok = loop {
                match r.file.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => r.hasher.update(&buf[..n]),
                    Err(_) => break false,
                }
            };
            if ok {
                let _ = self.check_done(r);
            }
        }
        match self.failure.take() {
            Some((path, message)) => StoreError::Volume { path, message },
            None => original,
        }
    }

    fn take_error(&mut self, e: std::io::Error) -> StoreError {
        match self.failure.take() {
            Some((path, message)) => StoreError::Volume { path, message },
            None => StoreError::io("read volumes", &self.dir, e),
        }
    }
}

impl Read for VolumeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(r) = self.current.as_mut() else {
                if self.next == self.manifest.volumes.len() {
                    return Ok(0);
                }
                let index = self.next;
                let path = self.dir.join(&self.manifest.volumes[index].name);
                let file =
                    File::open(&path).map_err(|e| self.fail(index, format!("cannot open: {e}")))?;
                self.next += 1;
                self.current = Some(Reading {
                    index,
                    file,
                    hasher: Hasher::new(),
                });
                continue;
            };
            let size = self.manifest.volumes[r.index].size;
            let room = size - r.hasher.len();
            if room == 0 {
                let Some(r) = self.current.take() else {
                    continue;
                };
                self.check_done(r)?;
                continue;
            }
            let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            let n = r.file.read(&mut buf[..want])?;
            if n == 0 {
                let (index, got) = (r.index, r.hasher.len());
                return Err(self.fail(
                    index,
                    format!("volume ended after {got} bytes, the volume list says {size}"),
                ));
            }
            r.hasher.update(&buf[..n]);
            return Ok(n);
        }
    }
}
