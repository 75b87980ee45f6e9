//! Unit tests of `plan`.

use super::*;

#[test]
fn display_and_emptiness() {
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    let mut p = Plan {
        cluster: "c".into(),
        summary: vec!["install".into()],
        hosts: vec![HostPlan {
            ip,
            roles: vec!["master".into()],
            steps: vec![
                (Phase::Check, StepState::Run),
                (Phase::Distribute, StepState::Done),
                (Phase::Init, StepState::Run),
            ],
        }],
        cluster_steps: vec![("launch `x`".into(), StepState::Done)],
    };
    let text = p.to_string();
    assert!(
        text.contains("10.0.0.2  master  run         done        run"),
        "{text}"
    );
    assert!(!p.is_empty());
    assert!(p.runs(ip, Phase::Init));
    p.hosts[0].steps.retain(|(ph, _)| *ph != Phase::Init);
    assert!(p.is_empty(), "check alone is not work");
    assert!(p.to_string().contains("nothing to do"));
}
