//! Every bad Kubefile fails with file:line:col, a non-zero exit, and nothing in the store.

mod common;
use common::*;

/// Build `kubefile` in a context with a few files; return the failed run.
fn fails(kubefile: &str) -> (Run, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            ("Kubefile", kubefile),
            ("app.yaml", "kind: A\n"),
            ("mixed/a.yaml", "kind: A\n"),
            ("mixed/b.sh", "echo b\n"),
        ],
    );
    std::fs::write(tmp.path().join("secret"), "s").unwrap();
    std::os::unix::fs::symlink("../secret", ctx.join("link-out")).unwrap();
    let root = tmp.path().join("store");
    // A previous good image, so "nothing written" is checked against a populated store.
    let good = tmp.path().join("good");
    write_files(
        &good,
        &[
            ("Kubefile", "FROM scratch\nCOPY x manifests/\n"),
            ("x", "x\n"),
        ],
    );
    sealer(&root, &["build", "-t", "good:v1", good.to_str().unwrap()]).ok();
    let before = store_state(&root);
    let run = sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "bad:v1",
            ctx.to_str().unwrap(),
        ],
    );
    assert!(!run.status.success(), "should fail: {kubefile}");
    assert_eq!(
        store_state(&root),
        before,
        "store changed by a failed build"
    );
    (run, tmp)
}

/// The error names the Kubefile, line and column.
fn assert_at(run: &Run, line: usize, col: usize, needle: &str) {
    let want = format!("Kubefile:{line}:{col}");
    assert!(
        run.stderr.contains(&want),
        "expected {want} in:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in:\n{}",
        run.stderr
    );
}

#[test]
fn unknown_instruction() {
    let (run, _t) = fails("FROM scratch\nCOPY app.yaml manifests/\nFOO bar\n");
    assert_at(&run, 3, 1, "FOO");
}

#[test]
fn bad_json_array() {
    let (run, _t) = fails("FROM scratch\nCMDS [\"kubectl apply -f x\"\n");
    assert_at(&run, 2, 27, "json");
}

#[test]
fn launch_not_last_or_repeated_or_with_cmd() {
    let (run, _t) =
        fails("FROM scratch\nAPP a local://app.yaml\nLAUNCH [\"a\"]\nCOPY app.yaml x/\n");
    assert_at(&run, 3, 1, "last");
    let (run, _t) = fails("FROM scratch\nAPP a local://app.yaml\nLAUNCH [\"a\"]\nLAUNCH [\"a\"]\n");
    assert_at(&run, 4, 1, "LAUNCH");
    let (run, _t) = fails("FROM scratch\nAPP a local://app.yaml\nCMD echo hi\nLAUNCH [\"a\"]\n");
    assert_at(&run, 4, 1, "CMD");
}

#[test]
fn unknown_app_names() {
    let (run, _t) = fails("FROM scratch\nAPPCMDS ghost [\"echo\"]\n");
    assert_at(&run, 2, 9, "ghost");
    let (run, _t) = fails("FROM scratch\nAPPENV ghost a=b\n");
    assert_at(&run, 2, 8, "ghost");
    let (run, _t) = fails("FROM scratch\nAPP a local://app.yaml\nLAUNCH [\"a\", \"ghost\"]\n");
    assert!(run.stderr.contains("Kubefile:3:"), "{}", run.stderr);
    assert!(run.stderr.contains("ghost"), "{}", run.stderr);
}

#[test]
fn app_sources() {
    let (run, _t) = fails("FROM scratch\nAPP a\n");
    assert!(run.stderr.contains("Kubefile:2:"), "{}", run.stderr);
    let (run, _t) = fails("FROM scratch\nAPP a app.yaml\n");
    assert_at(&run, 2, 7, "local://");
    let (run, _t) = fails("FROM scratch\nAPP a local://missing.yaml\n");
    assert_at(&run, 2, 7, "missing.yaml");
    let (run, _t) = fails("FROM scratch\nAPP a local://mixed\nLAUNCH [\"a\"]\n");
    assert!(run.stderr.contains("Kubefile:3:"), "{}", run.stderr);
    assert!(run.stderr.contains("APPCMDS"), "{}", run.stderr);
}

#[test]
fn copy_sources_missing_or_escaping() {
    let (run, _t) = fails("FROM scratch\nCOPY nothere.yaml manifests/\n");
    assert_at(&run, 2, 6, "nothere.yaml");
    let (run, _t) = fails("FROM scratch\nCOPY ../secret manifests/\n");
    assert_at(&run, 2, 6, "context");
    let (run, _t) = fails("FROM scratch\nCOPY /etc/passwd manifests/\n");
    assert_at(&run, 2, 6, "context");
    let (run, _t) = fails("FROM scratch\nCOPY link-out manifests/\n");
    assert_at(&run, 2, 6, "context");
    let (run, _t) = fails("FROM scratch\nCOPY --chown=1:1 app.yaml manifests/\n");
    assert_at(&run, 2, 6, "--chown");
}

#[test]
fn invalid_kubeversion() {
    let (run, _t) = fails("FROM scratch\nKUBEVERSION >=1.x.y.z\n");
    assert!(run.stderr.contains("Kubefile:2:"), "{}", run.stderr);
    assert!(
        run.stderr.to_lowercase().contains("version"),
        "{}",
        run.stderr
    );
}

#[test]
fn undefined_build_arg_is_a_warning_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            ("Kubefile", "FROM scratch\nCOPY app.yaml ${DEST}/\n"),
            ("app.yaml", "a\n"),
        ],
    );
    let root = tmp.path().join("store");
    let run = sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "warn:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
    assert!(run.stderr.contains("DEST"), "{}", run.stderr);
}
