//! sealer-rs benchmarks. Each prints absolute figures and ratios against a named peer measured
//! in the same run on the same data. Nothing here asserts a time.
//!
//!     cargo run --release -p sealer-bench -- build [--big-mib 1024] [--small 5000]

mod build_bench;
mod util;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        eprintln!("usage: sealer-bench build [--big-mib N] [--small N] [--no-buildah]");
        return Ok(());
    };
    match which.as_str() {
        "build" => build_bench::run(&args[1..]),
        "--help" | "-h" | "help" => {
            eprintln!("benchmarks: build (issue 2: cold + cached build vs tar|zstd and buildah)");
            Ok(())
        }
        other => bail!("unknown benchmark {other:?}; try `build`"),
    }
}
