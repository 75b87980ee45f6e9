//! Unit tests of `overlay::mount`.

use super::*;

#[test]
fn lower_budget_respects_page() {
    let fixed =
        "upperdir=../mounts/1234-1-abcdef01/upper,workdir=../mounts/1234-1-abcdef01/work,".len();
    let n = max_lowers(64, fixed);
    let lowers: Vec<String> = (0..n).map(|i| format!("{i:064}")).collect();
    let o = options(
        &lowers,
        "../mounts/1234-1-abcdef01/upper",
        "../mounts/1234-1-abcdef01/work",
    );
    assert!(o.len() + SAFE_EXTRAS.len() <= MAX_OPTIONS, "{}", o.len());
    let more: Vec<String> = (0..=n).map(|i| format!("{i:064}")).collect();
    let o = options(
        &more,
        "../mounts/1234-1-abcdef01/upper",
        "../mounts/1234-1-abcdef01/work",
    );
    assert!(o.len() + SAFE_EXTRAS.len() > MAX_OPTIONS);
    assert!(n > 50, "{n}");
}
