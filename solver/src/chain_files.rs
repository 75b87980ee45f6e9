//! Read a few small files out of the filesystem a layer chain makes, without materializing
//! it: layers are streamed bottom to top, later layers win, OCI whiteouts delete.

use sealer_snapshotter::LayerBlobRef;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Open a layer blob, decompressing by magic (gzip, zstd or plain tar).
pub fn open_layer(path: &Path) -> io::Result<Box<dyn Read>> {
    let mut file = BufReader::new(std::fs::File::open(path)?);
    let head = file.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(file)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(zstd::stream::read::Decoder::with_buffer(file)?))
    } else {
        Ok(Box::new(file))
    }
}

fn normalize(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

fn remove_tree(files: &mut BTreeMap<String, (usize, Vec<u8>)>, path: &str, below: Option<usize>) {
    let prefix = format!("{path}/");
    files.retain(|p, (layer, _)| {
        let hit = p == path || p.starts_with(&prefix);
        let lower = below.is_none_or(|b| *layer < b);
        !(hit && lower)
    });
}

/// Files whose path satisfies `want`, with their content (each at most `max_size` bytes;
/// larger ones are an error naming the file).
pub fn read_chain_files(
    layers: &[LayerBlobRef],
    want: &dyn Fn(&str) -> bool,
    max_size: u64,
) -> io::Result<BTreeMap<String, Vec<u8>>> {
    let mut files: BTreeMap<String, (usize, Vec<u8>)> = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        let mut archive = tar::Archive::new(open_layer(&layer.path)?);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let raw = entry.path()?.to_string_lossy().to_string();
            let path = normalize(&raw);
            let (dir, name) = match path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n.to_string()),
                None => (String::new(), path.clone()),
            };
            if name == ".wh..wh..opq" {
                remove_tree(&mut files, &dir, Some(index));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                let target = if dir.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{dir}/{hidden}")
                };
                remove_tree(&mut files, &target, None);
                continue;
            }
            if !entry.header().entry_type().is_file() {
                // A directory replacing a file (or a link replacing it) hides the old file.
                if !entry.header().entry_type().is_dir() {
                    files.remove(&path);
                }
                continue;
            }
            if !want(&path) {
                continue;
            }
            let size = entry.header().size()?;
            if size > max_size {
                return Err(io::Error::other(format!(
                    "{path} in the image is {size} bytes; at most {max_size} are read"
                )));
            }
            let mut content = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut content)?;
            files.insert(path, (index, content));
        }
    }
    Ok(files.into_iter().map(|(p, (_, c))| (p, c)).collect())
}

#[cfg(test)]
#[path = "tests/chain_files.rs"]
mod tests;
