//! Plan and progress output of the cluster commands, and their error messages.

use sealer_runtime::{Event, Phase, Plan, Reporter, RuntimeError, StderrReporter};
use std::io::Write;

/// The plan goes to stderr before acting, or to stdout for `--dry-run` (where it is the
/// command's output); progress events always go to stderr.
pub struct CliReporter {
    plan_to_stdout: bool,
}

impl CliReporter {
    pub fn new(plan_to_stdout: bool) -> Self {
        CliReporter { plan_to_stdout }
    }
}

impl Reporter for CliReporter {
    fn plan(&self, plan: &Plan) {
        let text = plan_text(plan);
        if self.plan_to_stdout {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        } else {
            eprint!("{text}");
        }
    }
    fn event(&self, event: &Event) {
        StderrReporter.event(event);
    }
}

/// The plan as printed: the runtime's table (hosts × phases).
pub fn plan_text(plan: &Plan) -> String {
    plan.to_string()
}

/// A runtime failure as the user reads it: what failed where, and what to do next.
pub fn explain(command: &str, err: RuntimeError) -> anyhow::Error {
    let failures = err.host_failures();
    let hint = if failures.is_empty() || command == "exec" {
        None
    } else if failures.iter().all(|f| f.phase == Phase::Check) {
        Some("nothing was changed on any host")
    } else if command == "delete" {
        Some("fix the cause and rerun the same command to finish the removal")
    } else {
        Some(
            "finished phases are recorded: fix the cause and rerun the same command (or `sealer apply -f` the Clusterfile) to continue",
        )
    };
    match hint {
        Some(h) => anyhow::anyhow!("sealer {command} failed: {err}\n{h}"),
        None => anyhow::anyhow!("sealer {command} failed: {err}"),
    }
}

#[cfg(test)]
#[path = "../tests/cluster_cmds_report.rs"]
mod tests;
