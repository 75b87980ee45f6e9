//! Lexing: continuations, comments, directives, BOM, CRLF, case-insensitivity.

use crate::ast::{Command, ExecForm, Keyword};
use crate::parse;

use super::helpers::*;
use crate::MemContext;

fn run_text(src: &str) -> String {
    let kf = parse(src, "Kubefile").unwrap();
    match &kf.instructions.last().unwrap().command {
        Command::Run {
            cmd: ExecForm::Shell(w),
            ..
        } => w.raw.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn continuations_join_lines_and_skip_comments() {
    let src = "FROM scratch\nRUN echo a \\\n# a comment inside\n    && echo b \\\n  # indented comment\n && echo c";
    assert_eq!(run_text(src), "echo a     && echo b  && echo c");
    let kf = parse(src, "Kubefile").unwrap();
    assert_eq!(kf.instructions.len(), 2);
    assert_eq!((kf.instructions[1].line, kf.instructions[1].column), (2, 1));
    assert!(kf.warnings.is_empty());
}

#[test]
fn continuation_with_trailing_blanks_and_at_eof() {
    assert_eq!(run_text("FROM scratch\nRUN a \\  \t\n b"), "a  b");
    assert_eq!(run_text("FROM scratch\nRUN a \\"), "a");
}

#[test]
fn empty_continuation_lines_warn() {
    let kf = parse("FROM scratch\nRUN a \\\n\n b", "Kubefile").unwrap();
    assert_eq!(kf.warnings.len(), 1);
    assert_eq!((kf.warnings[0].line(), kf.warnings[0].column()), (3, 1));
    let c = ok("FROM scratch\nRUN a \\\n\n b", &MemContext::new());
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn escape_directive_switches_to_backtick() {
    let src = "# escape=`\nFROM scratch\nRUN dir c:\\ `\n  && echo";
    assert_eq!(run_text(src), "dir c:\\   && echo");
    let kf = parse(src, "Kubefile").unwrap();
    assert_eq!(kf.escape, '`');
    // after the first instruction it is an ordinary comment
    let kf = parse("FROM scratch\n# escape=`\nRUN a `\n", "Kubefile").unwrap();
    assert_eq!(kf.escape, '\\');
    let e = parse("# escape=`\n# escape=\\\nFROM scratch", "Kubefile").unwrap_err();
    assert_eq!((e.line(), e.column()), (2, 10));
    // syntax= directives are accepted before escape=
    let kf = parse(
        "# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch",
        "Kubefile",
    )
    .unwrap();
    assert_eq!(kf.escape, '`');
}

#[test]
fn bom_crlf_and_blank_lines() {
    let src = "\u{feff}# comment\r\n\r\nFROM scratch\r\n\r\n  COPY a.yaml \\\r\n    manifests/\r\nKUBEVERSION 1.22 - 1.24\r\n";
    let ctx = MemContext::new().file("a.yaml");
    let c = ok(src, &ctx);
    let copies = copy_ops(&c);
    assert_eq!(copies[0].dest, "manifests/");
    assert_eq!(
        c.definition.image.labels["app.alpha.sealer.io/supported-kube-version"],
        "1.22 - 1.24"
    );
    let kf = parse(src, "Kubefile").unwrap();
    assert_eq!((kf.instructions[1].line, kf.instructions[1].column), (5, 3));
    // errors after a BOM still count columns from 1
    let e = parse("\u{feff}BAD x", "Kubefile").unwrap_err();
    assert_eq!((e.line(), e.column()), (1, 1));
}

#[test]
fn keywords_are_case_insensitive() {
    let ctx = MemContext::new().file("app.yaml");
    let lower = "from scratch\ncopy app.yaml manifests/\napp myapp local://app.yaml\nAppEnv myapp A=1\nlaunch [\"myapp\"]";
    let upper = "FROM scratch\nCOPY app.yaml manifests/\nAPP myapp local://app.yaml\nAPPENV myapp A=1\nLAUNCH [\"myapp\"]";
    let a = ok(lower, &ctx);
    let b = ok(upper, &ctx);
    assert_eq!(
        a.definition, b.definition,
        "same graph, same metadata, same history"
    );
    let kf = parse(lower, "Kubefile").unwrap();
    assert_eq!(kf.instructions[3].keyword, Keyword::AppEnv);
    assert_eq!(kf.instructions[1].text, "COPY app.yaml manifests/");
}

#[test]
fn error_columns_follow_continuations() {
    let e = parse("FROM scratch\nCMDS [\"a\", \\\n      b]", "Kubefile").unwrap_err();
    assert_eq!((e.line(), e.column()), (3, 7));
}

#[test]
fn digests_ignore_comments_whitespace_and_case() {
    let ctx = MemContext::new().files(&["app.yaml", "imageList"]);
    let plain = "FROM scratch\nCOPY app.yaml manifests/\nRUN echo hi\nCOPY imageList manifests/\n";
    let noisy = "# header\n\nfrom   scratch\n\n# copy the app\n  copy   app.yaml \\\n     manifests/\nENV UNUSED_BY_COPY=1\nrun echo hi\r\nCOPY imageList manifests/  \n# trailing";
    let a = ok(plain, &ctx);
    let b = ok(noisy, &ctx);
    // ENV changes RUN's env, so compare without it
    let noisy_no_env = noisy.replace("ENV UNUSED_BY_COPY=1\n", "");
    let c = ok(&noisy_no_env, &ctx);
    assert_eq!(digests(&a), digests(&c));
    assert_eq!(digests(&a)[..2], digests(&b)[..2]);
    assert_ne!(
        digests(&a)[2],
        digests(&b)[2],
        "RUN's env is part of its identity"
    );
    let different = ok(
        "FROM scratch\nCOPY app.yaml manifest/\nRUN echo hi\nCOPY imageList manifests/\n",
        &ctx,
    );
    assert_ne!(digests(&a)[1], digests(&different)[1]);
    assert_ne!(
        digests(&a)[3],
        digests(&different)[3],
        "a changed input changes every later digest"
    );
}
