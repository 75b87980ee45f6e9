//! A plan: which phases run on which hosts, printed before anything acts.

use std::fmt;
use std::net::IpAddr;

/// Install and maintenance phases, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// SSH reachable, architecture, required commands. Never changes a host.
    Check,
    /// Copy the rootfs (only what the host lacks).
    Distribute,
    /// Start the embedded registry, configure containerd mirrors and /etc/hosts.
    Registry,
    /// Run the rootfs init scripts (with init-host hooks).
    Init,
    /// `kubeadm init` / `kubeadm join` (with install / scale-up hooks).
    Kube,
    /// post-install / post-scaleup hooks.
    Hooks,
    /// Launch commands and apps on master0.
    Launch,
    /// Clean scripts, registry stop, mirror config removal (and pruning).
    Clean,
    /// A user command (`exec`).
    Exec,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Check => "check",
            Phase::Distribute => "distribute",
            Phase::Registry => "registry",
            Phase::Init => "init",
            Phase::Kube => "kube",
            Phase::Hooks => "hooks",
            Phase::Launch => "launch",
            Phase::Clean => "clean",
            Phase::Exec => "exec",
        }
    }
    /// The phases of installing a host, in order (check excluded).
    pub const INSTALL: [Phase; 5] = [
        Phase::Distribute,
        Phase::Registry,
        Phase::Init,
        Phase::Kube,
        Phase::Hooks,
    ];
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happens to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Will run.
    Run,
    /// Finished in an earlier run: skipped.
    Done,
}

/// The steps of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    pub ip: IpAddr,
    pub roles: Vec<String>,
    pub steps: Vec<(Phase, StepState)>,
}

/// The whole plan of one command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub cluster: String,
    /// e.g. `install image x on 3 hosts`, `join 10.0.0.4 (node)`.
    pub summary: Vec<String>,
    pub hosts: Vec<HostPlan>,
    /// Steps on master0 that concern the cluster as a whole (launch commands).
    pub cluster_steps: Vec<(String, StepState)>,
}

impl Plan {
    /// Whether nothing would run.
    pub fn is_empty(&self) -> bool {
        self.hosts
            .iter()
            .flat_map(|h| h.steps.iter())
            .all(|(p, s)| *s != StepState::Run || *p == Phase::Check)
            && self.cluster_steps.iter().all(|(_, s)| *s != StepState::Run)
    }
    /// Whether `phase` runs on `ip`.
    pub fn runs(&self, ip: IpAddr, phase: Phase) -> bool {
        self.hosts
            .iter()
            .filter(|h| h.ip == ip)
            .flat_map(|h| h.steps.iter())
            .any(|(p, s)| *p == phase && *s == StepState::Run)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Plan for cluster {}:", self.cluster)?;
        for s in &self.summary {
            writeln!(f, "  {s}")?;
        }
        if self.is_empty() {
            return writeln!(f, "  nothing to do: the cluster already matches");
        }
        let mut phases: Vec<Phase> = Vec::new();
        for h in &self.hosts {
            for (p, _) in &h.steps {
                if !phases.contains(p) {
                    phases.push(*p);
                }
            }
        }
        phases.sort();
        let w = self
            .hosts
            .iter()
            .map(|h| h.ip.to_string().len())
            .max()
            .unwrap_or(4)
            .max(4);
        let rw = self
            .hosts
            .iter()
            .map(|h| h.roles.join(",").len())
            .max()
            .unwrap_or(5)
            .max(5);
        write!(f, "  {:<w$}  {:<rw$}", "HOST", "ROLES")?;
        for p in &phases {
            write!(f, "  {:<10}", p.name())?;
        }
        writeln!(f)?;
        for h in &self.hosts {
            write!(f, "  {:<w$}  {:<rw$}", h.ip.to_string(), h.roles.join(","))?;
            for p in &phases {
                let cell = match h.steps.iter().find(|(q, _)| q == p) {
                    Some((_, StepState::Run)) => "run",
                    Some((_, StepState::Done)) => "done",
                    None => "-",
                };
                write!(f, "  {cell:<10}")?;
            }
            writeln!(f)?;
        }
        for (name, state) in &self.cluster_steps {
            let s = match state {
                StepState::Run => "run",
                StepState::Done => "done",
            };
            writeln!(f, "  master0 {name}: {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests/plan.rs"]
mod tests;
