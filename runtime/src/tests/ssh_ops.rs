//! Unit tests of `ssh::ops`.

use super::*;

#[test]
fn quoting() {
    assert_eq!("a b".sq(), "'a b'");
    assert_eq!("it's".sq(), r"'it'\''s'");
}
