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
mod tests {
    use super::*;
    use sealer_runtime::HostFailure;

    #[test]
    fn failures_name_host_phase_and_next_step() {
        let e = RuntimeError::Hosts(vec![HostFailure {
            host: "10.0.0.3".into(),
            phase: Phase::Init,
            message: "10.0.0.3: `sh init.sh` failed with exit code 2: boom".into(),
            connect: false,
        }]);
        let text = format!("{:#}", explain("run", e));
        assert!(
            text.contains(
                "host 10.0.0.3 failed in phase init: `sh init.sh` failed with exit code 2: boom"
            ),
            "{text}"
        );
        assert!(text.contains("rerun the same command"), "{text}");
        let e = RuntimeError::Hosts(vec![HostFailure {
            host: "10.0.0.9".into(),
            phase: Phase::Check,
            message: "cannot connect".into(),
            connect: true,
        }]);
        let text = format!("{:#}", explain("apply", e));
        assert!(text.contains("nothing was changed"), "{text}");
        let e = RuntimeError::Invalid("bad".into());
        assert_eq!(
            format!("{:#}", explain("join", e)),
            "sealer join failed: bad"
        );
    }
}
