//! Unit tests of `cluster_cmds::report`.

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
