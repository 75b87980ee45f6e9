//! The steps `build` appends after the Kubefile's own: observe the launch, embed images.

use anyhow::{Context, Result};
use sealer_build_cluster::cluster::{ClusterFactory, EmbeddedFactory, KubeconfigFactory};
use sealer_image_cache::Store;
use sealer_solver::embed::{EmbedOp, parse_image_list};
use sealer_solver::graph::{Op, Vertex, VertexInfo};
use sealer_solver::observe::ObserveOp;
use sealer_solver::spec::BuildDefinition;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What follows the filesystem steps.
pub struct LaunchSteps {
    pub images: Vec<String>,
    pub ignored: Vec<String>,
    pub list_texts: Vec<String>,
    pub backend: Option<String>,
    pub include_indirect: bool,
    pub lite: bool,
}

/// Append the observe step (when the image launches anything and a cluster is configured)
/// and the step that embeds container images.
pub fn add_launch_steps(def: &mut BuildDefinition, steps: LaunchSteps) {
    let graph = &mut def.graph;
    let Some(fs) = graph.output.clone() else {
        return;
    };
    let ext = &def.image.extension;
    let launches = !ext.launch.cmds.is_empty() || !ext.applications.is_empty();
    let mut inputs = vec![fs.clone()];
    if let (true, Some(backend)) = (launches, steps.backend) {
        let observe = graph.add(
            Vertex {
                op: Op::Observe(ObserveOp {
                    extension: serde_json::to_string(ext).unwrap_or_default(),
                    backend,
                    include_indirect: steps.include_indirect,
                    unlaunched_apps: true,
                    image_lists: steps.list_texts,
                }),
                inputs: vec![fs],
            },
            VertexInfo {
                name: "observe launch on a build cluster".to_string(),
                location: None,
            },
        );
        inputs.push(observe);
    }
    let name = if steps.lite {
        "list container images (lite)"
    } else {
        "embed container images"
    };
    let embed = graph.add(
        Vertex {
            op: Op::EmbedImages(EmbedOp {
                images: steps.images,
                ignored: steps.ignored,
                platform: def.image.platform.clone(),
                scan_image_lists: true,
                lite: steps.lite,
            }),
            inputs,
        },
        VertexInfo {
            name: name.to_string(),
            location: None,
        },
    );
    graph.output = Some(embed);
}

/// The `--cluster` value as it enters cache keys: a kubeconfig by content digest.
pub fn observe_backend(cluster: &str) -> Result<Option<String>> {
    match cluster {
        "none" => Ok(None),
        "embedded" => Ok(Some("embedded".into())),
        other => {
            let path = other.strip_prefix("kubeconfig=").ok_or_else(|| {
                anyhow::anyhow!("--cluster {other:?}: expected embedded, none or kubeconfig=PATH")
            })?;
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read kubeconfig {path}"))?;
            Ok(Some(format!(
                "kubeconfig:sha256:{}",
                hex::encode(Sha256::digest(&bytes))
            )))
        }
    }
}

pub fn cluster_factory(cluster: &str) -> Result<Box<dyn ClusterFactory>> {
    Ok(match cluster.strip_prefix("kubeconfig=") {
        Some(path) => Box::new(KubeconfigFactory {
            kubeconfig: path.into(),
        }),
        None => Box::new(EmbeddedFactory {
            config: Default::default(),
        }),
    })
}

pub fn read_list_texts(files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read image list {}", f.display()))
        })
        .collect()
}

/// Image references from list files (one per line, `#` comments).
pub fn read_lists(files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read image list {}", f.display()))?;
        out.extend(parse_image_list(&text));
    }
    Ok(out)
}

/// `SOURCE_DATE_EPOCH` if set (must be an integer), else 0.
pub fn source_date_epoch() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds")),
        _ => Ok(0),
    }
}

/// One checksum cache file per context directory.
pub fn checksum_cache_path(store: &Store, context_root: &Path) -> std::path::PathBuf {
    let id = hex::encode(Sha256::digest(context_root.to_string_lossy().as_bytes()));
    store
        .root()
        .join("cache")
        .join("checksums")
        .join(format!("{}.json", &id[..32]))
}
