//! Filesystem instructions: FROM, COPY, ADD, RUN, and the checks on context sources.

use sealer_image_cache::sealer_meta::Platform;
use sealer_solver::graph::{CopyOp, CopySource, Network, Op, RunOp};

use super::Compiler;
use crate::ast::{ExecForm, Instruction, Span, Word};
use crate::context::{self, ContextError, EntryKind, PathProblem};
use crate::diagnostic::Diagnostic;

/// A checked local source.
pub(crate) struct LocalSource {
    /// Normalized context path (or pattern).
    pub path: String,
    /// What it is (a pattern counts as its matches).
    pub matches: Vec<(String, EntryKind)>,
}

pub(crate) fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

impl Compiler<'_> {
    pub(super) fn from(
        &mut self,
        ins: &Instruction,
        platform: Option<&Word>,
        image: &Word,
    ) -> Result<(), Diagnostic> {
        let platform = match platform {
            Some(w) => {
                let text = self.expand(w)?;
                Platform::parse(&text).map_err(|e| {
                    self.error(w.span, e)
                        .with_help("write --platform=linux/amd64 or --platform=linux/arm64")
                })?
            }
            None => self.opts.platform.clone(),
        };
        let reference = self.expand(image)?;
        if reference.is_empty() {
            return Err(self
                .error(
                    image.span,
                    "FROM image reference is empty after variable expansion",
                )
                .with_help("set the variable with --build-arg or give the ARG a default"));
        }
        if reference.eq_ignore_ascii_case("scratch") {
            self.scope.enter_stage(&Default::default());
            self.push_vertex(ins, Op::Scratch);
            return Ok(());
        }
        let resolved = self.base.resolve(&reference, &platform).map_err(|e| {
            self.error(
                image.span,
                format!("cannot resolve base image {reference:?}: {e}"),
            )
            .with_help("check the image name, or pull/build it first")
        })?;
        self.scope.enter_stage(&resolved.env);
        self.env = resolved.env.clone();
        self.labels = resolved.labels.clone();
        self.ext_env = resolved.extension.env.clone();
        self.apps.inherit(&resolved.extension.applications);
        self.base_ref = Some(reference.clone());
        self.push_vertex(
            ins,
            Op::Image {
                reference,
                platform,
            },
        );
        Ok(())
    }

    /// Lexically check a local source and look it up in the context.
    pub(super) fn local_source(
        &self,
        what: &str,
        path: &str,
        span: Span,
    ) -> Result<LocalSource, Diagnostic> {
        let normalized = context::normalize_source(path).map_err(|p| match p {
            PathProblem::Empty => self
                .error(span, format!("{what} path is empty"))
                .with_help("name a file or directory of the build context"),
            PathProblem::Absolute => self
                .error(span, format!("{what} {path:?} is an absolute path"))
                .with_help(
                    "sources are relative to the build context directory: drop the leading /",
                ),
            PathProblem::Escapes => {
                self.error(
                    span,
                    format!("{what} {path:?} points outside the build context"),
                )
                .with_help("only files inside the build context can be used: move the file into it")
            }
        })?;
        let context_error = |e: ContextError, shown: &str| match e {
            ContextError::NotFound => self
                .error(
                    span,
                    format!("{what} {shown:?} does not exist in the build context"),
                )
                .with_help("check the path; it is relative to the build context directory"),
            ContextError::EscapesContext => self
                .error(
                    span,
                    format!(
                        "{what} {shown:?} is a symlink that resolves outside the build context"
                    ),
                )
                .with_help("replace the symlink by the file, or point it inside the build context"),
            ContextError::Io(msg) => {
                self.error(span, format!("cannot read {what} {shown:?}: {msg}"))
            }
        };
        if context::is_pattern(&normalized) {
            let found = self
                .ctx
                .glob(&normalized)
                .map_err(|e| context_error(e, &normalized))?;
            if found.is_empty() {
                return Err(self
                    .error(
                        span,
                        format!("no file in the build context matches {normalized:?}"),
                    )
                    .with_help(
                        "check the pattern; it is relative to the build context directory",
                    ));
            }
            let mut matches = Vec::with_capacity(found.len());
            for m in found {
                let kind = self.ctx.stat(&m).map_err(|e| context_error(e, &m))?;
                matches.push((m, kind));
            }
            return Ok(LocalSource {
                path: normalized,
                matches,
            });
        }
        let kind = self
            .ctx
            .stat(&normalized)
            .map_err(|e| context_error(e, &normalized))?;
        Ok(LocalSource {
            matches: vec![(normalized.clone(), kind)],
            path: normalized,
        })
    }

    pub(super) fn dest(&mut self, word: &Word) -> Result<String, Diagnostic> {
        let text = self.expand(word)?;
        context::normalize_dest(&text).map_err(|p| match p {
            PathProblem::Escapes => self
                .error(
                    word.span,
                    format!("destination {text:?} points outside the rootfs"),
                )
                .with_help("destinations are relative to the rootfs root; remove the `..`"),
            _ => self
                .error(word.span, "destination is empty")
                .with_help("name a path inside the rootfs, e.g. manifests/"),
        })
    }

    pub(super) fn copy(
        &mut self,
        ins: &Instruction,
        sources: &[Word],
        dest: &Word,
        add: bool,
    ) -> Result<(), Diagnostic> {
        let kw = ins.keyword.as_str();
        let mut out = Vec::with_capacity(sources.len());
        let mut count = 0;
        for word in sources {
            let text = self.expand(word)?;
            if is_url(&text) {
                if !add {
                    return Err(self
                        .error(word.span, "COPY cannot download URLs")
                        .with_help(format!("use ADD {text} <dest> to download a file")));
                }
                count += 1;
                out.push(CopySource::Url { url: text });
                continue;
            }
            let local = self.local_source(&format!("{kw} source"), &text, word.span)?;
            count += local.matches.len();
            out.push(CopySource::Context { path: local.path });
        }
        let dest_path = self.dest(dest)?;
        if count > 1 && !dest_path.ends_with('/') {
            return Err(self
                .error(
                    dest.span,
                    format!("{kw} with several sources needs a directory destination ending in /"),
                )
                .with_help(format!("write the destination as {}/", dest.raw)));
        }
        self.push_vertex(
            ins,
            Op::Copy(CopyOp {
                sources: out,
                dest: dest_path,
                extract_archives: add,
            }),
        );
        Ok(())
    }

    pub(super) fn run(
        &mut self,
        ins: &Instruction,
        network: Option<Network>,
        cmd: &ExecForm,
    ) -> Result<(), Diagnostic> {
        let args = match cmd {
            ExecForm::Shell(w) => vec!["/bin/sh".to_string(), "-c".to_string(), w.raw.clone()],
            ExecForm::Json(words) => {
                if words.is_empty() {
                    return Err(self
                        .error(ins.span, "RUN needs a command")
                        .with_help("e.g. RUN [\"sh\", \"-c\", \"echo hi\"]"));
                }
                words.iter().map(|w| w.raw.clone()).collect()
            }
        };
        let env = self.scope.run_env();
        self.push_vertex(
            ins,
            Op::Run(RunOp {
                args,
                env,
                network: network.unwrap_or_default(),
            }),
        );
        Ok(())
    }
}
