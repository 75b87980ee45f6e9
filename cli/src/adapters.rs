//! The frontend's IO-free traits, implemented over the real disk and store.

use crate::registry::pull_into;
use sealer_frontend::{BaseImage, BaseImageResolver, ContextError, ContextView, EntryKind};
use sealer_image_cache::Store;
use sealer_image_cache::sealer_meta::{ANNOTATION_IMAGE_EXTENSION, ImageExtension, Platform};
use sealer_registry_shim::client::Client;
use sealer_solver::context::{ContextPathError, LocalContext};
use std::collections::BTreeMap;

/// The build context directory as the frontend sees it.
pub struct DiskContext<'a>(pub &'a LocalContext);

fn map_err(e: ContextPathError) -> ContextError {
    match e {
        ContextPathError::NotFound { .. } => ContextError::NotFound,
        ContextPathError::Escapes { .. } => ContextError::EscapesContext,
        other => ContextError::Io(other.to_string()),
    }
}

impl ContextView for DiskContext<'_> {
    fn stat(&self, rel: &str) -> Result<EntryKind, ContextError> {
        let path = self.0.resolve(rel).map_err(map_err)?;
        if path.is_dir() {
            Ok(EntryKind::Dir)
        } else {
            Ok(EntryKind::File)
        }
    }

    fn list_files(&self, rel_dir: &str) -> Result<Vec<String>, ContextError> {
        let dir = self.0.resolve(rel_dir).map_err(map_err)?;
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&dir)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| ContextError::Io(e.to_string()))?;
            if entry.file_type().is_dir() {
                continue;
            }
            if let Ok(rel) = entry.path().strip_prefix(&dir) {
                files.push(rel.to_string_lossy().to_string());
            }
        }
        Ok(files)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, ContextError> {
        self.0.expand(pattern).map_err(map_err)
    }
}

/// Base images come from the local store; missing ones are pulled into it first.
pub struct StoreResolver<'a> {
    pub store: &'a Store,
    pub puller: Option<(&'a Client, &'a tokio::runtime::Runtime)>,
}

impl BaseImageResolver for StoreResolver<'_> {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<BaseImage, String> {
        let mut found = self.store.resolve(reference).map_err(|e| e.to_string())?;
        if found.is_none()
            && let Some((client, runtime)) = self.puller
        {
            let stored = runtime
                .block_on(pull_into(self.store, client, reference, platform))
                .map_err(|e| format!("{e:#}"))?;
            found = self.store.resolve(&stored).map_err(|e| e.to_string())?;
        }
        let top = found.ok_or_else(|| {
            format!("image {reference:?} is not in the local store and no registry has it")
        })?;
        let desc = self
            .store
            .platform_manifest(&top, platform)
            .map_err(|e| e.to_string())?;
        let (manifest, _) = self.store.manifest(&desc).map_err(|e| e.to_string())?;
        let config: serde_json::Value = self
            .store
            .read_blob(manifest.config().digest(), 8 << 20)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))?;
        let labels: BTreeMap<String, String> =
            serde_json::from_value(config["config"]["Labels"].clone()).unwrap_or_default();
        let env = config["config"]["Env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str()?.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let extension: ImageExtension = manifest
            .annotations()
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_IMAGE_EXTENSION))
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        Ok(BaseImage {
            reference: reference.to_string(),
            labels,
            env,
            extension,
        })
    }
}
