//! Cleaning hosts (`delete`): hooks, clean scripts, `kubeadm reset`, registry stop, mirror and
//! /etc/hosts removal, and with pruning the cluster's data and every directory sealer created.

use super::Engine;
use super::install::host_env;
use super::scripts::run_hooks;
use crate::clusterfile::{Clusterfile, PluginSpec, ResolvedHost, master0};
use crate::error::RuntimeError;
use crate::layout::{Layout, env_command};
use crate::plan::Phase;
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, run_checked};
use std::collections::BTreeMap;

pub(crate) struct Clean<'a> {
    pub eng: &'a Engine<'a>,
    pub cf: &'a Clusterfile,
    pub hosts: Vec<ResolvedHost>,
    pub layout: Layout,
    pub plugins: Vec<PluginSpec>,
    pub image_env: BTreeMap<String, String>,
    /// `delete --all`: also run the uninstall hooks.
    pub uninstall: bool,
    pub prune: bool,
}

impl Clean<'_> {
    pub async fn run(&self, targets: Vec<ResolvedHost>) -> Result<(), RuntimeError> {
        self.eng
            .run_on(
                Phase::Clean,
                None,
                targets,
                Box::new(|h, c| Box::pin(async move { self.clean_host(&h, &*c).await })),
            )
            .await
    }

    async fn hooks(&self, action: &str, h: &ResolvedHost, c: &dyn Host) -> Result<usize, SshError> {
        let rootfs = self.layout.rootfs(c);
        let exists = c
            .exec(ExecRequest::new(format!("test -d {}", rootfs.sq())))
            .await?
            .success();
        if !exists {
            return Ok(0);
        }
        let env = self.env(h, c)?;
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

    fn env(&self, h: &ResolvedHost, c: &dyn Host) -> Result<BTreeMap<String, String>, SshError> {
        let m0 = master0(&self.hosts).map(|m| m.ip).unwrap_or(h.ip);
        host_env(self.cf, &self.image_env, m0, h).map_err(|e| SshError::Other {
            host: c.name().to_string(),
            message: e.to_string(),
        })
    }

    async fn clean_host(&self, h: &ResolvedHost, c: &dyn Host) -> Result<String, SshError> {
        let mut hooks = 0;
        if self.uninstall {
            hooks += self.hooks("pre-uninstall", h, c).await?;
        }
        hooks += self.hooks("pre-clean-host", h, c).await?;
        let rootfs = self.layout.rootfs(c);
        let env = self.env(h, c)?;
        let scripts = "if [ -f scripts/clean.sh ]; then sh scripts/clean.sh; else \
            for s in clean-kube.sh clean-container-runtime.sh clean-registry.sh; do \
            if [ -f scripts/$s ]; then sh scripts/$s; fi; done; fi; \
            if [ -x bin/kubeadm ]; then kubeadm reset -f; fi";
        let cmd = format!(
            "if [ -d {r} ]; then {inner}; fi",
            r = rootfs.sq(),
            inner = env_command(&rootfs, Some(&format!("{rootfs}/bin")), &env, scripts)
        );
        run_checked(
            c,
            ExecRequest::new(cmd).timeout(self.eng.opts.command_timeout),
            "clean scripts",
        )
        .await?;
        run_checked(
            c,
            ExecRequest::new(self.undo_script(c)),
            "remove the registry and mirror config",
        )
        .await?;
        hooks += self.hooks("post-clean-host", h, c).await?;
        if self.uninstall {
            hooks += self.hooks("post-uninstall", h, c).await?;
        }
        if self.prune {
            run_checked(
                c,
                ExecRequest::new(self.prune_script(c)),
                "prune the cluster data",
            )
            .await?;
        }
        Ok(format!(
            "cleaned, {hooks} hook(s){}",
            if self.prune { ", data pruned" } else { "" }
        ))
    }

    /// Stop the registry, remove our hosts.toml files (restoring backups) and /etc/hosts lines,
    /// and remove the directories created outside the cluster dir.
    fn undo_script(&self, c: &dyn Host) -> String {
        let marker = self.layout.marker();
        let cd = self.layout.cluster_dir(c);
        let run = self.layout.run_dir(c);
        format!(
            r#"pidf={pidf}
if [ -f "$pidf" ]; then
  p=$(cat "$pidf"); kill "$p" 2>/dev/null || true; i=0
  while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -9 "$p" 2>/dev/null || true; rm -f "$pidf"
fi
for f in {certs}/*/hosts.toml; do
  if [ -f "$f" ] && grep -q {m} "$f"; then
    rm -f "$f"; if [ -f "$f.sealer-backup" ]; then mv "$f.sealer-backup" "$f"; fi
  fi
done
f={hosts}
if [ -f "$f" ] && grep -q {hm} "$f"; then
  tmp=$(mktemp); grep -v {hm} "$f" > "$tmp" || true; cat "$tmp" > "$f"; rm -f "$tmp"
fi
if [ -f {cd}/.created-dirs ]; then
  sort -r -u {cd}/.created-dirs | while read -r d; do
    case "$d" in {cd}|{cd}/*) ;; *) rmdir "$d" 2>/dev/null || true ;; esac
  done
fi
exit 0
"#,
            pidf = format!("{run}/registry.pid").sq(),
            certs = self.layout.certs_d(c).sq(),
            m = format!("^# {marker}$").sq(),
            hosts = self.layout.etc_hosts(c).sq(),
            hm = format!(" # {marker}$").sq(),
            cd = cd.sq(),
        )
    }

    /// Remove the cluster dir, then every directory sealer created (deepest first) if empty.
    fn prune_script(&self, c: &dyn Host) -> String {
        let cd = self.layout.cluster_dir(c).sq();
        format!(
            r#"list=$(cat {cd}/.created-dirs 2>/dev/null || true)
rm -rf {cd}
printf '%s\n' "$list" | sort -r -u | while read -r d; do
  if [ -n "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
done
exit 0
"#
        )
    }
}
