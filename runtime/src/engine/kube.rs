//! The kube phase: `kubeadm init` on master0, `kubeadm join` elsewhere, when the image ships kubeadm.

use super::install::{Install, Mode};
use crate::clusterfile::ResolvedHost;
use crate::layout::env_command;
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, run_checked};

impl Install<'_> {
    pub(crate) async fn kube_host(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<String, SshError> {
        let pre = match self.mode {
            Mode::Fresh => "pre-install",
            Mode::ScaleUp => "pre-scaleup",
        };
        let hooks = self.hooks(pre, h, c).await?;
        if !self.has("bin/kubeadm") {
            return Ok(format!(
                "no bin/kubeadm in the image; {hooks} {pre} hook(s)"
            ));
        }
        let is_m0 = h.ip == self.master0().ip;
        if is_m0 && self.mode == Mode::Fresh {
            let config = [
                "etc/kubeadm.yml",
                "etc/kubeadm.yaml",
                "etc/kubeadm-config.yaml",
            ]
            .into_iter()
            .find(|p| self.has(p) || self.has(&format!("{p}.tmpl")));
            let script = match config {
                Some(p) => format!("kubeadm init --config {p} --upload-certs"),
                None => format!(
                    "kubeadm init --apiserver-advertise-address {} --upload-certs",
                    h.ip
                ),
            };
            self.kubeadm(h, c, &script, "kubeadm init").await?;
            return Ok("kubeadm init".into());
        }
        let m0 = self.master0().clone();
        let m0c = self.eng.conns.get(&m0.spec).await?;
        let out = self
            .kubeadm(
                &m0,
                &*m0c,
                "kubeadm token create --print-join-command",
                "kubeadm token create",
            )
            .await?;
        let join = out
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with("kubeadm join"))
            .ok_or_else(|| SshError::Other {
                host: m0c.name().to_string(),
                message:
                    "`kubeadm token create --print-join-command` printed no `kubeadm join` line"
                        .into(),
            })?
            .to_string();
        let mut words: Vec<String> = join.split_whitespace().map(|w| w.sq()).collect();
        if h.is_master() {
            let out = self
                .kubeadm(
                    &m0,
                    &*m0c,
                    "kubeadm init phase upload-certs --upload-certs",
                    "kubeadm upload-certs",
                )
                .await?;
            let key = out
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty() && l.chars().all(|ch| ch.is_ascii_hexdigit()))
                .ok_or_else(|| SshError::Other {
                    host: m0c.name().to_string(),
                    message: "`kubeadm init phase upload-certs` printed no certificate key".into(),
                })?
                .to_string();
            words.extend([
                "--control-plane".to_string(),
                "--certificate-key".to_string(),
                key,
                "--apiserver-advertise-address".to_string(),
                h.ip.to_string(),
            ]);
        }
        self.kubeadm(h, c, &words.join(" "), "kubeadm join").await?;
        Ok(if h.is_master() {
            "kubeadm join --control-plane".into()
        } else {
            "kubeadm join".into()
        })
    }

    async fn kubeadm(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
        script: &str,
        label: &str,
    ) -> Result<String, SshError> {
        let env = self.env_or_err(h, c)?;
        let rootfs = self.layout.rootfs(c);
        let cmd = env_command(&rootfs, Some(&format!("{rootfs}/bin")), &env, script);
        let out = run_checked(
            c,
            ExecRequest::new(cmd).timeout(self.eng.opts.command_timeout),
            label,
        )
        .await?;
        Ok(out.stdout_text())
    }
}
