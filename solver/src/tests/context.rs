//! Unit tests of `context`.

use super::*;

#[test]
fn refuses_escapes_and_resolves_inside() {
    let dir = tempfile::tempdir().unwrap();
    let ctx_root = dir.path().join("ctx");
    std::fs::create_dir_all(ctx_root.join("sub")).unwrap();
    std::fs::write(ctx_root.join("sub/a.yaml"), "a").unwrap();
    std::fs::write(dir.path().join("secret"), "s").unwrap();
    std::os::unix::fs::symlink("../secret", ctx_root.join("out")).unwrap();
    std::os::unix::fs::symlink("sub/a.yaml", ctx_root.join("in")).unwrap();
    let ctx = LocalContext::new(&ctx_root).unwrap();
    assert!(ctx.resolve("sub/a.yaml").is_ok());
    assert!(ctx.resolve("in").is_ok());
    assert!(matches!(
        ctx.resolve("out"),
        Err(ContextPathError::Escapes { .. })
    ));
    assert!(matches!(
        ctx.resolve("../secret"),
        Err(ContextPathError::Escapes { .. })
    ));
    assert!(matches!(
        ctx.resolve("/etc/passwd"),
        Err(ContextPathError::Escapes { .. })
    ));
    assert!(matches!(
        ctx.resolve("nope"),
        Err(ContextPathError::NotFound { .. })
    ));
    assert_eq!(ctx.expand("sub/*.yaml").unwrap(), vec!["sub/a.yaml"]);
    assert!(ctx.expand("*.none").is_err());
}
