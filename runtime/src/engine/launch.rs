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
mod tests {
    use super::*;
    use crate::clusterfile::AppLaunch;
    use sealer_image_cache::sealer_meta::{Application, Launch};

    fn ext() -> ImageExtension {
        ImageExtension {
            applications: vec![
                Application {
                    name: "k".into(),
                    app_type: AppType::Kube,
                    files: vec!["a.yaml".into(), "b.yaml".into()],
                    ..Default::default()
                },
                Application {
                    name: "s".into(),
                    app_type: AppType::Shell,
                    files: vec!["run.sh".into()],
                    ..Default::default()
                },
                Application {
                    name: "c".into(),
                    cmds: vec!["./go".into()],
                    ..Default::default()
                },
                Application {
                    name: "u".into(),
                    ..Default::default()
                },
            ],
            launch: Launch {
                app_names: vec!["s".into()],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn precedence() {
        let mut e = ext();
        let scripts = |v: Vec<LaunchCmd>| v.into_iter().map(|c| c.script).collect::<Vec<_>>();
        assert_eq!(
            scripts(launch_plan(&e, &[], &[], &[]).unwrap()),
            ["bash application/apps/s/run.sh"]
        );
        assert_eq!(
            scripts(launch_plan(&e, &[], &["k".into()], &[]).unwrap()),
            [
                "kubectl apply -f application/apps/k/a.yaml",
                "kubectl apply -f application/apps/k/b.yaml"
            ]
        );
        e.launch.cmds = vec!["image-cmd".into()];
        assert_eq!(
            scripts(launch_plan(&e, &[], &["k".into()], &[]).unwrap()),
            ["image-cmd"]
        );
        assert_eq!(
            scripts(launch_plan(&e, &["mine".into()], &[], &[]).unwrap()),
            ["mine"]
        );
    }

    #[test]
    fn app_cmds_and_configs_run_in_the_app_dir() {
        let e = ext();
        let c = launch_plan(&e, &[], &["c".into()], &[]).unwrap();
        assert_eq!(
            (c[0].dir.as_str(), c[0].script.as_str()),
            ("application/apps/c", "./go")
        );
        let cfg = AppConfig {
            name: "s".into(),
            launch: Some(AppLaunch {
                cmds: vec!["over".into()],
            }),
            ..Default::default()
        };
        let c = launch_plan(&e, &[], &[], &[cfg]).unwrap();
        assert_eq!(c[0].script, "over");
        assert!(
            launch_plan(&e, &[], &["u".into()], &[])
                .unwrap_err()
                .contains("no launch")
        );
        assert!(
            launch_plan(&e, &[], &["zz".into()], &[])
                .unwrap_err()
                .contains("not in the image")
        );
    }
}
