//! Semantic checks and lowering of a [`Kubefile`] to a [`BuildDefinition`].

mod apps;
mod fs;
mod meta;
mod scope;
mod structure;

use sealer_image_cache::sealer_meta::{
    ImageExtension, ImageType, Launch, Platform, SCHEMA_VERSION_V1ALPHA1,
};
use sealer_solver::graph::{Definition, Location, Op, Vertex, VertexDigest, VertexInfo};
use sealer_solver::spec::{BuildDefinition, ImageSpec};
use std::collections::BTreeMap;

use crate::ast::{Command, Instruction, Kubefile, Span, Word};
use crate::base::BaseImageResolver;
use crate::context::ContextView;
use crate::diagnostic::Diagnostic;
use crate::expand;
use apps::Apps;
use scope::Scope;

/// Inputs of a compilation besides the Kubefile text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOptions {
    /// Shown in diagnostics.
    pub file_name: String,
    /// `--build-arg K=V`.
    pub build_args: BTreeMap<String, String>,
    /// Target platform (also `${ARCH}`, `${TARGETARCH}`, ...).
    pub platform: Platform,
    /// `--type`.
    pub image_type: ImageType,
    /// `--label K=V` (wins over Kubefile labels).
    pub labels: BTreeMap<String, String>,
}

impl Default for CompileOptions {
    fn default() -> CompileOptions {
        CompileOptions {
            file_name: "Kubefile".to_string(),
            build_args: BTreeMap::new(),
            platform: Platform::host(),
            image_type: ImageType::default(),
            labels: BTreeMap::new(),
        }
    }
}

/// A compiled Kubefile and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub definition: BuildDefinition,
    pub warnings: Vec<Diagnostic>,
}

/// Parse, check and lower a Kubefile.
pub fn compile(
    source: &str,
    opts: &CompileOptions,
    ctx: &dyn ContextView,
    base: &dyn BaseImageResolver,
) -> Result<Compiled, Diagnostic> {
    let kubefile = crate::parse(source, &opts.file_name)?;
    compile_kubefile(&kubefile, opts, ctx, base)
}

/// Check and lower an already parsed Kubefile.
pub fn compile_kubefile(
    kubefile: &Kubefile,
    opts: &CompileOptions,
    ctx: &dyn ContextView,
    base: &dyn BaseImageResolver,
) -> Result<Compiled, Diagnostic> {
    structure::check(kubefile)?;
    let mut c = Compiler {
        kf: kubefile,
        opts,
        ctx,
        base,
        scope: Scope::new(&opts.platform, &opts.build_args),
        graph: Definition::default(),
        fs: None,
        base_ref: None,
        env: BTreeMap::new(),
        labels: BTreeMap::new(),
        ext_env: BTreeMap::new(),
        apps: Apps::default(),
        launch: Launch::default(),
        history: Vec::new(),
        warnings: kubefile.warnings.clone(),
    };
    for ins in &kubefile.instructions {
        c.history.push(ins.text.clone());
        c.instruction(ins)?;
    }
    c.apps.check_all_have_type_or_cmds(&kubefile.source)?;
    c.finish()
}

pub(crate) struct Compiler<'a> {
    kf: &'a Kubefile,
    opts: &'a CompileOptions,
    ctx: &'a dyn ContextView,
    base: &'a dyn BaseImageResolver,
    scope: Scope,
    graph: Definition,
    /// The current root filesystem vertex.
    fs: Option<VertexDigest>,
    base_ref: Option<String>,
    env: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    ext_env: BTreeMap<String, String>,
    apps: Apps,
    launch: Launch,
    history: Vec<String>,
    warnings: Vec<Diagnostic>,
}

impl Compiler<'_> {
    fn instruction(&mut self, ins: &Instruction) -> Result<(), Diagnostic> {
        match &ins.command {
            Command::From { platform, image } => self.from(ins, platform.as_ref(), image),
            Command::Copy { sources, dest } => self.copy(ins, sources, dest, false),
            Command::Add { sources, dest } => self.copy(ins, sources, dest, true),
            Command::Run { network, cmd } => self.run(ins, *network, cmd),
            Command::Arg(decls) => self.arg(decls),
            Command::Env(pairs) => self.env(pairs),
            Command::Label(pairs) => self.label(pairs),
            Command::Maintainer(who) => {
                self.labels
                    .insert("maintainer".to_string(), who.raw.clone());
                Ok(())
            }
            Command::App(decl) => self.app(ins, decl, None),
            Command::Cni(decl) => self.app(
                ins,
                decl,
                Some(sealer_image_cache::sealer_meta::LABEL_KUBE_CNI_PREFIX),
            ),
            Command::Csi(decl) => self.app(
                ins,
                decl,
                Some(sealer_image_cache::sealer_meta::LABEL_KUBE_CSI_PREFIX),
            ),
            Command::AppCmds { app, cmds } => self.appcmds(app, cmds),
            Command::AppEnv { app, pairs } => self.appenv(app, pairs),
            Command::KubeVersion(range) => self.kubeversion(range),
            Command::Launch(names) => self.launch_apps(names),
            Command::Cmds(cmds) => {
                self.launch.cmds = cmds.iter().map(|w| w.raw.clone()).collect();
                Ok(())
            }
            Command::Cmd(form) => self.cmd(ins, form),
        }
    }

    /// Expand variables in a word; unset variables become warnings.
    fn expand(&mut self, word: &Word) -> Result<String, Diagnostic> {
        let scope = &self.scope;
        let result = expand::expand(&word.raw, word.json, self.kf.escape, &|name| {
            scope.lookup(name)
        });
        match result {
            Ok(done) => {
                for u in done.undefined {
                    let hint = self.scope.undefined_hint(&u.name);
                    self.warnings.push(
                        self.kf
                            .source
                            .warning(
                                word.span.sub(u.start, u.end - u.start),
                                format!("variable {} is not set; it expands to an empty string", u.name),
                            )
                            .with_help(hint),
                    );
                }
                Ok(done.value)
            }
            Err(e) => Err(self
                .kf
                .source
                .error(word.span.sub(e.start, e.end.saturating_sub(e.start)), e.message)
                .with_help("variable references are $NAME, ${NAME}, ${NAME:-default} or ${NAME:+alternative}")),
        }
    }

    fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.kf.source.error(span, message)
    }

    /// Add a vertex on top of the current filesystem and make it current.
    fn push_vertex(&mut self, ins: &Instruction, op: Op) {
        let inputs = self.fs.iter().cloned().collect();
        let info = VertexInfo {
            name: ins.text.clone(),
            location: Some(Location {
                file: self.kf.source.name().to_string(),
                line: ins.line,
                column: ins.column,
            }),
        };
        let digest = self.graph.add(Vertex { op, inputs }, info);
        self.fs = Some(digest);
    }

    fn finish(self) -> Result<Compiled, Diagnostic> {
        let mut labels = self.labels;
        labels.extend(self.opts.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut graph = self.graph;
        graph.output = self.fs;
        let extension = ImageExtension {
            schema_version: SCHEMA_VERSION_V1ALPHA1.to_string(),
            image_type: self.opts.image_type,
            applications: self.apps.into_applications(),
            env: self.ext_env,
            launch: self.launch,
            ..ImageExtension::default()
        };
        Ok(Compiled {
            definition: BuildDefinition {
                graph,
                image: ImageSpec {
                    base: self.base_ref,
                    platform: self.opts.platform.clone(),
                    env: self.env,
                    labels,
                    extension,
                    history: self.history,
                },
            },
            warnings: self.warnings,
        })
    }
}
