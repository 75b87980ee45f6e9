//! Unit tests of `build::lock`.

use super::*;

#[test]
fn lock_path_and_round_trip() {
    assert_eq!(
        path_for(Path::new("/x/Kubefile")),
        PathBuf::from("/x/Kubefile.lock")
    );
    assert_eq!(
        path_for(Path::new("/x/app.kf")),
        PathBuf::from("/x/app.kf.lock")
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Kubefile.lock");
    assert_eq!(load(&p).unwrap(), None);
    let mut lock = Lockfile {
        version: 1,
        ..Default::default()
    };
    lock.images
        .entry("linux/amd64".into())
        .or_default()
        .insert("docker.io/library/nginx:1.25".into(), "sha256:ab".into());
    save(&p, &lock).unwrap();
    assert_eq!(load(&p).unwrap(), Some(lock));
    std::fs::write(&p, "{").unwrap();
    assert!(
        load(&p)
            .unwrap_err()
            .to_string()
            .contains("not a valid lockfile")
    );
}
