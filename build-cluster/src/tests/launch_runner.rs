//! Unit tests of `launch::runner`.

use super::*;
use std::sync::Mutex;

#[tokio::test]
async fn streams_output_and_keeps_stderr_tail() {
    let seen = Mutex::new(Vec::new());
    let cb = |s: Stream, l: &str| seen.lock().unwrap().push((s, l.to_string()));
    let cmd = CommandSpec {
        program: "bash".into(),
        args: vec![
            "-c".into(),
            "echo out; for i in $(seq 1 25); do echo e$i >&2; done; echo $FOO; exit 3".into(),
        ],
        cwd: std::env::temp_dir(),
        env: vec![("FOO".into(), "bar".into())],
    };
    let o = ProcessRunner.run(&cmd, &cb).await.unwrap();
    assert!(!o.success);
    assert_eq!(o.code, Some(3));
    assert!(o.stderr_tail.starts_with("e6\n") && o.stderr_tail.ends_with("e25"));
    let seen = seen.into_inner().unwrap();
    assert!(seen.contains(&(Stream::Stdout, "out".to_string())));
    assert!(seen.contains(&(Stream::Stdout, "bar".to_string())));
    assert_eq!(cmd.display(), format!("bash -c {}", cmd.args[1]));
}
