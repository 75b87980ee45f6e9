//! Issue 5: a build cache shared between builders through a registry or a directory.

mod common;
use common::daemons::*;
use common::*;
use std::path::Path;

fn context(dir: &Path, tag: &str, image: &str) {
    write_files(
        dir,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY imageList manifests/\nCOPY a.yaml manifests/\nRUN echo ran > manifests/ran.txt\nAPP web local://web.yaml\nLAUNCH [\"web\"]\n",
            ),
            ("imageList", &format!("{image}\n")),
            ("a.yaml", tag),
            (
                "web.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
            ),
        ],
    );
}

fn all_cached(run: &Run) -> bool {
    let s = step_statuses(&run.stderr);
    !s.is_empty() && s.iter().all(|(_, st)| st == "CACHED")
}

#[test]
fn registry_and_local_caches_let_a_cold_builder_skip_every_step() {
    if !(have("docker-registry") && have("kubectl")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (mut upstream, up) = docker_registry(&w.join("up"), false, &w.join("logs"));
    let (_cache, cache) = docker_registry(&w.join("cache"), false, &w.join("logs"));
    let app = format!("{up}/library/app:v1");
    publish(w, &app, &app);
    let ctx = w.join("ctx");
    context(&ctx, "a: 1\n", "docker.io/library/app:v1");
    let endpoint = format!("docker.io=http://{up}");
    let cache_ref = format!("type=registry,ref={cache}/cache/app:main");
    let local_dir = w.join("local-cache");
    let local_to = format!("type=local,dest={}", local_dir.display());
    let local_from = format!("type=local,src={}", local_dir.display());

    let a = sealer(
        &w.join("a"),
        &[
            "build",
            "--progress",
            "plain",
            "--registry-endpoint",
            &endpoint,
            "--cache-to",
            &cache_ref,
            "--cache-to",
            &local_to,
            "-t",
            "app:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(a.stderr.contains("exported"), "{}", a.stderr);
    // No upstream for embedded images from here on.
    upstream.stop();
    // A damaged per-key record (a foreign image under a `k-` tag) costs that record only.
    let damaged = format!("{cache}/cache/app:k-{}", "0".repeat(64));
    publish(w, &damaged, "not a cache record");

    for (store, from) in [("b", cache_ref.as_str()), ("c", local_from.as_str())] {
        let b = sealer(
            &w.join(store),
            &[
                "build",
                "--progress",
                "plain",
                "--registry-endpoint",
                &endpoint,
                "--cache-from",
                from,
                "-t",
                "app:v1",
                ctx.to_str().unwrap(),
            ],
        )
        .ok();
        assert!(all_cached(&b), "{from}: {}", b.stderr);
        if from == cache_ref {
            assert!(
                b.stderr.contains("warning: skipping cache record") && b.stderr.contains(&damaged),
                "{}",
                b.stderr
            );
        }
        // Nothing executed: no step DONE, no observe pass ran, no image fetched.
        assert!(
            !b.stderr.contains(" DONE ")
                && !b.stderr.contains("running")
                && !b.stderr.contains("fetching"),
            "{}",
            b.stderr
        );
        assert_eq!(b.stdout, a.stdout, "same image digest via {from}");
        sealer(&w.join(store), &["fsck"]).ok();
        // The image is complete: it saves and reloads.
        let archive = w.join(format!("{store}.tar"));
        sealer(
            &w.join(store),
            &["save", "-o", archive.to_str().unwrap(), "app:v1"],
        )
        .ok();
    }

    // A foreign "cache" (a plain image) is ignored with a warning, never trusted.
    let plain = format!("{cache}/plain/img:v1");
    publish(w, &plain, &plain);
    let d = sealer(
        &w.join("d"),
        &[
            "build",
            "--progress",
            "plain",
            "--cluster",
            "none",
            "--build-mode",
            "lite",
            "--cache-from",
            &format!("type=registry,ref={plain}"),
            "-t",
            "x:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(
        d.stderr.contains("warning: ignoring registry cache"),
        "{}",
        d.stderr
    );
}

#[test]
fn concurrent_exporters_to_one_ref_lose_no_records() {
    if !have("docker-registry") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (_cache, cache) = docker_registry(&w.join("cache"), false, &w.join("logs"));
    let cache_ref = format!("type=registry,ref={cache}/cache/shared:main");
    let contexts: Vec<_> = (0..3)
        .map(|i| {
            let ctx = w.join(format!("ctx{i}"));
            write_files(&ctx, &[("Kubefile", "FROM scratch\nCOPY own.yaml manifests/\nRUN echo $((6*7)) > manifests/answer\n"), ("own.yaml", &format!("builder: {i}\n"))]);
            ctx
        })
        .collect();
    let children: Vec<_> = contexts
        .iter()
        .enumerate()
        .map(|(i, ctx)| {
            std::process::Command::new(sealer_bin())
                .env("SEALER_REGISTRY_CONFIG", offline_registry_config())
                .arg("--root")
                .arg(w.join(format!("builder{i}")))
                .args([
                    "build",
                    "--cluster",
                    "none",
                    "--build-mode",
                    "lite",
                    "--cache-to",
                    &cache_ref,
                    "-t",
                    &format!("c{i}:v1"),
                ])
                .arg(ctx)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "builder {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A fourth builder gets hits for every builder's steps.
    let from = cache_ref.replace("dest=", "src=");
    for (i, ctx) in contexts.iter().enumerate() {
        let run = sealer(
            &w.join("fourth"),
            &[
                "build",
                "--progress",
                "plain",
                "--cluster",
                "none",
                "--build-mode",
                "lite",
                "--cache-from",
                &from,
                "-t",
                &format!("c{i}:v1"),
                ctx.to_str().unwrap(),
            ],
        )
        .ok();
        assert!(
            all_cached(&run),
            "builder {i}'s records missing:\n{}",
            run.stderr
        );
    }
}

#[test]
fn explain_cache_names_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY a.yaml manifests/\nCOPY b.yaml manifests/\n",
            ),
            ("a.yaml", "a\n"),
            ("b.yaml", "b\n"),
        ],
    );
    let root = tmp.path().join("store");
    let args = [
        "build",
        "--progress",
        "plain",
        "--explain-cache",
        "-t",
        "ex:v1",
        ctx.to_str().unwrap(),
    ];
    let first = sealer(&root, &args).ok();
    assert!(
        first.stderr.contains("no earlier build"),
        "{}",
        first.stderr
    );
    std::fs::write(ctx.join("a.yaml"), "changed\n").unwrap();
    let second = sealer(&root, &args).ok();
    let lines: Vec<&str> = second
        .stderr
        .lines()
        .filter(|l| l.starts_with("explain:"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("COPY a.yaml")
                && l.contains("content of the files it reads changed")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("COPY b.yaml") && l.contains("a previous step changed")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("FROM scratch")),
        "{lines:?}"
    );
}
