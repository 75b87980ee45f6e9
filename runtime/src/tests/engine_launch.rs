//! Unit tests of `engine::launch`.

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
