//! Unit tests of `sandbox`.

use super::*;

#[test]
fn only_bwrap_mount_setup_failures_are_retried() {
    let race = "bwrap: Can't bind mount /oldroot/ on /newroot/: Unable to apply mount flags: remount \"/newroot/tmp/x/merged\": No such file or directory";
    assert!(is_mount_setup_race(race));
    // The command itself ran and failed: never retried.
    assert!(!is_mount_setup_race(
        "rm: cannot remove 'x': No such file or directory"
    ));
    assert!(!is_mount_setup_race(&format!("mounting things\n{race}")));
    // bwrap failing for another reason (no such program) is not a race either.
    assert!(!is_mount_setup_race(
        "bwrap: execvp nope: No such file or directory"
    ));
    assert!(!is_mount_setup_race(""));
}
