//! Semantic errors (and the undefined-variable warning) at their exact line and column.

use super::helpers::*;
use crate::MemContext;

fn none() -> MemContext {
    MemContext::new()
}

fn apps() -> MemContext {
    MemContext::new().files(&[
        "app.yaml",
        "install.sh",
        "mixed/a.yaml",
        "mixed/b.sh",
        "notes.txt",
    ])
}

#[test]
fn launch_and_cmds_rules() {
    let ctx = apps();
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nLAUNCH a\nCOPY app.yaml x",
        &ctx,
        3,
        1,
        "LAUNCH must be the last instruction",
    );
    assert_err(
        "FROM scratch\nCMDS [\"a\"]\nCOPY app.yaml x",
        &ctx,
        2,
        1,
        "CMDS must be the last instruction",
    );
    assert_err(
        "FROM scratch\nCMDS [\"a\"]\nCMDS [\"b\"]",
        &ctx,
        3,
        1,
        "only one CMDS may be specified",
    );
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nLAUNCH a\nLAUNCH a",
        &ctx,
        4,
        1,
        "only one LAUNCH may be specified",
    );
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nLAUNCH a\nCMDS [\"b\"]",
        &ctx,
        4,
        1,
        "LAUNCH and CMDS are mutually exclusive",
    );
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nCMD echo\nLAUNCH a",
        &ctx,
        4,
        1,
        "CMD and LAUNCH are mutually exclusive",
    );
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nLAUNCH a\nCMD echo",
        &ctx,
        4,
        1,
        "CMD and LAUNCH are mutually exclusive",
    );
    assert_err(
        "FROM scratch\nCMD echo\nCMDS [\"b\"]",
        &ctx,
        3,
        1,
        "CMD and CMDS are mutually exclusive",
    );
}

#[test]
fn unknown_apps() {
    let ctx = apps();
    let e = assert_err(
        "FROM scratch\nAPP a local://app.yaml\nAPPCMDS b [\"x\"]",
        &ctx,
        3,
        9,
        "unknown app \"b\" in APPCMDS",
    );
    assert!(e.help_text().unwrap().contains("known apps: a"));
    assert_err(
        "FROM scratch\nAPPENV nope K=V",
        &ctx,
        2,
        8,
        "unknown app \"nope\" in APPENV",
    );
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nLAUNCH [\"a\", \"nope\"]",
        &ctx,
        3,
        14,
        "unknown app \"nope\" in LAUNCH",
    );
    assert_err(
        "FROM scratch\nAPP a local://app.yaml\nLAUNCH a nope",
        &ctx,
        3,
        10,
        "unknown app \"nope\" in LAUNCH",
    );
}

#[test]
fn apps_without_type_need_appcmds() {
    let ctx = apps();
    assert_err(
        "FROM scratch\nAPP m local://mixed\nLAUNCH m",
        &ctx,
        3,
        8,
        "app \"m\" has no detectable type and no APPCMDS",
    );
    assert_err(
        "FROM scratch\nAPP m local://notes.txt\nCOPY app.yaml x",
        &ctx,
        2,
        5,
        "has no detectable type",
    );
}

#[test]
fn app_sources() {
    let ctx = apps();
    assert_err(
        "FROM scratch\nAPP a local://missing.yaml",
        &ctx,
        2,
        7,
        "APP source \"missing.yaml\" does not exist",
    );
    let e = assert_err(
        "FROM scratch\nAPP a app.yaml",
        &ctx,
        2,
        7,
        "APP source \"app.yaml\" has no scheme",
    );
    assert!(e.help_text().unwrap().contains("local://"));
    assert_err(
        "FROM scratch\nAPP a local://../x.yaml",
        &ctx,
        2,
        7,
        "points outside the build context",
    );
    assert_err("FROM scratch\nAPP a", &ctx, 2, 5, "APP a has no sources");
    assert_err(
        "FROM scratch\nAPP ../a local://app.yaml",
        &ctx,
        2,
        5,
        "invalid app name",
    );
}

#[test]
fn copy_sources() {
    let ctx = MemContext::new()
        .file("app.yaml")
        .symlink("out", "../../etc/passwd")
        .symlink("abs", "/etc/passwd")
        .dir("d")
        .symlink("d/up", "../..");
    assert_err(
        "FROM scratch\nCOPY missing.yaml x",
        &ctx,
        2,
        6,
        "COPY source \"missing.yaml\" does not exist",
    );
    assert_err(
        "FROM scratch\nCOPY ../secret x",
        &ctx,
        2,
        6,
        "points outside the build context",
    );
    assert_err(
        "FROM scratch\nCOPY /etc/passwd x",
        &ctx,
        2,
        6,
        "is an absolute path",
    );
    assert_err(
        "FROM scratch\nCOPY out x",
        &ctx,
        2,
        6,
        "symlink that resolves outside",
    );
    assert_err(
        "FROM scratch\nCOPY abs x",
        &ctx,
        2,
        6,
        "symlink that resolves outside",
    );
    assert_err(
        "FROM scratch\nCOPY d/up/x x",
        &ctx,
        2,
        6,
        "symlink that resolves outside",
    );
    assert_err(
        "FROM scratch\nCOPY *.json x/",
        &ctx,
        2,
        6,
        "no file in the build context matches",
    );
    assert_err(
        "FROM scratch\nCOPY app.yaml",
        &ctx,
        2,
        6,
        "needs at least one source and a destination",
    );
    assert_err(
        "FROM scratch\nCOPY",
        &ctx,
        2,
        1,
        "needs at least one source and a destination",
    );
    assert_err(
        "FROM scratch\nCOPY --chown=1000 app.yaml x",
        &ctx,
        2,
        6,
        "COPY does not support the --chown flag",
    );
    assert_err(
        "FROM scratch\nCOPY app.yaml app.yaml dir",
        &ctx,
        2,
        24,
        "needs a directory destination ending in /",
    );
    assert_err(
        "FROM scratch\nCOPY app.yaml ../../x",
        &ctx,
        2,
        15,
        "points outside the rootfs",
    );
    assert_err(
        "FROM scratch\nCOPY https://x/a.yaml x",
        &ctx,
        2,
        6,
        "COPY cannot download URLs",
    );
}

#[test]
fn undefined_variables_warn() {
    let src = "ARG OLD=1\nFROM scratch\nARG VERSION\nLABEL v=${VERSION} w=$OLD x=${NOPE:-fine} y=${NOPE:+alt}";
    let c = ok(src, &none());
    let w: Vec<(usize, usize, &str)> = c
        .warnings
        .iter()
        .map(|w| (w.line(), w.column(), w.message()))
        .collect();
    assert_eq!(
        w,
        vec![
            (
                4,
                9,
                "variable VERSION is not set; it expands to an empty string"
            ),
            (
                4,
                22,
                "variable OLD is not set; it expands to an empty string"
            ),
        ]
    );
    assert!(
        c.warnings[0]
            .help_text()
            .unwrap()
            .contains("--build-arg VERSION=")
    );
    assert!(
        c.warnings[1]
            .help_text()
            .unwrap()
            .contains("declared before FROM")
    );
    assert!(c.warnings.iter().all(|w| w.is_warning()));
    let labels = &c.definition.image.labels;
    assert_eq!(
        (
            labels["v"].as_str(),
            labels["w"].as_str(),
            labels["x"].as_str(),
            labels["y"].as_str()
        ),
        ("", "", "fine", "")
    );
    assert!(
        c.warnings[0]
            .to_string()
            .starts_with("Kubefile:4:9: warning: variable VERSION")
    );
}
