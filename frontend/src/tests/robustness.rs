//! The parser and compiler never panic, whatever the input (a dependency-free random
//! fuzz loop over Kubefile-ish fragments).

use crate::kubeversion::KubeVersionRange;
use crate::{MemBaseImages, MemContext, compile, parse};

use super::helpers::opts;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "FROM",
    "scratch",
    "COPY",
    "ADD",
    "RUN",
    "ARG",
    "ENV",
    "LABEL",
    "APP",
    "APPCMDS",
    "APPENV",
    "LAUNCH",
    "CMDS",
    "CMD",
    "CNI",
    "CSI",
    "KUBEVERSION",
    "MAINTAINER",
    "app.yaml",
    "dir",
    "local://",
    "https://h/x.sh",
    "[",
    "]",
    "\"",
    "'",
    ",",
    "=",
    "$",
    "${",
    "}",
    ":-",
    ":+",
    ":?",
    "\\",
    "`",
    "\n",
    "\r\n",
    " ",
    "\t",
    "#",
    "# escape=`",
    "--chown=1",
    "--platform=linux/arm64",
    "--network=none",
    "..",
    "/",
    "*",
    "?",
    "[a-",
    "é",
    "\u{feff}",
    "x",
    "1.22",
    ">=",
    "||",
    " - ",
    "~",
    "^",
    "v",
    "\"a\"",
    "[\"a\"]",
    "A=1",
    "\0",
    "🦀",
];

#[test]
fn random_inputs_never_panic() {
    let ctx = MemContext::new()
        .files(&["app.yaml", "dir/a.sh", "dir/b.yaml"])
        .symlink("loop", "loop")
        .symlink("out", "../x");
    let base = MemBaseImages::new();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let n = (rng.next() % 40) as usize;
        let mut src = String::new();
        if rng.next().is_multiple_of(2) {
            src.push_str("FROM scratch\n");
        }
        for _ in 0..n {
            src.push_str(rng.pick(FRAGMENTS));
            if rng.next().is_multiple_of(3) {
                src.push(' ');
            }
        }
        let _ = parse(&src, "Kubefile");
        if let Ok(c) = compile(&src, &opts(), &ctx, &base) {
            c.definition.graph.validate().unwrap();
        }
        let _ = KubeVersionRange::parse(&src);
    }
}

#[test]
fn every_prefix_of_a_real_kubefile_is_handled() {
    let src = "# escape=\\\nARG V=1\nFROM scratch\nCOPY app.yaml \"manifests/\"\nRUN [\"sh\", \"-c\", \"echo ${V:-x}\"]\nAPP a local://app.yaml\nAPPENV a K=\"v w\"\nKUBEVERSION >=1.22 <1.26 || 1.30.x\nLAUNCH [\"a\"]\n";
    let ctx = MemContext::new().file("app.yaml");
    for (i, _) in src.char_indices() {
        let _ = compile(&src[..i], &opts(), &ctx, &MemBaseImages::new());
    }
    assert!(compile(src, &opts(), &ctx, &MemBaseImages::new()).is_ok());
}
