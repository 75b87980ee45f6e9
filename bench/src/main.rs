//! sealer-rs benchmarks. Each prints absolute figures and ratios against a named peer measured
//! in the same run on the same data. Nothing here asserts a time.
//!
//!     cargo run --release -p sealer-bench -- build [--big-mib 1024] [--small 5000]

mod build_bench;
mod bundle_bench;
mod cache_bench;
mod cluster_bench;
mod distribute_bench;
mod registry_bench;
mod util;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        eprintln!(
            "usage: sealer-bench build|registry|cluster|bundle|cache|share|distribute [options]"
        );
        return Ok(());
    };
    match which.as_str() {
        "build" => build_bench::run(&args[1..]),
        "bundle" => bundle_bench::run(&args[1..]),
        "cache" => cache_bench::run(&args[1..]),
        // Issue 5's figures in one run: bundles, then the shared cache.
        "share" => {
            bundle_bench::run(&args[1..])?;
            cache_bench::run(&args[1..])
        }
        "distribute" => distribute_bench::run(&args[1..]),
        "registry" => registry_bench::run(&args[1..]),
        "cluster" => cluster_bench::run(&args[1..]),
        "--help" | "-h" | "help" => {
            eprintln!(
                "benchmarks: build (issue 2), registry (3), cluster (4), bundle and cache (5; `share` runs both), distribute (6)"
            );
            Ok(())
        }
        other => bail!("unknown benchmark {other:?}; try `build`"),
    }
}
