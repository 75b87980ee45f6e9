//! Images named by the rootfs's static files: `manifests/` (and its `imageList`), `charts/`
//! (rendered with `helm template` when helm is available), `application/apps/*`, and
//! `--image-list` files.

use super::objects::{Hit, scan_object};
use super::report::{Confidence, Provenance, ReportBuilder};
use super::resolve::{object_id, resolve};
use super::text::scan_text;
use crate::error::DiscoverError;
use crate::launch::AppSpec;
use serde_json::Value;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// What the static scan looks at.
#[derive(Debug, Clone)]
pub struct StaticInput {
    pub rootfs: PathBuf,
    /// The image's apps (their directories are `application/apps/<name>/`).
    pub apps: Vec<AppSpec>,
    /// Extra image lists (`--image-list`), one reference per line.
    pub image_lists: Vec<PathBuf>,
    /// A helm binary to render charts with; None leaves charts to their values files.
    pub helm: Option<PathBuf>,
    /// Scratch space for helm's cache and config homes.
    pub work_dir: PathBuf,
}

fn read(path: &Path) -> Result<String, DiscoverError> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|source| DiscoverError::Read {
            path: path.to_path_buf(),
            source,
        })
}

fn prov(app: Option<&str>, file: &str) -> Provenance {
    Provenance {
        via: Confidence::List,
        app: app.map(str::to_string),
        object: None,
        field: None,
        file: Some(file.to_string()),
    }
}

/// One image per line; `#` starts a comment.
fn image_list(b: &mut ReportBuilder, text: &str, app: Option<&str>, file: &str) {
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let hit = Hit {
            text: line.to_string(),
            via: Confidence::List,
            field: format!("line {}", i + 1),
            container_image: true,
            require_tag: false,
        };
        resolve(b, hit, prov(app, file));
    }
}

fn is_yaml(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Manifests: objects when they parse, text otherwise.
fn manifest_text(b: &mut ReportBuilder, text: &str, yaml: bool, app: Option<&str>, file: &str) {
    if yaml && let Ok(docs) = serde_saphyr::from_multiple::<Value>(text) {
        for doc in docs.iter().flat_map(|d| match d["kind"].as_str() {
            Some("List") => d["items"].as_array().cloned().unwrap_or_default(),
            _ => vec![d.clone()],
        }) {
            let mut p = prov(app, file);
            p.object = object_id(&doc);
            for hit in scan_object(&doc, Confidence::List) {
                resolve(b, hit, p.clone());
            }
        }
        return;
    }
    for hit in scan_text(text, "") {
        resolve(b, hit, prov(app, file));
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn scan_dir(
    b: &mut ReportBuilder,
    input: &StaticInput,
    dir: &Path,
    app: Option<&str>,
) -> Result<(), DiscoverError> {
    for entry in WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = entry.path();
        if !entry.file_type().is_file() {
            continue;
        }
        // Files of a chart are covered by rendering the chart.
        if p.ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(dir))
            .any(|a| a.join("Chart.yaml").is_file())
        {
            continue;
        }
        let file = rel(&input.rootfs, p);
        let text = read(p)?;
        if p.file_name().and_then(|n| n.to_str()) == Some("imageList") {
            image_list(b, &text, app, &file);
        } else {
            manifest_text(b, &text, is_yaml(p), app, &file);
        }
    }
    for entry in WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_dir() && entry.path().join("Chart.yaml").is_file() {
            let nested = entry
                .path()
                .ancestors()
                .skip(1)
                .take_while(|a| a.starts_with(dir))
                .any(|a| a.join("Chart.yaml").is_file());
            if !nested {
                chart(b, input, entry.path(), app)?;
            }
        }
    }
    Ok(())
}

/// Render a chart with helm (declared images → `list`); its values files are also scanned, so
/// images that values switch off are still reported (`indirect`).
fn chart(
    b: &mut ReportBuilder,
    input: &StaticInput,
    dir: &Path,
    app: Option<&str>,
) -> Result<(), DiscoverError> {
    let chart_rel = rel(&input.rootfs, dir);
    for entry in WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_name() == "values.yaml" && entry.file_type().is_file() {
            let file = rel(&input.rootfs, entry.path());
            if let Ok(v) = serde_saphyr::from_str::<Value>(&read(entry.path())?) {
                for hit in scan_object(&v, Confidence::Indirect) {
                    resolve(
                        b,
                        Hit {
                            via: Confidence::Indirect,
                            container_image: false,
                            ..hit
                        },
                        prov(app, &file),
                    );
                }
            }
        }
    }
    let Some(helm) = &input.helm else {
        return Ok(());
    };
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("chart")
        .to_lowercase();
    let home = input.work_dir.join("helm");
    let out = std::process::Command::new(helm)
        .arg("template")
        .arg(&name)
        .arg(dir)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .map_err(|e| DiscoverError::HelmTemplate {
            chart: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        // A chart that does not render (missing dependencies, required values) is reported, not
        // fatal: its values files were scanned above.
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        b.unresolved(
            &chart_rel,
            &format!("helm template failed: {why}"),
            prov(app, &chart_rel),
        );
        return Ok(());
    }
    let rendered = String::from_utf8_lossy(&out.stdout).into_owned();
    for chunk in rendered.split("\n---") {
        let source = chunk
            .lines()
            .find_map(|l| l.trim().strip_prefix("# Source: "))
            .map(|s| s.split_once('/').map_or(s, |(_, rest)| rest).to_string());
        let file = match source {
            Some(s) => format!("{chart_rel}/{s}"),
            None => chart_rel.clone(),
        };
        manifest_text(b, chunk, true, app, &file);
    }
    Ok(())
}

/// Scan the static files of a rootfs.
pub fn scan_static(input: &StaticInput) -> Result<ReportBuilder, DiscoverError> {
    let mut b = ReportBuilder::default();
    let root = &input.rootfs;
    let manifests = root.join("manifests");
    if manifests.is_dir() {
        scan_dir(&mut b, input, &manifests, None)?;
    }
    let charts = root.join("charts");
    if charts.is_dir() {
        scan_dir(&mut b, input, &charts, None)?;
    }
    let apps_root = root.join("application/apps");
    if apps_root.is_dir() {
        let mut names: Vec<String> = input.apps.iter().map(|a| a.name.clone()).collect();
        if names.is_empty() {
            names = std::fs::read_dir(&apps_root)
                .map_err(|source| DiscoverError::Read {
                    path: apps_root.clone(),
                    source,
                })?
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect();
            names.sort();
        }
        for name in names {
            let dir = apps_root.join(&name);
            if dir.is_dir() {
                scan_dir(&mut b, input, &dir, Some(&name))?;
            }
        }
    }
    for list in &input.image_lists {
        image_list(&mut b, &read(list)?, None, &list.display().to_string());
    }
    Ok(b)
}

#[cfg(test)]
#[path = "../tests/discover_statics.rs"]
mod tests;
