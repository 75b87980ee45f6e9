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
