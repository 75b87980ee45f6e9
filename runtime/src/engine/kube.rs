//! The kube phase: `kubeadm init` on master0, `kubeadm join` elsewhere, when the image ships kubeadm.

use super::install::{Install, Mode};
use crate::clusterfile::ResolvedHost;
use crate::layout::env_command;
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, run_checked};

/// Sets `$node` to the node whose InternalIP is `@IP@` (run on master0, admin kubeconfig).
const FIND_NODE: &str = r#"export KUBECONFIG="${KUBECONFIG:-/etc/kubernetes/admin.conf}"
node=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' | awk -v ip=@IP@ '$2 == ip { print $1 }')
if [ -z "$node" ]; then echo "no node has InternalIP @IP@" >&2; exit 1; fi
"#;

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
            let marked = self.label_and_taint(h).await?;
            return Ok(format!("kubeadm init{marked}"));
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
        let marked = self.label_and_taint(h).await?;
        Ok(if h.is_master() {
            format!("kubeadm join --control-plane{marked}")
        } else {
            format!("kubeadm join{marked}")
        })
    }

    /// The Clusterfile's `labels` and `taints` for `h`, set on its node from master0 with the
    /// image's kubectl (the node is found by its InternalIP). Idempotent (`--overwrite`).
    /// Returns a summary suffix ("" when there is nothing to set).
    async fn label_and_taint(&self, h: &ResolvedHost) -> Result<String, SshError> {
        if h.labels.is_empty() && h.taints.is_empty() {
            return Ok(String::new());
        }
        let m0 = self.master0().clone();
        let m0c = self.eng.conns.get(&m0.spec).await?;
        if !self.has("bin/kubectl") {
            return Err(SshError::Other {
                host: m0c.name().to_string(),
                message: format!(
                    "the Clusterfile gives {} labels/taints, but the image has no bin/kubectl to set them; add kubectl to the cluster image",
                    h.ip
                ),
            });
        }
        let mut script = FIND_NODE.replace("@IP@", &h.ip.to_string());
        if !h.labels.is_empty() {
            let labels: Vec<String> = h
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}").sq())
                .collect();
            script.push_str(&format!(
                "kubectl label node \"$node\" --overwrite {}\n",
                labels.join(" ")
            ));
        }
        if !h.taints.is_empty() {
            let taints: Vec<String> = h.taints.iter().map(|t| t.sq()).collect();
            script.push_str(&format!(
                "kubectl taint node \"$node\" --overwrite {}\n",
                taints.join(" ")
            ));
        }
        self.kubeadm(&m0, &*m0c, &script, "kubectl label/taint")
            .await?;
        Ok(format!(
            "; {} label(s), {} taint(s) set",
            h.labels.len(),
            h.taints.len()
        ))
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
