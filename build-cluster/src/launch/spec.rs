//! The launch plan of a cluster image, in sealer's terms, and the commands it turns into.
//!
//! The JSON shape is that of the `sealer.image.extension` annotation, so a
//! `sealer_image_cache::sealer_meta::ImageExtension` converts with `serde_json::to_value`.

use crate::error::LaunchError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How sealer launches an app by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AppKind {
    #[serde(rename = "kube")]
    Kube,
    #[serde(rename = "helm")]
    Helm,
    #[serde(rename = "shell")]
    Shell,
    #[default]
    #[serde(rename = "")]
    Unknown,
}

/// One APP (with its APPCMDS and APPENV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AppSpec {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: AppKind,
    /// Names under `application/apps/<name>/`.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// APPCMDS: replace the default launch, run from the app's directory.
    #[serde(default)]
    pub cmds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LaunchSection {
    #[serde(default)]
    pub cmds: Vec<String>,
    #[serde(default)]
    pub app_names: Vec<String>,
}

/// What `sealer run` would launch: global ENV, the apps, and CMDS or LAUNCH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LaunchSpec {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub applications: Vec<AppSpec>,
    #[serde(default)]
    pub launch: LaunchSection,
}

impl LaunchSpec {
    /// From the JSON of a `sealer.image.extension` annotation.
    pub fn from_extension_json(v: &serde_json::Value) -> Result<LaunchSpec, LaunchError> {
        serde_json::from_value(v.clone()).map_err(|e| LaunchError::Extension(e.to_string()))
    }

    pub fn app(&self, name: &str) -> Option<&AppSpec> {
        self.applications.iter().find(|a| a.name == name)
    }
}

/// One command of a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The app the command belongs to (None for CMDS lines).
    pub app: Option<String>,
    /// The command as sealer would print it.
    pub display: String,
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// ENV and APPENV (cluster variables and PATH are added when run).
    pub env: BTreeMap<String, String>,
}

/// Commands run against one fresh cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pass {
    /// `launch`, or `app:<name>` for an app defined but not launched.
    pub name: String,
    /// The app observed by an app pass.
    pub app: Option<String>,
    pub steps: Vec<Step>,
}

/// Relative path of an app's directory in the rootfs.
pub fn app_dir(name: &str) -> String {
    format!("application/apps/{name}")
}

fn shell(app: Option<&str>, line: &str, cwd: PathBuf, env: BTreeMap<String, String>) -> Step {
    Step {
        app: app.map(str::to_string),
        display: line.to_string(),
        program: "bash".into(),
        args: vec!["-c".into(), line.to_string()],
        cwd,
        env,
    }
}

fn direct(
    app: &str,
    rootfs: &Path,
    program: &str,
    args: Vec<String>,
    env: BTreeMap<String, String>,
) -> Step {
    Step {
        app: Some(app.to_string()),
        display: format!("{program} {}", args.join(" ")),
        program: program.into(),
        args,
        cwd: rootfs.to_path_buf(),
        env,
    }
}

/// The steps that launch one app, as `sealer run` does.
pub fn app_steps(
    rootfs: &Path,
    spec: &LaunchSpec,
    app: &AppSpec,
) -> Result<Vec<Step>, LaunchError> {
    let mut env = spec.env.clone();
    env.extend(app.env.clone());
    let dir = app_dir(&app.name);
    if !app.cmds.is_empty() {
        let cwd = rootfs.join(&dir);
        return Ok(app
            .cmds
            .iter()
            .map(|c| shell(Some(&app.name), c, cwd.clone(), env.clone()))
            .collect());
    }
    let steps = match app.kind {
        AppKind::Kube => app
            .files
            .iter()
            .map(|f| {
                direct(
                    &app.name,
                    rootfs,
                    "kubectl",
                    vec!["apply".into(), "-f".into(), format!("{dir}/{f}")],
                    env.clone(),
                )
            })
            .collect(),
        AppKind::Helm => vec![direct(
            &app.name,
            rootfs,
            "helm",
            vec!["install".into(), app.name.clone(), format!("{dir}/")],
            env,
        )],
        AppKind::Shell => app
            .files
            .iter()
            .map(|f| {
                direct(
                    &app.name,
                    rootfs,
                    "bash",
                    vec![format!("{dir}/{f}")],
                    env.clone(),
                )
            })
            .collect(),
        AppKind::Unknown => {
            return Err(LaunchError::UntypedApp {
                app: app.name.clone(),
            });
        }
    };
    Ok(steps)
}

/// The passes of an observe run: the launch itself (CMDS lines, or the LAUNCHed apps in order),
/// then, when `unlaunched_apps` is set, one pass per app that is defined but not launched.
pub fn plan(
    rootfs: &Path,
    spec: &LaunchSpec,
    unlaunched_apps: bool,
) -> Result<Vec<Pass>, LaunchError> {
    let mut launch_steps = Vec::new();
    let mut launched: Vec<&str> = Vec::new();
    if !spec.launch.cmds.is_empty() {
        for line in &spec.launch.cmds {
            launch_steps.push(shell(None, line, rootfs.to_path_buf(), spec.env.clone()));
        }
    } else {
        for name in &spec.launch.app_names {
            let app = spec
                .app(name)
                .ok_or_else(|| LaunchError::UnknownApp { app: name.clone() })?;
            launch_steps.extend(app_steps(rootfs, spec, app)?);
            launched.push(name);
        }
    }
    let mut passes = Vec::new();
    if !launch_steps.is_empty() {
        let single = (launched.len() == 1).then(|| launched[0].to_string());
        passes.push(Pass {
            name: "launch".into(),
            app: single,
            steps: launch_steps,
        });
    }
    if unlaunched_apps {
        for app in spec
            .applications
            .iter()
            .filter(|a| !launched.contains(&a.name.as_str()))
        {
            passes.push(Pass {
                name: format!("app:{}", app.name),
                app: Some(app.name.clone()),
                steps: app_steps(rootfs, spec, app)?,
            });
        }
    }
    Ok(passes)
}

#[cfg(test)]
#[path = "../tests/launch_spec.rs"]
mod tests;
