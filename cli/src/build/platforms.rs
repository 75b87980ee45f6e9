//! Multi-platform builds: the platform list, RUN on foreign platforms, and the OCI index.

use anyhow::{Result, bail};
use oci_spec::image::{DescriptorBuilder, MediaType};
use sealer_image_cache::Store;
use sealer_image_cache::sealer_meta::Platform;
use sealer_solver::graph::{Definition, Op};
use serde_json::json;

/// `--platform a,b` (default: this machine's).
pub fn parse(arg: Option<&str>) -> Result<Vec<Platform>> {
    let Some(arg) = arg else {
        return Ok(vec![Platform::host()]);
    };
    let mut out: Vec<Platform> = Vec::new();
    for part in arg.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p = Platform::parse(part).map_err(anyhow::Error::msg)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        bail!("--platform {arg:?} names no platform");
    }
    Ok(out)
}

/// The binfmt_misc handler name qemu registers for an OCI architecture.
fn qemu_name(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i386",
        other => other,
    }
}

/// RUN steps for another architecture need a binfmt_misc (qemu) handler on this host.
pub fn check_foreign_run(def: &Definition, platform: &Platform) -> Result<()> {
    let host = Platform::host();
    if platform.architecture == host.architecture {
        return Ok(());
    }
    let Some((digest, _)) = def
        .vertices
        .iter()
        .find(|(_, v)| matches!(v.op, Op::Run(_)))
    else {
        return Ok(());
    };
    let wanted = qemu_name(&platform.architecture);
    let registered = std::fs::read_dir("/proc/sys/fs/binfmt_misc")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().contains(wanted))
        })
        .unwrap_or(false);
    if registered {
        return Ok(());
    }
    let at = def
        .info
        .get(digest)
        .and_then(|i| i.location.as_ref())
        .map(|l| format!("{}:{}:{}: ", l.file, l.line, l.column))
        .unwrap_or_default();
    bail!(
        "{at}{} cannot run for {platform} on this {} host: no binfmt_misc handler for {wanted} is registered (install qemu-user-static, or build {platform} without RUN steps)",
        def.name(digest),
        host.architecture
    )
}

/// Store an OCI index over per-platform manifests and tag it.
pub fn tag_index(
    store: &Store,
    name: &str,
    children: &[(Platform, String, u64)],
) -> Result<String> {
    let mut sorted: Vec<_> = children.to_vec();
    sorted.sort_by_key(|(p, _, _)| p.to_string());
    let manifests: Vec<_> = sorted
        .iter()
        .map(|(p, digest, size)| {
            let mut platform = json!({"architecture": p.architecture, "os": p.os});
            if !p.variant.is_empty() {
                platform["variant"] = json!(p.variant);
            }
            json!({
                "digest": digest,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "platform": platform,
                "size": size,
            })
        })
        .collect();
    let index = json!({
        "manifests": manifests,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "schemaVersion": 2,
    });
    let bytes = serde_json::to_vec(&index)?;
    let digest = store.put_blob(&bytes)?;
    let desc = DescriptorBuilder::default()
        .media_type(MediaType::ImageIndex)
        .digest(digest.clone())
        .size(bytes.len() as u64)
        .build()?;
    store.set_tag(name, desc)?;
    Ok(digest.to_string())
}
