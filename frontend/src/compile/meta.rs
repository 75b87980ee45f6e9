//! Metadata instructions: ARG, ENV, LABEL, KUBEVERSION, CMD.

use sealer_image_cache::sealer_meta::LABEL_SUPPORTED_KUBE_VERSION;

use super::Compiler;
use crate::ast::{ArgDecl, ExecForm, Instruction, KeyValue, Word};
use crate::diagnostic::Diagnostic;
use crate::kubeversion::KubeVersionRange;

impl Compiler<'_> {
    pub(super) fn arg(&mut self, decls: &[ArgDecl]) -> Result<(), Diagnostic> {
        for d in decls {
            let default = match &d.default {
                Some(w) => Some(self.expand(w)?),
                None => None,
            };
            self.scope.declare(&d.name.raw, default);
        }
        Ok(())
    }

    /// Expand all pairs with the scope before the line (like Docker), then apply.
    fn pairs(&mut self, pairs: &[KeyValue]) -> Result<Vec<(String, String)>, Diagnostic> {
        let mut out = Vec::with_capacity(pairs.len());
        for kv in pairs {
            let key = self.expand(&kv.key)?;
            if key.is_empty() {
                return Err(self.error(kv.key.span, "empty key after variable expansion"));
            }
            out.push((key, self.expand(&kv.value)?));
        }
        Ok(out)
    }

    pub(super) fn env(&mut self, pairs: &[KeyValue]) -> Result<(), Diagnostic> {
        for (k, v) in self.pairs(pairs)? {
            self.scope.env.insert(k.clone(), v.clone());
            self.env.insert(k.clone(), v.clone());
            self.ext_env.insert(k, v);
        }
        Ok(())
    }

    pub(super) fn label(&mut self, pairs: &[KeyValue]) -> Result<(), Diagnostic> {
        let values = self.pairs(pairs)?;
        self.labels.extend(values);
        Ok(())
    }

    pub(super) fn kubeversion(&mut self, word: &Word) -> Result<(), Diagnostic> {
        let text = self.expand(word)?;
        let range = text.trim();
        if let Err(e) = KubeVersionRange::parse(range) {
            // point into the range when it is written literally
            let span = if text == word.raw {
                let lead = text.len() - text.trim_start().len();
                word.span.sub(lead + e.offset, 1)
            } else {
                word.span
            };
            return Err(self
                .error(span, format!("invalid KUBEVERSION range {range:?}: {}", e.message))
                .with_help("use a semver range such as `>=1.22 <1.26`, `1.22 - 1.24`, `~1.24`, `^1.22` or `1.22.x || 1.24.x`"));
        }
        self.labels
            .insert(LABEL_SUPPORTED_KUBE_VERSION.to_string(), range.to_string());
        Ok(())
    }

    pub(super) fn cmd(&mut self, ins: &Instruction, form: &ExecForm) -> Result<(), Diagnostic> {
        match form {
            ExecForm::Shell(w) => self.launch.cmds.push(w.raw.trim().to_string()),
            ExecForm::Json(words) => self.launch.cmds.extend(words.iter().map(|w| w.raw.clone())),
        }
        self.warnings.push(
            self.kf
                .source
                .warning(ins.keyword_span, "CMD is deprecated")
                .with_help("use CMDS [\"<command>\", ...] instead"),
        );
        Ok(())
    }
}
