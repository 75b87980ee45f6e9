//! What to launch on master0, by sealer's precedence:
//! Clusterfile cmds > image CMDS > Clusterfile appNames > image LAUNCH.

use crate::clusterfile::AppConfig;
use sealer_image_cache::sealer_meta::{AppType, ImageExtension};
use std::collections::BTreeMap;

/// One launch command, run from `dir` (relative to the rootfs; empty = the rootfs itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchCmd {
    pub label: String,
    pub dir: String,
    pub script: String,
    pub env: BTreeMap<String, String>,
}

/// Resolve the launch commands. `cmds`/`apps` are the Clusterfile's (or CLI's) overrides.
pub fn launch_plan(
    ext: &ImageExtension,
    cmds: &[String],
    apps: &[String],
    configs: &[AppConfig],
) -> Result<Vec<LaunchCmd>, String> {
    let raw = |list: &[String]| {
        list.iter()
            .map(|c| LaunchCmd {
                label: c.clone(),
                dir: String::new(),
                script: c.clone(),
                env: BTreeMap::new(),
            })
            .collect::<Vec<_>>()
    };
    if !cmds.is_empty() {
        return Ok(raw(cmds));
    }
    if !ext.launch.cmds.is_empty() {
        return Ok(raw(&ext.launch.cmds));
    }
    let names = if apps.is_empty() {
        &ext.launch.app_names
    } else {
        apps
    };
    let mut out = Vec::new();
    for name in names {
        out.extend(app_commands(ext, name, configs)?);
    }
    Ok(out)
}

fn app_commands(
    ext: &ImageExtension,
    name: &str,
    configs: &[AppConfig],
) -> Result<Vec<LaunchCmd>, String> {
    let Some(app) = ext.applications.iter().find(|a| a.name == name) else {
        let known: Vec<&str> = ext.applications.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "app {name:?} is not in the image (its apps: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let app_dir = format!("application/apps/{name}");
    let in_app = |cmds: &[String]| {
        cmds.iter()
            .map(|c| LaunchCmd {
                label: format!("app {name}: {c}"),
                dir: app_dir.clone(),
                script: c.clone(),
                env: app.env.clone(),
            })
            .collect::<Vec<_>>()
    };
    if let Some(launch) = configs
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.launch.as_ref())
        .filter(|l| !l.cmds.is_empty())
    {
        return Ok(in_app(&launch.cmds));
    }
    if !app.cmds.is_empty() {
        return Ok(in_app(&app.cmds));
    }
    let from_root = |script: String| LaunchCmd {
        label: format!("app {name}: {script}"),
        dir: String::new(),
        script,
        env: app.env.clone(),
    };
    match app.app_type {
        AppType::Kube => Ok(app
            .files
            .iter()
            .map(|f| from_root(format!("kubectl apply -f {app_dir}/{f}")))
            .collect()),
        AppType::Helm => Ok(vec![from_root(format!("helm install {name} {app_dir}/"))]),
        AppType::Shell => Ok(app
            .files
            .iter()
            .map(|f| from_root(format!("bash {app_dir}/{f}")))
            .collect()),
        AppType::Unknown => Err(format!(
            "app {name:?} has no launch commands: its type is unknown and it has no APPCMDS"
        )),
    }
}

#[cfg(test)]
#[path = "../tests/engine_launch.rs"]
mod tests;
