use sealer_image_cache::sealer_meta::Platform;
use sealer_solver::graph::{CopyOp, Op, Vertex};

use crate::{CompileOptions, Compiled, Diagnostic, MemBaseImages, MemContext, compile};

pub fn opts() -> CompileOptions {
    CompileOptions {
        platform: Platform::parse("linux/amd64").unwrap(),
        ..CompileOptions::default()
    }
}

pub fn ok_with(
    src: &str,
    ctx: &MemContext,
    opts: &CompileOptions,
    base: &MemBaseImages,
) -> Compiled {
    match compile(src, opts, ctx, base) {
        Ok(c) => {
            c.definition.graph.validate().unwrap();
            c
        }
        Err(e) => panic!("unexpected error: {e}\n{e:?}"),
    }
}

pub fn ok(src: &str, ctx: &MemContext) -> Compiled {
    ok_with(src, ctx, &opts(), &MemBaseImages::new())
}

pub fn err_with(src: &str, ctx: &MemContext, opts: &CompileOptions) -> Diagnostic {
    match compile(src, opts, ctx, &MemBaseImages::new()) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e,
    }
}

/// Compile, expect an error at `line:col` whose message contains `msg`.
pub fn assert_err(src: &str, ctx: &MemContext, line: usize, col: usize, msg: &str) -> Diagnostic {
    let e = err_with(src, ctx, &opts());
    assert_eq!(
        (e.line(), e.column()),
        (line, col),
        "wrong position for {:?}",
        e.to_string()
    );
    assert!(
        e.message().contains(msg),
        "message {:?} lacks {msg:?}",
        e.message()
    );
    assert!(!e.is_warning());
    assert!(e.help_text().is_some(), "no help for {e}");
    e
}

/// The vertices after the base, in order.
pub fn ops(c: &Compiled) -> Vec<Op> {
    c.definition
        .graph
        .vertices
        .iter()
        .map(|(_, v)| v.op.clone())
        .collect()
}

pub fn copy_ops(c: &Compiled) -> Vec<CopyOp> {
    ops(c)
        .into_iter()
        .filter_map(|op| match op {
            Op::Copy(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The output vertex.
pub fn output(c: &Compiled) -> &Vertex {
    let out = c.definition.graph.output.as_ref().unwrap();
    c.definition.graph.vertex(out).unwrap()
}

pub fn digests(c: &Compiled) -> Vec<String> {
    c.definition
        .graph
        .vertices
        .iter()
        .map(|(d, _)| d.0.clone())
        .collect()
}
