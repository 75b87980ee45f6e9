//! Unit tests of `layout`.

use super::*;

#[test]
fn env_command_quotes_everything() {
    let env = BTreeMap::from([("etcd-dir".to_string(), "/data/it's".to_string())]);
    let c = env_command("/r", Some("/r/bin"), &env, "echo $X");
    assert_eq!(
        c,
        r#"cd '/r' && export PATH='/r/bin':"$PATH" && exec env 'etcd-dir=/data/it'\''s' sh -c 'echo $X'"#
    );
}
