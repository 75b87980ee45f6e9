use super::*;
use crate::ssh::{HostConnector, HostSpec, LocalConnector, LocalHostConfig};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("etc/empty")).unwrap();
    std::fs::write(root.join("bin/tool"), b"#!/bin/sh\necho tool\n").unwrap();
    std::fs::set_permissions(
        root.join("bin/tool"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(root.join("etc/a.yaml"), b"a: 1\n").unwrap();
    std::fs::write(root.join("big"), vec![7u8; 3 * 1024 * 1024 + 17]).unwrap();
    std::fs::write(root.join("with space"), b"x").unwrap();
    std::os::unix::fs::symlink("bin/tool", root.join("link")).unwrap();
}

async fn host(dir: &Path) -> Arc<dyn Host> {
    let c = LocalConnector::new();
    let ip = "10.1.1.1".parse().unwrap();
    c.add_host(
        ip,
        LocalHostConfig {
            root: dir.to_path_buf(),
            ..Default::default()
        },
    );
    let spec = HostSpec {
        ip,
        port: 22,
        credentials: Default::default(),
    };
    c.connect(&spec).await.unwrap()
}

fn same(a: &Path, b: &Path) {
    let (ma, mb) = (Manifest::scan(a).unwrap(), Manifest::scan(b).unwrap());
    assert_eq!(ma.entries, mb.entries);
}

#[tokio::test]
async fn sends_only_what_is_missing() {
    let src = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    tree(src.path());
    let m = Arc::new(Manifest::scan(src.path()).unwrap());
    let h = host(remote.path()).await;
    let dest = remote.path().join("rootfs");
    let dest = dest.to_str().unwrap();
    let t = Duration::from_secs(60);

    let first = distribute(&*h, dest, &m, &Overlay::default(), t)
        .await
        .unwrap();
    assert_eq!((first.files, first.files_sent), (4, 4));
    assert!(first.bytes_sent > 3 * 1024 * 1024);
    same(src.path(), Path::new(dest));

    let again = distribute(&*h, dest, &m, &Overlay::default(), t)
        .await
        .unwrap();
    assert_eq!(again.bytes_sent, 0, "nothing changed, nothing moves");

    // A cut transfer: one file truncated, one missing, the symlink gone.
    std::fs::write(Path::new(dest).join("big"), b"partial").unwrap();
    std::fs::remove_file(Path::new(dest).join("etc/a.yaml")).unwrap();
    std::fs::remove_file(Path::new(dest).join("link")).unwrap();
    let resumed = distribute(&*h, dest, &m, &Overlay::default(), t)
        .await
        .unwrap();
    assert_eq!(resumed.files_sent, 2);
    assert!(resumed.bytes_sent < first.bytes_sent);
    same(src.path(), Path::new(dest));
}

#[tokio::test]
async fn overlay_replaces_files_without_touching_the_source() {
    let src = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    tree(src.path());
    let m = Arc::new(Manifest::scan(src.path()).unwrap());
    let h = host(remote.path()).await;
    let dest = remote.path().join("r");
    let dest = dest.to_str().unwrap();
    let mut ov = Overlay::default();
    ov.files
        .insert("etc/a.yaml".into(), (b"a: 2\n".to_vec(), 0o600));
    ov.files
        .insert("etc/new/b".into(), (b"new".to_vec(), 0o644));
    distribute(&*h, dest, &m, &ov, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(Path::new(dest).join("etc/a.yaml")).unwrap(),
        b"a: 2\n"
    );
    assert_eq!(
        std::fs::read(Path::new(dest).join("etc/new/b")).unwrap(),
        b"new"
    );
    assert_eq!(
        std::fs::read(src.path().join("etc/a.yaml")).unwrap(),
        b"a: 1\n"
    );
    let again = distribute(&*h, dest, &m, &ov, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(again.bytes_sent, 0);
}

async fn hosts(dirs: &[&Path]) -> Vec<Arc<dyn Host>> {
    let c = LocalConnector::new();
    let mut out = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let ip = format!("10.1.1.{}", i + 1).parse().unwrap();
        c.add_host(
            ip,
            LocalHostConfig {
                root: dir.to_path_buf(),
                ..Default::default()
            },
        );
        let spec = HostSpec {
            ip,
            port: 22,
            credentials: Default::default(),
        };
        out.push(c.connect(&spec).await.unwrap());
    }
    out
}

#[tokio::test]
async fn many_hosts_share_one_read_and_each_gets_its_own_overlay() {
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    // Names and link targets past the 100 bytes of a tar header need GNU long-name entries.
    let long_dir = format!("deep/{}", "d".repeat(90));
    std::fs::create_dir_all(src.path().join(&long_dir)).unwrap();
    std::fs::write(
        src.path().join(&long_dir).join("file-with-a-long-name"),
        b"deep",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        format!("/{}/target", "t".repeat(120)),
        src.path().join("long-link"),
    )
    .unwrap();
    let m = Arc::new(Manifest::scan(src.path()).unwrap());
    let remotes: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let dirs: Vec<&Path> = remotes.iter().map(|d| d.path()).collect();
    let hs = hosts(&dirs).await;
    let dest = |i: usize| dirs[i].join("rootfs").to_str().unwrap().to_string();
    let t = Duration::from_secs(60);
    // Host 2 already has everything; hosts 0 and 1 are fresh.
    distribute(&*hs[2], &dest(2), &m, &Overlay::default(), t)
        .await
        .unwrap();
    let targets: Vec<Target> = (0..3)
        .map(|i| {
            let mut overlay = Overlay::default();
            if i < 2 {
                let body = format!("host {i}\n").into_bytes();
                overlay.files.insert("etc/host.conf".into(), (body, 0o640));
            }
            Target {
                host: hs[i].clone(),
                dest: dest(i),
                overlay,
            }
        })
        .collect();
    let stats: Vec<DistributeStats> = distribute_all(&targets, &m, t)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stats[0].files_sent, stats[0].files);
    assert_eq!(
        stats[0].bytes_sent, stats[1].bytes_sent,
        "same tree, same-size tail"
    );
    assert_eq!(stats[2].bytes_sent, 0, "a complete host gets nothing");
    for i in 0..2 {
        let got = Path::new(&dest(i)).join("etc/host.conf");
        assert_eq!(
            std::fs::read(&got).unwrap(),
            format!("host {i}\n").as_bytes()
        );
        let mode = std::fs::metadata(&got).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        std::fs::remove_file(got).unwrap();
    }
    for i in 0..3 {
        same(src.path(), Path::new(&dest(i)));
    }
    // Everything is in place: nothing moves anywhere.
    let again: Vec<u64> = distribute_all(&targets, &m, t)
        .await
        .into_iter()
        .map(|r| r.unwrap().bytes_sent)
        .collect();
    assert_eq!(again[2], 0);
    assert!(again[0] > 0, "the removed overlay file is sent again");
    assert!(again[0] < 4096, "and only it: {}", again[0]);
}

#[tokio::test]
async fn a_local_read_error_fails_every_host_of_the_stream() {
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    let m = Arc::new(Manifest::scan(src.path()).unwrap());
    std::fs::remove_file(src.path().join("etc/a.yaml")).unwrap();
    let remotes: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let dirs: Vec<&Path> = remotes.iter().map(|d| d.path()).collect();
    let hs = hosts(&dirs).await;
    let targets: Vec<Target> = (0..2)
        .map(|i| Target {
            host: hs[i].clone(),
            dest: dirs[i].join("r").to_str().unwrap().to_string(),
            overlay: Overlay::default(),
        })
        .collect();
    for r in distribute_all(&targets, &m, Duration::from_secs(60)).await {
        let e = r.unwrap_err().to_string();
        assert!(e.contains("a.yaml"), "{e}");
    }
}
