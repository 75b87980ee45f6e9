//! Issue 5: a cluster image that embeds container images is saved and split on a connected
//! machine, the volumes are moved, and an empty store loads them inside a network namespace
//! with no network. There `inspect` matches, and `sealer registry serve --image` serves the
//! embedded registry identically to skopeo: the same manifests byte for byte, the same blobs,
//! the same digests as the upstream registry the images came from (long gone by then).

mod common;
use common::daemons::*;
use common::*;
use std::path::Path;
use std::process::Command;

const APP: &str = "bundle/embedded:v1";
const EMBEDDED: [&str; 2] = ["docker.io/library/bb:v1", "docker.io/team/tool:v2"];

/// Optionally bring `lo` up and load a bundle, then serve APP's embedded registry and read
/// every embedded image through it with skopeo into `$OUT`.
const SERVE_AND_READ: &str = r#"set -eu
if [ "$CUT" = 1 ]; then ip link set lo up; fi
if [ -n "$BUNDLE" ]; then
  "$SEALER" --root "$ROOT" load -i "$BUNDLE" > "$OUT/load.out"
  "$SEALER" --root "$ROOT" inspect "$APP" > "$OUT/inspect.json"
fi
"$SEALER" --root "$ROOT" registry serve --image "$APP" --addr "127.0.0.1:$PORT" 2> "$OUT/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
n=0
until skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PORT/$FIRST" > /dev/null 2>&1; do
  n=$((n+1)); if [ $n -gt 300 ]; then cat "$OUT/serve.log" >&2; exit 1; fi; sleep 0.1
done
n=0
for img in $IMAGES; do
  skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PORT/$img" > "$OUT/raw-$n.json"
  skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$PORT/$img" "oci:$OUT/copy-$n:x"
  n=$((n+1))
done
"#;

/// What one reader saw: per embedded image, the raw manifest and the blob files it copied.
#[derive(Debug, PartialEq)]
struct Seen {
    manifests: Vec<String>,
    blobs: Vec<Vec<String>>,
}

fn serve_and_read(root: &Path, bundle: Option<&Path>, out: &Path, cut: bool) -> Seen {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = if cut {
        let mut c = Command::new("unshare");
        c.args(["-n", "--", "sh", "-c", SERVE_AND_READ]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", SERVE_AND_READ]);
        c
    };
    cmd.env("CUT", if cut { "1" } else { "0" })
        .env("SEALER", sealer_bin())
        .env("SEALER_REGISTRY_CONFIG", offline_registry_config())
        .env("ROOT", root)
        .env("BUNDLE", bundle.map(|b| b.as_os_str()).unwrap_or_default())
        .env("APP", APP)
        .env("OUT", out)
        .env("PORT", free_port().to_string())
        .env("FIRST", EMBEDDED[0])
        .env("IMAGES", EMBEDDED.join(" "));
    let run: Run = cmd.output().expect("spawn sh").into();
    let run = run.ok();
    eprintln!("{}", run.stderr);
    let mut seen = Seen {
        manifests: Vec::new(),
        blobs: Vec::new(),
    };
    for n in 0..EMBEDDED.len() {
        seen.manifests
            .push(std::fs::read_to_string(out.join(format!("raw-{n}.json"))).unwrap());
        let mut blobs: Vec<String> = std::fs::read_dir(out.join(format!("copy-{n}/blobs/sha256")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        blobs.sort();
        seen.blobs.push(blobs);
    }
    seen
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn loaded_offline_bundle_serves_the_embedded_registry_identically() {
    if !(have("docker-registry") && have("skopeo")) {
        eprintln!("SKIP: needs docker-registry and skopeo");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (mut upstream, addr) = docker_registry(&w.join("upstream"), false, &w.join("logs"));
    let mut upstream_digests = Vec::new();
    for image in EMBEDDED {
        let path = image.trim_start_matches("docker.io/");
        upstream_digests.push(publish(w, &format!("{addr}/{path}"), image));
    }
    let ctx = w.join("ctx");
    write_files(
        &ctx,
        &[
            ("Kubefile", "FROM scratch\nCOPY imageList manifests/\n"),
            ("imageList", &EMBEDDED.join("\n")),
        ],
    );
    let src = w.join("src");
    let endpoint = format!("docker.io=http://{addr}");
    sealer(
        &src,
        &[
            "build",
            "--cluster",
            "none",
            "--registry-endpoint",
            &endpoint,
            "-t",
            APP,
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    upstream.stop();

    // The connected side: what its own store serves.
    let here = serve_and_read(&src, None, &w.join("read-src"), false);
    for (n, digest) in upstream_digests.iter().enumerate() {
        assert_eq!(
            format!("sha256:{}", sha256_hex(here.manifests[n].as_bytes())),
            *digest,
            "{} is served with its upstream digest",
            EMBEDDED[n]
        );
    }

    // Save in volumes, move them as onto removable media, load offline, serve, read.
    let out = w.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let bundle = out.join("site.tar.zst");
    sealer(
        &src,
        &[
            "save",
            "-o",
            bundle.to_str().unwrap(),
            "--split",
            "1024",
            APP,
        ],
    )
    .ok();
    let media = w.join("media");
    std::fs::rename(&out, &media).unwrap();
    let volumes = std::fs::read_dir(&media).unwrap().count();
    assert!(volumes > 2, "the bundle was split: {volumes} files");
    let cut = can_cut_network();
    let site = w.join("site");
    let there = serve_and_read(
        &site,
        Some(&media.join("site.tar.zst.000")),
        &w.join("read-site"),
        cut,
    );
    assert_eq!(
        std::fs::read_to_string(w.join("read-site/load.out"))
            .unwrap()
            .trim(),
        format!("docker.io/{APP}")
    );
    let inspected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.join("read-site/inspect.json")).unwrap())
            .unwrap();
    assert_eq!(inspected, inspect(&src, APP), "inspect matches at the site");
    assert_eq!(there, here, "the site serves the same manifests and blobs");
}
