use super::*;
use clap::{CommandFactory, Parser};
use sealer_runtime::clusterfile::resolve_hosts;
use std::path::PathBuf;

#[derive(Debug, Parser)]
struct T {
    #[command(subcommand)]
    c: ClusterCommand,
}

fn parse(args: &[&str]) -> Result<ClusterCommand, clap::Error> {
    T::try_parse_from(std::iter::once("sealer").chain(args.iter().copied())).map(|t| t.c)
}

#[test]
fn definitions_are_consistent() {
    T::command().debug_assert();
}

#[test]
fn run_flags_become_run_args() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id");
    std::fs::write(&key, "k").unwrap();
    let ClusterCommand::Run(c) = parse(&[
        "run",
        "img:1",
        "-m",
        "10.0.0.2",
        "--nodes",
        "10.0.0.3-10.0.0.4",
        "--pk",
        key.to_str().unwrap(),
        "-e",
        "A=1",
        "--apps",
        "a,b",
        "--cmds",
        "echo x, y",
        "--cluster",
        "c1",
        "--port",
        "2222",
    ])
    .unwrap() else {
        panic!("not run")
    };
    let args = run_args(&c).unwrap();
    assert_eq!(args.apps, ["a", "b"]);
    assert_eq!(args.cmds, ["echo x, y"], "commands are not split at commas");
    assert_eq!(args.private_key.as_deref(), key.to_str());
    let cf = args.to_clusterfile().unwrap();
    let hosts = resolve_hosts(&cf.cluster).unwrap();
    let shown: Vec<String> = hosts.iter().map(|h| h.ip.to_string()).collect();
    assert_eq!(shown, ["10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    assert_eq!(cf.name(), "c1");
    assert_eq!(hosts[0].spec.port, 2222);
    assert_eq!(c.common.parallelism, 16);
    assert!(!c.common.accept_new_host_keys);
}

#[test]
fn bad_flags_are_refused_with_reasons() {
    let e = parse(&["run", "i", "-m", "10.0.0.1", "-p", "x", "--pk", "/k"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    assert!(
        parse(&["join", "--cluster", "x"]).is_err(),
        "join needs hosts"
    );
    assert!(parse(&["delete"]).is_err(), "delete needs hosts or --all");
    let e = parse(&["delete", "--all", "--nodes", "10.0.0.2"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    assert!(parse(&["run", "i", "--parallelism", "0"]).is_err());
    let ClusterCommand::Run(c) = parse(&["run", "i", "-m", "10.0.0.1", "-e", "novalue"]).unwrap()
    else {
        panic!()
    };
    assert!(run_args(&c).unwrap_err().to_string().contains("KEY=VALUE"));
    let ClusterCommand::Run(c) = parse(&["run", "i", "--pk", "/nonexistent/key"]).unwrap() else {
        panic!()
    };
    assert!(
        run_args(&c)
            .unwrap_err()
            .to_string()
            .contains("no such key file")
    );
    let e = ips("--nodes", Some("10.0.0.9-10.0.0.1")).unwrap_err();
    assert!(e.to_string().starts_with("--nodes: "), "{e}");
}

#[test]
fn exec_takes_the_command_verbatim() {
    let ClusterCommand::Exec(c) =
        parse(&["exec", "--roles", "master,node", "ls", "-l", "/tmp"]).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.roles, ["master", "node"]);
    assert_eq!(c.command.join(" "), "ls -l /tmp");
    let ClusterCommand::Delete(d) = parse(&["delete", "-a", "--dry-run"]).unwrap() else {
        panic!()
    };
    assert!(d.all && d.dry_run);
    let ClusterCommand::Apply(a) = parse(&["apply", "-f", "Clusterfile"]).unwrap() else {
        panic!()
    };
    assert_eq!(a.clusterfile, PathBuf::from("Clusterfile"));
}

#[test]
fn malformed_clusterfiles_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Clusterfile");
    std::fs::write(
        &p,
        "apiVersion: sealer.io/v2\nkind: Cluster\nmetadata:\n  name: c\nspec:\n  image: x\n  hostz: []\n",
    )
    .unwrap();
    let e = format!("{:#}", read_clusterfile(&p).unwrap_err());
    assert!(
        e.contains(&p.display().to_string()) && e.contains("hostz"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        read_clusterfile(&dir.path().join("none")).unwrap_err()
    );
    assert!(e.contains("cannot read Clusterfile"), "{e}");
}
