//! Cutting an archive stream into volumes.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    MIN_VOLUME_SIZE, VOLUMES_MEDIA_TYPE, VolumeEntry, VolumeManifest, file_name, manifest_path,
    parent_dir, volume_path,
};
use crate::digest::Hasher;
use crate::error::StoreError;
use crate::fsutil::{TempFile, atomic_write, fsync_dir};

struct OpenVolume {
    tmp: TempFile,
    hasher: Hasher,
}

/// A `Write` that cuts the stream into volumes of at most `volume_size` bytes, written to
/// temp files beside `base`. [`SplitWriter::finish`] renames them to `base.NNN`, removes
/// leftover higher-numbered volumes of an earlier save, and writes `base.volumes` last.
/// Dropped unfinished, it removes what it wrote.
pub struct SplitWriter {
    base: PathBuf,
    dir: PathBuf,
    volume_size: u64,
    current: Option<OpenVolume>,
    done: Vec<(TempFile, VolumeEntry)>,
}

impl std::fmt::Debug for SplitWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitWriter")
            .field("base", &self.base)
            .field("volume_size", &self.volume_size)
            .field("volumes", &self.done.len())
            .finish()
    }
}

impl SplitWriter {
    pub fn create(base: &Path, volume_size: u64) -> Result<SplitWriter, StoreError> {
        if volume_size < MIN_VOLUME_SIZE {
            return Err(StoreError::InvalidSize {
                text: volume_size.to_string(),
                reason: format!("a volume must hold at least {MIN_VOLUME_SIZE} bytes"),
            });
        }
        if file_name(base).is_empty() {
            return Err(StoreError::Volume {
                path: base.to_path_buf(),
                message: "split volumes need a file name to number".to_string(),
            });
        }
        let dir = parent_dir(base);
        if !dir.is_dir() {
            return Err(StoreError::Volume {
                path: base.to_path_buf(),
                message: format!("the directory {} does not exist", dir.display()),
            });
        }
        Ok(SplitWriter {
            base: base.to_path_buf(),
            dir,
            volume_size,
            current: None,
            done: Vec::new(),
        })
    }

    fn open_next(&mut self) -> std::io::Result<&mut OpenVolume> {
        let prefix = format!(
            ".{}.partial",
            file_name(&volume_path(&self.base, self.done.len()))
        );
        let tmp = TempFile::new_in(&self.dir, &prefix).map_err(|e| match e {
            StoreError::Io { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        })?;
        Ok(self.current.insert(OpenVolume {
            tmp,
            hasher: Hasher::new(),
        }))
    }

    fn close_current(&mut self) {
        if let Some(v) = self.current.take() {
            let entry = VolumeEntry {
                name: file_name(&volume_path(&self.base, self.done.len())),
                size: v.hasher.len(),
                digest: v.hasher.finish().to_string(),
            };
            self.done.push((v.tmp, entry));
        }
    }

    /// Close the last volume, move every volume into place and write the volume list.
    pub fn finish(mut self) -> Result<VolumeManifest, StoreError> {
        self.close_current();
        let done = std::mem::take(&mut self.done);
        let mut volumes = Vec::with_capacity(done.len());
        for (i, (tmp, entry)) in done.into_iter().enumerate() {
            tmp.persist(&volume_path(&self.base, i))?;
            volumes.push(entry);
        }
        // Volumes past the new count are from an older, larger save of the same name.
        for i in volumes.len().. {
            let p = volume_path(&self.base, i);
            if !p.is_file() {
                break;
            }
            std::fs::remove_file(&p).map_err(|e| StoreError::io("remove old volume", &p, e))?;
        }
        let manifest = VolumeManifest {
            schema_version: 1,
            media_type: VOLUMES_MEDIA_TYPE.to_string(),
            volume_size: self.volume_size,
            total_size: volumes.iter().map(|v| v.size).sum(),
            volumes,
        };
        let mut bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| StoreError::json("volume list (serialize)", e))?;
        bytes.push(b'\n');
        atomic_write(&self.dir, &manifest_path(&self.base), &bytes)?;
        fsync_dir(&self.dir)?;
        Ok(manifest)
    }
}

impl Write for SplitWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let volume_size = self.volume_size;
        let v = match self.current.as_mut() {
            Some(v) => v,
            None => self.open_next()?,
        };
        let room = volume_size - v.hasher.len();
        let n = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        v.tmp.file().write_all(&data[..n])?;
        v.hasher.update(&data[..n]);
        if v.hasher.len() == volume_size {
            self.close_current();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
