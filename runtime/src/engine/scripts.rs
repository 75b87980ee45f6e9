//! Rootfs scripts and SHELL plugin hooks, run with the cluster env from the rootfs directory.

use super::Engine;
use super::install::{Install, Mode};
use super::launch::LaunchCmd;
use crate::clusterfile::{Clusterfile, PluginSpec, ResolvedHost};
use crate::error::{HostFailure, RuntimeError};
use crate::layout::env_command;
use crate::plan::Phase;
use crate::report::Event;
use crate::ssh::{ExecRequest, Host, SshError, run_checked};
use std::collections::BTreeMap;
use std::path::Path;

/// Plugins shipped in the rootfs under `plugins/*.yaml` (sorted by file name).
pub(crate) fn rootfs_plugins(rootfs: &Path) -> Result<Vec<PluginSpec>, RuntimeError> {
    let dir = rootfs.join("plugins");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|err| {
            RuntimeError::Invalid(format!("cannot read plugin {}: {err}", path.display()))
        })?;
        let docs = Clusterfile::parse_plugins(&text).map_err(|err| {
            RuntimeError::Invalid(format!(
                "plugin file {} in the image: {err}",
                path.display()
            ))
        })?;
        out.extend(docs.into_iter().map(|d| d.spec));
    }
    Ok(out)
}

/// Run every plugin of `action` whose scope covers `h`; returns how many ran.
pub(crate) async fn run_hooks(
    plugins: &[PluginSpec],
    action: &str,
    h: &ResolvedHost,
    c: &dyn Host,
    dir: &str,
    env: &BTreeMap<String, String>,
    timeout: std::time::Duration,
) -> Result<usize, SshError> {
    let mut n = 0;
    for p in plugins
        .iter()
        .filter(|p| p.action == action && h.in_scope(&p.scope))
    {
        let cmd = env_command(dir, Some(&format!("{dir}/bin")), env, &p.data);
        run_checked(
            c,
            ExecRequest::new(cmd).timeout(timeout),
            &format!("{action} plugin"),
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

impl Install<'_> {
    pub(crate) async fn hooks(
        &self,
        action: &str,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<usize, SshError> {
        let env = self.env_or_err(h, c)?;
        let rootfs = self.layout.rootfs(c);
        run_hooks(
            &self.plugins,
            action,
            h,
            c,
            &rootfs,
            &env,
            self.eng.opts.command_timeout,
        )
        .await
    }

    pub(crate) fn env_or_err(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<BTreeMap<String, String>, SshError> {
        self.host_env(h).map_err(|e| SshError::Other {
            host: c.name().to_string(),
            message: e.to_string(),
        })
    }

    /// Run `scripts/<name>` from the rootfs with the cluster env.
    pub(crate) async fn script(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
        name: &str,
        args: &[String],
    ) -> Result<(), SshError> {
        let env = self.env_or_err(h, c)?;
        let rootfs = self.layout.rootfs(c);
        let mut script = format!("sh scripts/{name}");
        for a in args {
            script.push(' ');
            script.push_str(&crate::ssh::ShellQuote::sq(a.as_str()));
        }
        let cmd = env_command(&rootfs, Some(&format!("{rootfs}/bin")), &env, &script);
        run_checked(
            c,
            ExecRequest::new(cmd).timeout(self.eng.opts.command_timeout),
            &format!("scripts/{name}"),
        )
        .await
        .map(|_| ())
    }

    /// The init phase: pre-init-host hooks, `scripts/init.sh` (or sealer's init-*.sh), post-init-host.
    pub(crate) async fn init_host(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<String, SshError> {
        let mut ran: Vec<String> = Vec::new();
        let pre = self.hooks("pre-init-host", h, c).await?;
        if self.has("scripts/init.sh") {
            self.script(h, c, "init.sh", &[]).await?;
            ran.push("init.sh".into());
        } else {
            let (domain, port, _) = self.cf.registry();
            let registry_args = vec![
                port.to_string(),
                format!("{}/registry", self.layout.rootfs(c)),
                domain,
            ];
            let steps: [(&str, bool, &[String]); 3] = [
                ("init-container-runtime.sh", true, &[]),
                ("init-registry.sh", self.is_registry_host(h), &registry_args),
                ("init-kube.sh", true, &[]),
            ];
            for (name, applies, args) in steps {
                if applies && self.has(&format!("scripts/{name}")) {
                    self.script(h, c, name, args).await?;
                    ran.push(name.to_string());
                }
            }
        }
        let post = self.hooks("post-init-host", h, c).await?;
        Ok(format!(
            "scripts: {}; hooks: {}",
            if ran.is_empty() {
                "none".to_string()
            } else {
                ran.join(", ")
            },
            pre + post
        ))
    }

    /// The hooks phase: post-install (or post-scaleup when joining).
    pub(crate) async fn hooks_host(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<String, SshError> {
        let action = match self.mode {
            Mode::Fresh => "post-install",
            Mode::ScaleUp => "post-scaleup",
        };
        let n = self.hooks(action, h, c).await?;
        Ok(format!("{n} {action} hook(s)"))
    }
}

/// Run one launch command on master0, reporting it.
pub(crate) async fn run_launch_cmd(
    eng: &Engine<'_>,
    m0: &ResolvedHost,
    c: &dyn Host,
    rootfs: &str,
    env: &BTreeMap<String, String>,
    cmd: &LaunchCmd,
) -> Result<(), RuntimeError> {
    let host = m0.spec.display_name();
    eng.event(Event::Step {
        host: host.clone(),
        what: format!("launch: {}", cmd.label),
    });
    let dir = if cmd.dir.is_empty() {
        rootfs.to_string()
    } else {
        format!("{rootfs}/{}", cmd.dir)
    };
    let mut full_env = env.clone();
    full_env.extend(cmd.env.clone());
    let line = env_command(&dir, Some(&format!("{rootfs}/bin")), &full_env, &cmd.script);
    run_checked(
        c,
        ExecRequest::new(line).timeout(eng.opts.command_timeout),
        &format!("launch `{}`", cmd.label),
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        let message = e.to_string();
        eng.event(Event::Failed {
            host: host.clone(),
            phase: Phase::Launch,
            message: message.clone(),
        });
        RuntimeError::Hosts(vec![HostFailure {
            host,
            phase: Phase::Launch,
            connect: e.is_connect_failure(),
            message,
        }])
    })
}
