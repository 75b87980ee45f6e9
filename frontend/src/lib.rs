//! The Kubefile frontend: a nom parser with `file:line:column` diagnostics (miette),
//! sealer's semantic checks, variable expansion, and lowering to the solver's
//! [`BuildDefinition`](sealer_solver::spec::BuildDefinition).
//!
//! The crate does no IO: the build context is asked through [`ContextView`] and base
//! images through [`BaseImageResolver`]. [`MemContext`] and [`MemBaseImages`] are in-memory
//! fakes for tests.
//!
//! ```
//! use sealer_frontend::{compile, CompileOptions, MemBaseImages, MemContext};
//!
//! let kubefile = "FROM scratch\nAPP myapp local://app.yaml\nLAUNCH [\"myapp\"]\n";
//! let ctx = MemContext::new().file("app.yaml");
//! let out = compile(kubefile, &CompileOptions::default(), &ctx, &MemBaseImages::new())?;
//! assert_eq!(out.definition.image.extension.launch.app_names, vec!["myapp"]);
//!
//! let bad = compile("FROM scratch\nFOO x\n", &CompileOptions::default(), &ctx, &MemBaseImages::new());
//! assert_eq!(
//!     bad.err().map(|e| e.to_string()).as_deref(),
//!     Some("Kubefile:2:1: unknown instruction \"FOO\"")
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod ast;
mod base;
mod compile;
mod context;
mod diagnostic;
mod expand;
pub mod kubeversion;
mod memcontext;
mod parser;

pub use ast::Kubefile;
pub use base::{BaseImage, BaseImageResolver, MemBaseImages};
pub use compile::{CompileOptions, Compiled, compile, compile_kubefile};
pub use context::{ContextError, ContextView, EntryKind};
pub use diagnostic::{Diagnostic, SourceFile};
pub use memcontext::MemContext;
pub use parser::parse;

#[cfg(test)]
mod tests;
