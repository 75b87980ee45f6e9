//! Inventories: the blob digests a site already holds, the base of a delta bundle.
//!
//! ```json
//! {"schemaVersion": 1, "mediaType": "application/vnd.sealer.inventory.v1+json",
//!  "blobs": ["sha256:…", …], "images": [{"name": "…", "digest": "sha256:…"}]}
//! ```
//! `blobs` is sorted and unique; `images` (the store's named images) is informational.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::parse_sha256;
use crate::error::StoreError;
use crate::store::Store;

/// Media type of an inventory document.
pub const INVENTORY_MEDIA_TYPE: &str = "application/vnd.sealer.inventory.v1+json";
/// Largest inventory read (about 200k digests).
const INVENTORY_LIMIT: usize = 16 << 20;

/// The blobs a store or registry holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>` digests, sorted.
    pub blobs: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<InventoryImage>,
}

/// A named image the inventoried store holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InventoryImage {
    pub name: String,
    pub digest: String,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            schema_version: 1,
            media_type: INVENTORY_MEDIA_TYPE.to_string(),
            blobs: BTreeSet::new(),
            images: Vec::new(),
        }
    }
}

impl Inventory {
    pub fn new() -> Inventory {
        Inventory::default()
    }

    /// Whether the inventoried site holds `digest` (`sha256:<hex>` text).
    pub fn contains(&self, digest: &str) -> bool {
        self.blobs.contains(digest)
    }

    /// Add everything `other` lists.
    pub fn merge(&mut self, other: Inventory) {
        self.blobs.extend(other.blobs);
        self.images.extend(other.images);
        self.images.sort();
        self.images.dedup();
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::json("inventory (serialize)", e))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Parse and check an inventory; `what` names it in errors (usually its path).
    pub fn from_json(bytes: &[u8], what: &str) -> Result<Inventory, StoreError> {
        let bad = |message: String| StoreError::InvalidInventory {
            what: what.to_string(),
            message,
        };
        if bytes.len() > INVENTORY_LIMIT {
            return Err(bad(format!("larger than {INVENTORY_LIMIT} bytes")));
        }
        let inv: Inventory =
            serde_json::from_slice(bytes).map_err(|e| StoreError::json(what.to_string(), e))?;
        if inv.schema_version != 1 {
            return Err(bad(format!(
                "unsupported schemaVersion {} (expected 1)",
                inv.schema_version
            )));
        }
        if !inv.media_type.is_empty() && inv.media_type != INVENTORY_MEDIA_TYPE {
            return Err(bad(format!("unexpected mediaType {:?}", inv.media_type)));
        }
        for b in &inv.blobs {
            parse_sha256(b).map_err(|_| bad(format!("{b:?} is not a sha256 digest")))?;
        }
        Ok(inv)
    }

    /// Read an inventory file.
    pub fn read(path: &Path) -> Result<Inventory, StoreError> {
        let bytes = std::fs::read(path).map_err(|e| StoreError::io("read inventory", path, e))?;
        Inventory::from_json(&bytes, &path.display().to_string())
    }
}

fn is_hex64(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn list_dir(dir: &Path) -> Result<Vec<(String, std::fs::FileType)>, StoreError> {
    let rd = std::fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io("stat", entry.path(), e))?;
        out.push((entry.file_name().to_string_lossy().into_owned(), kind));
    }
    Ok(out)
}

/// `dir/blobs/sha256/<hex>` files of an OCI layout.
fn oci_layout_blobs(dir: &Path, out: &mut BTreeSet<String>) -> Result<(), StoreError> {
    for (name, kind) in list_dir(&dir.join("blobs").join("sha256"))? {
        if kind.is_file() && is_hex64(&name) {
            out.insert(format!("sha256:{name}"));
        }
    }
    Ok(())
}

/// `v2/blobs/sha256/<2 hex>/<hex>/data` files of a distribution storage tree.
fn distribution_blobs(v2: &Path, out: &mut BTreeSet<String>) -> Result<(), StoreError> {
    let top = v2.join("blobs").join("sha256");
    for (prefix, kind) in list_dir(&top)? {
        if !kind.is_dir() || prefix.len() != 2 {
            continue;
        }
        for (name, kind) in list_dir(&top.join(&prefix))? {
            if kind.is_dir()
                && is_hex64(&name)
                && name.starts_with(&prefix)
                && top.join(&prefix).join(&name).join("data").is_file()
            {
                out.insert(format!("sha256:{name}"));
            }
        }
    }
    Ok(())
}

/// Every blob in the store's `blobs/sha256/` (named images listed too). Blobs are not
/// re-hashed: the store only ever renames verified blobs into place (`fsck` checks them).
/// Unreferenced blobs count too; a `prune` before the delta arrives removes those, and the
/// delta's load then names them.
pub fn inventory(store: &Store) -> Result<Inventory, StoreError> {
    let mut inv = Inventory::new();
    oci_layout_blobs(store.root(), &mut inv.blobs)?;
    inv.images = store
        .images()?
        .into_iter()
        .map(|e| InventoryImage {
            name: e.name,
            digest: e.descriptor.digest().to_string(),
        })
        .collect();
    inv.images.sort();
    Ok(inv)
}

/// The blobs of a registry directory: a distribution storage tree given as the embedded
/// `registry/` directory (holding `docker/registry/v2`), the `v2` directory itself, or a
/// rootfs holding `registry/`; or an OCI image layout.
pub fn inventory_of_dir(path: &Path) -> Result<Inventory, StoreError> {
    let candidates: Vec<PathBuf> = vec![
        path.join("docker").join("registry").join("v2"),
        path.to_path_buf(),
        path.join("registry")
            .join("docker")
            .join("registry")
            .join("v2"),
    ];
    let mut inv = Inventory::new();
    for c in &candidates {
        let blobs = c.join("blobs").join("sha256");
        if !blobs.is_dir() {
            continue;
        }
        if c.join("oci-layout").is_file() {
            oci_layout_blobs(c, &mut inv.blobs)?;
        } else {
            distribution_blobs(c, &mut inv.blobs)?;
        }
        return Ok(inv);
    }
    Err(StoreError::InvalidInventory {
        what: path.display().to_string(),
        message: "not a registry directory: expected docker/registry/v2/blobs/sha256/ (a \
                  distribution storage tree such as a cluster image's registry/) or an OCI \
                  image layout"
            .to_string(),
    })
}
