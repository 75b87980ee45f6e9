//! The `sealer` binary: argument parsing, dispatch, and error reporting.

mod adapters;
mod args;
mod build;
mod bundle_cmds;
mod cache_io;
mod cluster_cmds;
mod explain;
mod fetch;
mod image_provider;
mod images;
mod snapshots;

mod observe;
mod progress;
mod registry;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use std::path::PathBuf;
use std::process::ExitCode;

fn default_root() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    if is_root {
        return PathBuf::from("/var/lib/sealer");
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(data).join("sealer");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/sealer")
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let root = cli.root.clone().unwrap_or_else(default_root);
    let result = match cli.command {
        Command::Build(args) => build::run(&root, &cli.registry, args),
        Command::Images { json } => images::images(&root, json),
        Command::Inspect { name, platform } => images::inspect(&root, &name, platform.as_deref()),
        Command::Tag { source, target } => images::tag(&root, &source, &target),
        Command::Rmi { names } => images::rmi(&root, &names),
        Command::Save {
            output,
            compress,
            split,
            since,
            names,
        } => bundle_cmds::save(&root, &output, compress, split, since.as_deref(), &names),
        Command::Load { input } => bundle_cmds::load(&root, &input),
        Command::Inventory {
            output,
            registry_dir,
        } => bundle_cmds::inventory(&root, &output, registry_dir.as_deref()),
        Command::Prune { keep_cache } => images::prune(&root, keep_cache),
        Command::Fsck => images::fsck(&root),
        Command::Pull { name, platform } => {
            registry::pull(&root, &cli.registry, &name, platform.as_deref())
        }
        Command::Push { name, target } => {
            registry::push(&root, &cli.registry, &name, target.as_deref())
        }
        Command::Login {
            registry: reg,
            username,
            password,
            password_stdin,
        } => {
            let password = if password_stdin { None } else { password };
            if password.is_none() && !password_stdin {
                Err(anyhow::anyhow!("pass -p PASSWORD or --password-stdin"))
            } else {
                registry::login(&cli.registry, &reg, &username, password)
            }
        }
        Command::Logout { registry: reg } => registry::logout(&cli.registry, &reg),
        Command::Registry(registry::RegistryCommand::Serve(args)) => registry::serve(args, &root),
        Command::Cluster(cmd) => cluster_cmds::run(&root, cmd),
        Command::Version => {
            println!("sealer {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "sealer", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::FAILURE
        }
    }
}

/// Kubefile diagnostics get miette's source view; everything else the error chain.
fn report(err: &anyhow::Error) {
    if let Some(kf) = err.downcast_ref::<build::KubefileError>() {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if handler.render_report(&mut out, &kf.0).is_ok() {
            eprint!("{out}");
            return;
        }
    }
    eprintln!("error: {err:#}");
}
