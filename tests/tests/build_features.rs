//! ADD (URL download, local archive extraction), progress modes, --print-graph, and RUN on
//! the copying snapshotter.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

/// A one-file HTTP server on 127.0.0.1 serving `body` for every GET, counting requests.
fn serve(body: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{addr}"), hits)
}

fn layer_listing(root: &Path, tmp: &Path, name: &str) -> String {
    let layout = saved_layout(root, name, &tmp.join("layout"));
    let doc = inspect(root, name);
    let mut out = String::new();
    for l in doc["manifest"]["layers"].as_array().unwrap() {
        let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
        let blob = layout.join("blobs/sha256").join(hex);
        out += &run_tool("tar", &["--zstd", "-tf", blob.to_str().unwrap()]);
    }
    out
}

#[test]
fn add_downloads_urls_and_extracts_local_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, hits) = serve("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote}\n");
    let ctx = tmp.path().join("ctx");
    write_files(&ctx, &[("payload/inner/file.txt", "inside\n")]);
    run_tool(
        "tar",
        &[
            "-czf",
            ctx.join("bundle.tar.gz").to_str().unwrap(),
            "-C",
            ctx.join("payload").to_str().unwrap(),
            "inner",
        ],
    );
    let kubefile = format!(
        "FROM scratch\nADD {base}/recommended.yaml manifests/\nADD bundle.tar.gz opt/\nAPP remote {base}/remote.yaml\n"
    );
    write_files(&ctx, &[("Kubefile", &kubefile)]);
    let root = tmp.path().join("store");
    sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "add/t:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let listing = layer_listing(&root, tmp.path(), "add/t:v1");
    assert!(listing.contains("manifests/recommended.yaml"), "{listing}");
    assert!(
        listing.contains("opt/inner/file.txt"),
        "archive extracted:\n{listing}"
    );
    assert!(!listing.contains("bundle.tar.gz"), "{listing}");
    assert!(
        listing.contains("application/apps/remote/remote.yaml"),
        "{listing}"
    );
    let ext = &inspect(&root, "add/t:v1")["imageExtension"];
    assert_eq!(ext["applications"][0]["type"], "kube");
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[test]
fn json_progress_and_print_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            ("Kubefile", "FROM scratch\nCOPY a.yaml manifests/\n"),
            ("a.yaml", "a\n"),
        ],
    );
    let root = tmp.path().join("store");
    let run = sealer(
        &root,
        &[
            "build",
            "--progress",
            "json",
            "-t",
            "p/j:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    // stdout is data only: the digest.
    assert!(
        run.stdout.trim().starts_with("sha256:") && run.stdout.trim().lines().count() == 1,
        "{}",
        run.stdout
    );
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(
        kinds.contains(&"planned") && kinds.contains(&"started") && kinds.contains(&"completed"),
        "{kinds:?}"
    );

    let graph = sealer(&root, &["build", "--print-graph", ctx.to_str().unwrap()]).ok();
    let doc: serde_json::Value = serde_json::from_str(&graph.stdout).unwrap();
    let vertices = doc["graph"]["vertices"].as_array().unwrap();
    assert_eq!(vertices.len(), 3, "scratch, COPY, embed");
    assert_eq!(vertices[1][1]["op"], "copy");
    assert_eq!(vertices[2][1]["op"], "embed_images");
    assert_eq!(
        doc["graph"]["info"][vertices[1][0].as_str().unwrap()]["location"]["line"],
        2
    );
}

#[test]
fn run_works_on_the_copying_snapshotter_too() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY d etc/d/\nRUN rm etc/d/old && echo new > etc/d/new && mkdir -p var/x\n",
            ),
            ("d/old", "o\n"),
            ("d/keep", "k\n"),
        ],
    );
    let root = tmp.path().join("store");
    sealer_env(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "copy/snap:v1",
            ctx.to_str().unwrap(),
        ],
        &[("SEALER_SNAPSHOTTER", "copy")],
    )
    .ok();
    let listing = layer_listing(&root, tmp.path(), "copy/snap:v1");
    assert!(listing.contains("etc/d/.wh.old"), "{listing}");
    assert!(listing.contains("etc/d/new"), "{listing}");
    assert!(listing.contains("var/x/"), "{listing}");
    // The overlay snapshotter (root) produces the same image for the same steps.
    if is_root() {
        let root2 = tmp.path().join("store2");
        sealer(
            &root2,
            &["build", "-t", "copy/snap:v1", ctx.to_str().unwrap()],
        )
        .ok();
        assert_eq!(
            inspect(&root, "copy/snap:v1")["digest"],
            inspect(&root2, "copy/snap:v1")["digest"],
            "overlay and copy snapshotters agree"
        );
    }
}
