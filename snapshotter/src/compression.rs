//! Layer compression choices and their OCI media types; decoding a blob by media type.

use crate::error::SnapshotError;
use std::io::{BufReader, Read};

pub const MEDIA_TYPE_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// How a layer's tar stream is compressed. Outputs never depend on the thread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Multithreaded zstd (always in zstdmt mode, so output is identical for any worker count).
    Zstd { level: i32 },
    /// pigz-style parallel gzip: independent 128 KiB deflate blocks primed with the previous
    /// 32 KiB, joined with sync flushes; `level` is clamped to 0..=9.
    Gzip { level: u32 },
    /// Plain tar.
    None,
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd { level: 3 }
    }
}

impl Compression {
    /// The OCI layer media type of blobs written with this compression.
    pub fn media_type(&self) -> &'static str {
        match self {
            Compression::Zstd { .. } => MEDIA_TYPE_TAR_ZSTD,
            Compression::Gzip { .. } => MEDIA_TYPE_TAR_GZIP,
            Compression::None => MEDIA_TYPE_TAR,
        }
    }
}

/// The compression format of a layer media type (OCI or Docker, distributable or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Zstd,
    Gzip,
    Plain,
}

pub(crate) fn codec_for(media_type: &str) -> Result<Codec, SnapshotError> {
    let mt = media_type.trim();
    let unsupported = || SnapshotError::UnsupportedMediaType(media_type.to_string());
    if !(mt.contains(".layer.") || mt.contains(".rootfs.diff.") || mt.contains(".tar")) {
        return Err(unsupported());
    }
    if mt.ends_with("+zstd") || mt.ends_with(".zstd") {
        Ok(Codec::Zstd)
    } else if mt.ends_with("+gzip") || mt.ends_with(".gzip") {
        Ok(Codec::Gzip)
    } else if mt.ends_with(".tar") {
        Ok(Codec::Plain)
    } else {
        Err(unsupported())
    }
}

/// Wrap a blob reader in the decompressor its media type calls for.
pub(crate) fn decoder<'a, R: Read + 'a>(
    blob: R,
    media_type: &str,
) -> Result<Box<dyn Read + 'a>, SnapshotError> {
    Ok(match codec_for(media_type)? {
        Codec::Zstd => Box::new(
            zstd::Decoder::new(blob).map_err(SnapshotError::stream("starting zstd decoder"))?,
        ),
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            blob,
        ))),
        Codec::Plain => Box::new(blob),
    })
}

#[cfg(test)]
#[path = "tests/compression.rs"]
mod tests;
