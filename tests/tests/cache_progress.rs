//! The solver's cache as a user sees it: plain progress shows CACHED for every step of an
//! unchanged rebuild, and only the changed COPY and what depends on it rerun.

mod common;
use common::*;

fn statuses(run: &Run) -> Vec<(String, String)> {
    step_statuses(&run.stderr)
}

#[test]
fn unchanged_rebuild_is_all_cached_and_one_change_reruns_only_dependents() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY a.yaml manifests/\nCOPY b.yaml manifests/\nRUN echo built > manifests/stamp.txt\nCOPY c.yaml manifests/\n",
            ),
            ("a.yaml", "a: 1\n"),
            ("b.yaml", "b: 1\n"),
            ("c.yaml", "c: 1\n"),
            ("unrelated.txt", "x\n"),
        ],
    );
    let root = tmp.path().join("store");
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--progress", "plain", "-t", "cache/t:v1"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        sealer(&root, &args).ok()
    };
    let first = build(&[]);
    let s1 = statuses(&first);
    assert_eq!(s1.len(), 6, "{}", first.stderr);
    assert!(s1.iter().skip(1).all(|(_, s)| s == "DONE"), "{s1:?}");

    let second = build(&[]);
    let s2 = statuses(&second);
    assert_eq!(s2.len(), 6, "{}", second.stderr);
    assert!(
        s2.iter().all(|(_, s)| s == "CACHED"),
        "unchanged rebuild: {s2:?}"
    );
    assert_eq!(first.stdout, second.stdout, "same image digest");

    // Unrelated context files do not matter.
    std::fs::write(ctx.join("unrelated.txt"), "y\n").unwrap();
    let third = build(&[]);
    assert!(statuses(&third).iter().all(|(_, s)| s == "CACHED"));

    // Change b.yaml: COPY a stays cached; COPY b, the RUN and COPY c rerun.
    std::fs::write(ctx.join("b.yaml"), "b: 2\n").unwrap();
    let fourth = build(&[]);
    let s4 = statuses(&fourth);
    let status_of = |needle: &str| {
        s4.iter()
            .find(|(n, _)| n.contains(needle))
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    assert_eq!(status_of("COPY a.yaml"), "CACHED", "{s4:?}");
    assert_eq!(status_of("COPY b.yaml"), "DONE", "{s4:?}");
    assert_eq!(status_of("RUN echo"), "DONE", "{s4:?}");
    assert_eq!(status_of("COPY c.yaml"), "DONE", "{s4:?}");
    assert_ne!(fourth.stdout, first.stdout);

    // --no-cache reruns everything.
    let fifth = build(&["--no-cache"]);
    assert!(statuses(&fifth).iter().skip(1).all(|(_, s)| s == "DONE"));
}

#[test]
fn run_step_writes_into_the_rootfs_with_args_and_env() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nARG GREETING=hello\nENV TARGET=world\nCOPY seed.txt etc/\nRUN mkdir -p out && echo \"$GREETING $TARGET\" > out/msg && cat etc/seed.txt >> out/msg && rm etc/seed.txt\n",
            ),
            ("seed.txt", "seeded\n"),
        ],
    );
    let root = tmp.path().join("store");
    let run = sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "--build-arg",
            "GREETING=hi",
            "-t",
            "run/t:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(run.stderr.contains("RUN"), "{}", run.stderr);
    // Apply the layers with our own reader of the archive: extract with tar, then read
    // each layer (zstd) in order.
    let layout = saved_layout(&root, "run/t:v1", &tmp.path().join("layout"));
    let doc = inspect(&root, "run/t:v1");
    let layers = doc["manifest"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let mut listing = String::new();
    for l in layers {
        let digest = l["digest"].as_str().unwrap().replace("sha256:", "");
        let blob = layout.join("blobs/sha256").join(&digest);
        listing += &run_tool("tar", &["--zstd", "-tvf", blob.to_str().unwrap()]);
        run_tool(
            "tar",
            &[
                "--zstd",
                "-xf",
                blob.to_str().unwrap(),
                "-C",
                rootfs.to_str().unwrap(),
            ],
        );
    }
    let msg = std::fs::read_to_string(rootfs.join("out/msg")).unwrap();
    assert_eq!(msg, "hi world\nseeded\n");
    assert!(
        listing.contains("etc/.wh.seed.txt"),
        "deletion is an OCI whiteout:\n{listing}"
    );
}

/// The RUN sandbox is probed when a RUN first executes, never by a fully cached build (a
/// cached CI build pays no sandbox start-up). A `bwrap` wrapper on PATH logs every start.
#[test]
fn fully_cached_rebuild_never_starts_the_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY a.yaml m/\nRUN echo ran > m/stamp.txt\n",
            ),
            ("a.yaml", "a: 1\n"),
        ],
    );
    let bin = tmp.path().join("bin");
    let log = tmp.path().join("bwrap.log");
    let real = find_on_path("bwrap");
    let script = match &real {
        Some(real) => format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"\n",
            log.display(),
            real.display()
        ),
        None => format!("#!/bin/sh\necho \"$@\" >> {}\nexit 1\n", log.display()),
    };
    write_files(&bin, &[("bwrap", script.as_str())]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("bwrap"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = tmp.path().join("store");
    let build = || {
        sealer_env(
            &root,
            &[
                "build",
                "--progress",
                "plain",
                "-t",
                "sandbox/t:v1",
                ctx.to_str().unwrap(),
            ],
            &[("PATH", path.as_str())],
        )
        .ok()
    };
    let first = build();
    let starts = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !starts.is_empty(),
        "the RUN probed and used the sandbox: {}",
        first.stderr
    );
    std::fs::remove_file(&log).unwrap();
    let second = build();
    assert!(
        statuses(&second).iter().all(|(_, s)| s == "CACHED"),
        "{}",
        second.stderr
    );
    assert!(
        !log.exists(),
        "a fully cached build started bwrap: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(first.stdout, second.stdout);
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}
