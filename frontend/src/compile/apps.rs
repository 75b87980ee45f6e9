//! APP / CNI / CSI / APPCMDS / APPENV / LAUNCH and app type detection.

use sealer_image_cache::sealer_meta::{AppType, Application};
use sealer_solver::graph::{CopyOp, CopySource, Op};

use super::Compiler;
use super::fs::is_url;
use crate::ast::{AppDecl, Instruction, KeyValue, Span, Word};
use crate::context::{self, EntryKind};
use crate::diagnostic::{Diagnostic, SourceFile};

/// Where apps land in the rootfs.
pub const APP_ROOT: &str = "application/apps";

struct Entry {
    app: Application,
    /// Span of the APP name if defined in this Kubefile.
    defined_at: Option<Span>,
    cmds_set: bool,
}

/// Known apps: inherited from the base image, then defined here.
#[derive(Default)]
pub(crate) struct Apps {
    list: Vec<Entry>,
}

impl Apps {
    pub fn inherit(&mut self, apps: &[Application]) {
        for app in apps {
            self.list.push(Entry {
                cmds_set: !app.cmds.is_empty(),
                app: app.clone(),
                defined_at: None,
            });
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.list.iter_mut().find(|e| e.app.name == name)
    }

    fn names(&self) -> String {
        if self.list.is_empty() {
            return "none".to_string();
        }
        self.list
            .iter()
            .map(|e| e.app.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// sealer: an app without a detectable type needs APPCMDS.
    pub fn check_all_have_type_or_cmds(&self, file: &SourceFile) -> Result<(), Diagnostic> {
        for e in &self.list {
            if let Some(span) = e.defined_at
                && e.app.app_type == AppType::Unknown
                && !e.cmds_set
            {
                return Err(untyped_error(file, span, &e.app.name));
            }
        }
        Ok(())
    }

    pub fn into_applications(self) -> Vec<Application> {
        self.list.into_iter().map(|e| e.app).collect()
    }
}

fn untyped_error(file: &SourceFile, span: Span, name: &str) -> Diagnostic {
    file.error(span, format!("app {name:?} has no detectable type and no APPCMDS"))
        .with_help(format!(
            "add `APPCMDS {name} [\"<command>\"]`, or give the app only .yaml/.yml files (kube), only .sh files (shell) or a Helm chart"
        ))
}

/// One source of an app, as far as type detection is concerned.
enum Input {
    /// A file (local or URL) landing as `name`.
    File(String),
    /// A local directory whose contents land in the app dir.
    Dir { path: String, files: Vec<String> },
}

fn file_type(name: &str) -> AppType {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".sh") {
        AppType::Shell
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        AppType::Kube
    } else {
        AppType::Unknown
    }
}

impl Compiler<'_> {
    fn is_helm(&self, inputs: &[Input]) -> bool {
        let mut root_names: Vec<&str> = Vec::new();
        for input in inputs {
            match input {
                Input::File(name) => root_names.push(name),
                Input::Dir { path, files } => {
                    let has = |n: &str| self.ctx.stat(&join(path, n)).is_ok();
                    if has("Chart.yaml") && has("values.yaml") && has("templates") {
                        return true;
                    }
                    for f in files {
                        root_names.push(f.split('/').next().unwrap_or(f));
                    }
                }
            }
        }
        ["Chart.yaml", "values.yaml", "templates"]
            .iter()
            .all(|n| root_names.contains(n))
    }

    /// sealer's rules: helm chart → helm; all .yaml/.yml → kube; all .sh → shell; else "".
    fn detect(&self, name: &str, inputs: &[Input]) -> (AppType, Vec<String>) {
        if self.is_helm(inputs) {
            return (AppType::Helm, vec![name.to_string()]);
        }
        let per_input: Vec<Vec<String>> = inputs
            .iter()
            .map(|i| match i {
                Input::File(n) => vec![n.clone()],
                Input::Dir { files, .. } => files.clone(),
            })
            .collect();
        let types: Vec<AppType> = per_input.iter().flatten().map(|f| file_type(f)).collect();
        let app_type = if types.is_empty() || types.contains(&AppType::Unknown) {
            AppType::Unknown
        } else if types.iter().all(|t| *t == AppType::Shell) {
            AppType::Shell
        } else if types.iter().all(|t| *t == AppType::Kube) {
            AppType::Kube
        } else {
            AppType::Unknown
        };
        let files = match app_type {
            AppType::Unknown | AppType::Helm => Vec::new(),
            // sealer launches a shell app from its first source only
            AppType::Shell => per_input.into_iter().next().unwrap_or_default(),
            AppType::Kube => per_input.into_iter().flatten().collect(),
        };
        (app_type, files)
    }

    pub(super) fn app(
        &mut self,
        ins: &Instruction,
        decl: &AppDecl,
        label_prefix: Option<&str>,
    ) -> Result<(), Diagnostic> {
        let kw = ins.keyword.as_str();
        let name = decl.name.raw.clone();
        let mut sources = Vec::with_capacity(decl.sources.len());
        let mut inputs = Vec::with_capacity(decl.sources.len());
        for word in &decl.sources {
            let text = self.expand(word)?;
            if let Some(path) = text.strip_prefix("local://") {
                let local = self.local_source(&format!("{kw} source"), path, word.span)?;
                for (p, kind) in &local.matches {
                    inputs.push(match kind {
                        EntryKind::File => Input::File(context::basename(p).to_string()),
                        EntryKind::Dir => Input::Dir {
                            path: p.clone(),
                            files: self.ctx.list_files(p).map_err(|e| {
                                self.error(word.span, format!("cannot list {kw} source {p:?}: {e}"))
                            })?,
                        },
                    });
                }
                sources.push(CopySource::Context { path: local.path });
            } else if is_url(&text) {
                let file = url_file_name(&text);
                if file.is_empty() {
                    return Err(self
                        .error(word.span, format!("cannot tell the file name of {text:?}"))
                        .with_help(
                            "use a URL whose path ends in a file name, e.g. https://host/app.yaml",
                        ));
                }
                inputs.push(Input::File(file));
                sources.push(CopySource::Url { url: text });
            } else {
                return Err(self
                    .error(word.span, format!("{kw} source {text:?} has no scheme"))
                    .with_help("prefix local files with local:// (e.g. local://app.yaml) or use an http:// or https:// URL"));
            }
        }
        let (app_type, files) = self.detect(&name, &inputs);
        self.push_vertex(
            ins,
            Op::Copy(CopyOp {
                sources,
                dest: format!("{APP_ROOT}/{name}/"),
                extract_archives: false,
            }),
        );
        let app = Application {
            name: name.clone(),
            app_type,
            files,
            ..Application::default()
        };
        let entry = Entry {
            app,
            defined_at: Some(decl.name.span),
            cmds_set: false,
        };
        match self.apps.get_mut(&name) {
            Some(old) => {
                if old.defined_at.is_some() {
                    self.warnings.push(
                        self.kf
                            .source
                            .warning(decl.name.span, format!("app {name:?} is defined again; this definition replaces the earlier one"))
                            .with_help("the files of the earlier definition stay in the image; use one APP per app"),
                    );
                }
                *old = entry;
            }
            None => self.apps.list.push(entry),
        }
        if let Some(prefix) = label_prefix {
            self.labels
                .insert(format!("{prefix}{name}"), "true".to_string());
        }
        Ok(())
    }

    fn unknown_app(&self, word: &Word, what: &str) -> Diagnostic {
        self.error(
            word.span,
            format!("unknown app {:?} in {what}", word.raw.trim()),
        )
        .with_help(format!(
            "define it earlier with `APP {} local://<path>` (known apps: {})",
            word.raw.trim(),
            self.apps.names()
        ))
    }

    pub(super) fn appcmds(&mut self, app: &Word, cmds: &[Word]) -> Result<(), Diagnostic> {
        let err = self.unknown_app(app, "APPCMDS");
        let entry = self.apps.get_mut(&app.raw).ok_or(err)?;
        entry.app.cmds = cmds.iter().map(|w| w.raw.clone()).collect();
        entry.cmds_set = true;
        Ok(())
    }

    pub(super) fn appenv(&mut self, app: &Word, pairs: &[KeyValue]) -> Result<(), Diagnostic> {
        if self.apps.get_mut(&app.raw).is_none() {
            return Err(self.unknown_app(app, "APPENV"));
        }
        let mut values = Vec::with_capacity(pairs.len());
        for kv in pairs {
            values.push((self.expand(&kv.key)?, self.expand(&kv.value)?));
        }
        if let Some(entry) = self.apps.get_mut(&app.raw) {
            entry.app.env.extend(values);
        }
        Ok(())
    }

    pub(super) fn launch_apps(&mut self, names: &[Word]) -> Result<(), Diagnostic> {
        let mut launched = Vec::with_capacity(names.len());
        for word in names {
            let name = word.raw.trim();
            let Some(entry) = self.apps.list.iter().find(|e| e.app.name == name) else {
                return Err(self.unknown_app(word, "LAUNCH"));
            };
            if entry.app.app_type == AppType::Unknown && !entry.cmds_set {
                return Err(untyped_error(&self.kf.source, word.span, name));
            }
            launched.push(name.to_string());
        }
        self.launch.app_names = launched;
        Ok(())
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The last path segment of a URL (query and fragment removed).
fn url_file_name(url: &str) -> String {
    let no_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = no_scheme.split(['?', '#']).next().unwrap_or_default();
    match path.split_once('/') {
        Some((_host, p)) => p.rsplit('/').next().unwrap_or_default().to_string(),
        None => String::new(),
    }
}
