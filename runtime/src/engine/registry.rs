//! The registry phase: start the embedded registry on registry hosts and point every host's
//! containerd at it (`certs.d/<domain>/hosts.toml` per registry domain, `/etc/hosts` entry).
//! Pod specs are never rewritten.

use super::install::Install;
use crate::clusterfile::{Clusterfile, ResolvedHost, master0};
use crate::image::registry_domain;
use crate::layout::Layout;
use crate::options::RuntimeOptions;
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, run_checked, upload_file};
use sealer_image_cache::sealer_meta::ContainerImage;
use std::collections::BTreeSet;

/// Every registry domain that must be mirrored: those of the container images plus the
/// local registry's own `domain:port`.
pub(crate) fn mirror_domains(images: &[ContainerImage], local: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = images.iter().map(|i| registry_domain(&i.image)).collect();
    out.insert(local.to_string());
    out
}

fn check_domain(c: &dyn Host, d: &str) -> Result<(), SshError> {
    let ok = !d.is_empty()
        && d.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | ':' | '_'));
    if ok {
        Ok(())
    } else {
        Err(SshError::Other {
            host: c.name().to_string(),
            message: format!("registry domain {d:?} has characters that are not allowed"),
        })
    }
}

/// containerd `hosts.toml` sending pulls for `domain` to the embedded registry endpoints.
pub(crate) fn hosts_toml(domain: &str, endpoints: &[String], marker: &str, local: &str) -> String {
    let server = if domain == "docker.io" {
        "https://registry-1.docker.io".to_string()
    } else if domain == local {
        format!("http://{domain}")
    } else {
        format!("https://{domain}")
    };
    let mut t = format!("# {marker}\nserver = \"{server}\"\n");
    for e in endpoints {
        t.push_str(&format!(
            "\n[host.\"{e}\"]\n  capabilities = [\"pull\", \"resolve\"]\n  skip_verify = true\n"
        ));
    }
    t
}

/// Write mirror configs for `domains` and the marked `/etc/hosts` lines.
pub(crate) async fn configure_mirrors(
    layout: &Layout,
    c: &dyn Host,
    domains: &BTreeSet<String>,
    endpoints: &[String],
    local: &str,
    hosts_lines: &[String],
) -> Result<(), SshError> {
    let marker = layout.marker();
    let mut s = layout.prelude(c);
    for d in domains {
        check_domain(c, d)?;
        let dir = format!("{}/{d}", layout.certs_d(c));
        s.push_str(&format!(
            "sealer_mkdir {dir}\nf={dir}/hosts.toml\nif [ -f \"$f\" ] && ! grep -q {m} \"$f\"; then mv \"$f\" \"$f.sealer-backup\"; fi\ncat > \"$f\" <<'SEALER_EOF'\n{body}SEALER_EOF\n",
            dir = dir.sq(),
            m = format!("^# {marker}$").sq(),
            body = hosts_toml(d, endpoints, &marker, local),
        ));
    }
    let hosts = layout.etc_hosts(c);
    s.push_str(&format!(
        "f={h}\nsealer_mkdir \"$(dirname \"$f\")\"\n[ -f \"$f\" ] || : > \"$f\"\ntmp=$(mktemp)\ngrep -v {m} \"$f\" > \"$tmp\" || true\n",
        h = hosts.sq(),
        m = format!(" # {marker}$").sq()
    ));
    for line in hosts_lines {
        s.push_str(&format!(
            "printf '%s\\n' {} >> \"$tmp\"\n",
            format!("{line} # {marker}").sq()
        ));
    }
    s.push_str("cat \"$tmp\" > \"$f\"\nrm -f \"$tmp\"\n");
    run_checked(c, ExecRequest::new(s), "configure the containerd mirrors").await?;
    Ok(())
}

/// Copy the registry binary and start it in the background (unless it already runs).
pub(crate) async fn start_registry(
    opts: &RuntimeOptions,
    layout: &Layout,
    c: &dyn Host,
    rootfs: &str,
    domain: &str,
    port: u16,
) -> Result<String, SshError> {
    let local = match &opts.registry.binary {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| SshError::Other {
            host: c.name().to_string(),
            message: format!("cannot find the running executable to copy as the registry: {e}"),
        })?,
    };
    let name = local
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("sealer")
        .to_string();
    let bin_dir = layout.bin_dir(c);
    let run_dir = layout.run_dir(c);
    let mk = format!(
        "{}sealer_mkdir {}\nsealer_mkdir {}\n",
        layout.prelude(c),
        bin_dir.sq(),
        run_dir.sq()
    );
    run_checked(c, ExecRequest::new(mk), "create the registry directories").await?;
    let remote_bin = format!("{bin_dir}/{name}");
    let copied = upload_file(c, &local, &remote_bin, 0o755, opts.command_timeout).await?;
    let registry_root = format!("{rootfs}/registry");
    let args: Vec<String> = opts
        .registry
        .args
        .iter()
        .map(|a| {
            a.replace("{root}", &registry_root)
                .replace("{port}", &port.to_string())
                .replace("{domain}", domain)
                .replace("{run}", &run_dir)
                .sq()
        })
        .collect();
    let pidf = format!("{run_dir}/registry.pid").sq();
    let log = format!("{run_dir}/registry.log").sq();
    let mut s = format!(
        "set -e\nmkdir -p {root}\nif [ -f {pidf} ] && kill -0 \"$(cat {pidf})\" 2>/dev/null; then echo running; exit 0; fi\ncd {rd}\nsetsid nohup {bin} {args} > {log} 2>&1 < /dev/null &\necho $! > {pidf}\n",
        root = registry_root.sq(),
        rd = run_dir.sq(),
        bin = remote_bin.sq(),
        args = args.join(" "),
    );
    if let Some(t) = opts.registry.ready_timeout {
        let tries = (t.as_millis() / 200).max(1);
        s.push_str(&format!(
            "hex=$(printf '%04X' {port}); i=0\nwhile ! grep -q \":$hex [0-9A-F]*:0000 0A\" /proc/net/tcp /proc/net/tcp6 2>/dev/null; do\n  if ! kill -0 \"$(cat {pidf})\" 2>/dev/null; then echo 'the registry exited:' >&2; tail -n 20 {log} >&2; exit 1; fi\n  i=$((i+1)); if [ $i -gt {tries} ]; then echo 'the registry is not listening on port {port} after {secs}s:' >&2; tail -n 20 {log} >&2; exit 1; fi\n  sleep 0.2\ndone\n",
            secs = t.as_secs()
        ));
    }
    s.push_str("echo started\n");
    let out = run_checked(c, ExecRequest::new(s), "start the registry").await?;
    let state = out.stdout_text().trim().to_string();
    Ok(format!(
        "registry {state} on :{port}{}",
        if copied { " (binary copied)" } else { "" }
    ))
}

/// Hosts serving the embedded registry: every master with `ha` (the default), else master0.
pub(crate) fn registry_hosts(cf: &Clusterfile, hosts: &[ResolvedHost]) -> Vec<ResolvedHost> {
    let (_, _, ha) = cf.registry();
    if ha {
        hosts.iter().filter(|h| h.is_master()).cloned().collect()
    } else {
        master0(hosts).cloned().into_iter().collect()
    }
}

/// `http://<ip>:<port>` of every registry host.
pub(crate) fn registry_endpoints(cf: &Clusterfile, hosts: &[ResolvedHost]) -> Vec<String> {
    let (_, port, _) = cf.registry();
    registry_hosts(cf, hosts)
        .iter()
        .map(|h| format!("http://{}:{port}", h.ip))
        .collect()
}

/// The marked `/etc/hosts` lines: the registry domain and `spec.hostAliases`.
pub(crate) fn hosts_lines(cf: &Clusterfile, hosts: &[ResolvedHost]) -> Vec<String> {
    let (domain, _, _) = cf.registry();
    let mut lines: Vec<String> = registry_hosts(cf, hosts)
        .first()
        .map(|h| format!("{} {domain}", h.ip))
        .into_iter()
        .collect();
    for a in &cf.cluster.spec.host_aliases {
        if !a.hostnames.is_empty() {
            lines.push(format!("{} {}", a.ip, a.hostnames.join(" ")));
        }
    }
    lines
}

impl Install<'_> {
    pub(crate) async fn registry_host(
        &self,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<String, SshError> {
        let (domain, port, _) = self.cf.registry();
        let mut detail = Vec::new();
        if self.is_registry_host(h) {
            let rootfs = self.layout.rootfs(c);
            detail.push(
                start_registry(self.eng.opts, &self.layout, c, &rootfs, &domain, port).await?,
            );
        }
        let local = format!("{domain}:{port}");
        let domains = mirror_domains(&self.image.container_images, &local);
        configure_mirrors(
            &self.layout,
            c,
            &domains,
            &registry_endpoints(self.cf, &self.hosts),
            &local,
            &hosts_lines(self.cf, &self.hosts),
        )
        .await?;
        detail.push(format!(
            "mirrors for {}",
            domains.into_iter().collect::<Vec<_>>().join(", ")
        ));
        Ok(detail.join("; "))
    }
}

#[cfg(test)]
#[path = "../tests/engine_registry.rs"]
mod tests;
