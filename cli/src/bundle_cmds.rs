//! Offline bundles: `save` (one archive, `--split` volumes, `--since` deltas), `load` (a file,
//! a volume set or stdin) and `inventory` (what a site already holds). Progress and summaries
//! go to stderr; stdout carries only the loaded names or the inventory JSON.

use crate::args::ArchiveCompress;
use crate::images::human_size;
use anyhow::{Context, Result, bail};
use sealer_image_cache::Store;
use sealer_image_cache::archive::volumes::{MIN_VOLUME_SIZE, manifest_path};
use sealer_image_cache::archive::{
    self, ArchiveCompression, Inventory, SaveOptions, SaveReport, inventory_of_dir,
};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn open(root: &Path) -> Result<Store> {
    Store::open(root).with_context(|| format!("cannot open store {}", root.display()))
}

/// clap value parser for `--split SIZE` (`650MiB`, `100M`, `4G`, `1000000`).
pub fn parse_split_size(text: &str) -> std::result::Result<u64, String> {
    let n = archive::parse_size(text).map_err(|e| e.to_string())?;
    if n < MIN_VOLUME_SIZE {
        return Err(format!(
            "a volume must hold at least {MIN_VOLUME_SIZE} bytes"
        ));
    }
    Ok(n)
}

fn compression_for(output: &Path, compress: Option<ArchiveCompress>) -> ArchiveCompression {
    match compress {
        Some(ArchiveCompress::Zstd) => ArchiveCompression::Zstd,
        Some(ArchiveCompress::None) => ArchiveCompression::None,
        None if output.to_string_lossy().ends_with(".zst") => ArchiveCompression::Zstd,
        None => ArchiveCompression::None,
    }
}

/// `sealer save -o FILE [--compress zstd] [--split SIZE] [--since INVENTORY.json] NAME...`
pub fn save(
    root: &Path,
    output: &Path,
    compress: Option<ArchiveCompress>,
    split: Option<u64>,
    since: Option<&Path>,
    names: &[String],
) -> Result<()> {
    let store = open(root)?;
    let inventory = since
        .map(|p| Inventory::read(p).with_context(|| format!("cannot use --since {}", p.display())))
        .transpose()?;
    let opts = SaveOptions {
        compression: compression_for(output, compress),
        since: inventory.as_ref(),
    };
    let stdout = output == Path::new("-");
    let report = match split {
        Some(_) if stdout => bail!("--split writes numbered files: give -o FILE, not -o -"),
        Some(size) => archive::save_split(&store, names, output, size, &opts)
            .with_context(|| format!("cannot save {}", output.display()))?,
        None if stdout => archive::save_with(&store, names, std::io::stdout().lock(), &opts)?,
        None => save_file(&store, names, output, &opts)?,
    };
    summarize(output, &report);
    Ok(())
}

/// Write beside the target and rename: a failed save leaves no partial archive.
fn save_file(
    store: &Store,
    names: &[String],
    output: &Path,
    opts: &SaveOptions<'_>,
) -> Result<SaveReport> {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".sealer-save-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    let report = archive::save_with(
        store,
        names,
        std::io::BufWriter::new(tmp.as_file_mut()),
        opts,
    )
    .with_context(|| format!("cannot save {}", output.display()))?;
    publish(tmp, output)?;
    Ok(report)
}

/// fsync, make world-readable like the volumes (temp files start 0600), rename into place.
fn publish(tmp: tempfile::NamedTempFile, output: &Path) -> Result<()> {
    tmp.as_file().sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(())
}

fn summarize(output: &Path, r: &SaveReport) {
    eprintln!(
        "saved {} image(s): {} blob(s), {} -> archive {}",
        r.images,
        r.blobs,
        human_size(r.blob_bytes),
        human_size(r.archive_bytes)
    );
    if r.omitted_blobs > 0 {
        eprintln!(
            "delta: left out {} blob(s), {}, that the inventory lists",
            r.omitted_blobs,
            human_size(r.omitted_bytes)
        );
    }
    if let (Some(first), Some(last)) = (r.volumes.first(), r.volumes.last()) {
        eprintln!(
            "{} volume(s): {} .. {} (+ {})",
            r.volumes.len(),
            first.name,
            last.name,
            manifest_path(output)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
    }
}

/// `sealer load -i FILE` (a file, `FILE.volumes`, any `FILE.NNN`, the base name of a volume
/// set, or `-` for stdin). Prints the names loaded.
pub fn load(root: &Path, input: &Path) -> Result<()> {
    let store = open(root)?;
    let names = if input == Path::new("-") {
        archive::load(&store, std::io::stdin().lock()).context("cannot load from stdin")?
    } else {
        archive::load_path(&store, input)
            .with_context(|| format!("cannot load {}", input.display()))?
    };
    let mut out = std::io::stdout().lock();
    for name in names {
        writeln!(out, "{name}")?;
    }
    Ok(())
}

/// `sealer inventory -o FILE [--registry-dir DIR]`: the blob digests the store (plus an
/// embedded registry directory) holds, as JSON for `save --since`. `-o -` is stdout.
pub fn inventory(root: &Path, output: &Path, registry_dir: Option<&Path>) -> Result<()> {
    let store = open(root)?;
    let mut inv = archive::inventory(&store)?;
    let from_store = inv.blobs.len();
    if let Some(dir) = registry_dir {
        inv.merge(
            inventory_of_dir(dir)
                .with_context(|| format!("cannot read registry {}", dir.display()))?,
        );
    }
    let bytes = inv.to_json()?;
    if output == Path::new("-") {
        std::io::stdout().lock().write_all(&bytes)?;
    } else {
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".sealer-inventory-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot write into {}", dir.display()))?;
        tmp.write_all(&bytes)?;
        publish(tmp, output)?;
    }
    eprintln!(
        "inventory: {} blob(s) ({} in the store{}), {} image(s)",
        inv.blobs.len(),
        from_store,
        registry_dir
            .map(|d| format!(", the rest from {}", d.display()))
            .unwrap_or_default(),
        inv.images.len()
    );
    Ok(())
}
