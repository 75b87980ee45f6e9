//! `sealer exec`: a shell command on the cluster's hosts.

use super::flags::ExecCmd;
use super::report::{explain, plan_text};
use anyhow::{Result, bail};
use sealer_runtime::clusterfile::resolve_hosts;
use sealer_runtime::{HostPlan, Phase, Plan, Runtime, StepState};
use std::io::Write;

/// `sealer exec`: each host's stdout on stdout (under a `==> HOST <==` header when there are
/// several hosts), its stderr on stderr; fails naming the hosts where the command failed.
pub async fn exec(rt: &Runtime, c: ExecCmd) -> Result<()> {
    let command = c.command.join(" ");
    if c.dry_run {
        let cf = rt.applied(c.cluster.as_deref())?;
        let hosts = resolve_hosts(&cf.cluster)?;
        let plan = Plan {
            cluster: cf.name().to_string(),
            summary: vec![format!("exec `{command}`")],
            hosts: hosts
                .iter()
                .filter(|h| c.roles.is_empty() || c.roles.iter().any(|r| h.has_role(r)))
                .map(|h| HostPlan {
                    ip: h.ip,
                    roles: h.roles.clone(),
                    steps: vec![(Phase::Exec, StepState::Run)],
                })
                .collect(),
            cluster_steps: Vec::new(),
        };
        print!("{}", plan_text(&plan));
        return Ok(());
    }
    let outputs = rt
        .exec(c.cluster.as_deref(), &c.roles, &command)
        .await
        .map_err(|e| explain("exec", e))?;
    let several = outputs.len() > 1;
    let mut failed = Vec::new();
    let mut stdout = std::io::stdout().lock();
    for (host, out) in &outputs {
        if several {
            writeln!(stdout, "==> {host} <==")?;
        }
        stdout.write_all(&out.stdout)?;
        stdout.flush()?;
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            eprintln!("[{host}] {line}");
        }
        if !out.success() {
            failed.push(format!("{host} ({})", out.status_text()));
        }
    }
    if !failed.is_empty() {
        bail!("`{command}` failed on {}", failed.join(", "));
    }
    Ok(())
}
