//! Kubefile diagnostics: a message anchored at a `file:line:column` position of the source.
//!
//! [`Diagnostic`] is both a `std::error::Error` (its `Display` is the one-line
//! `Kubefile:3:1: message` form) and a `miette::Diagnostic`, so a caller can render it with
//! miette's `GraphicalReportHandler` to get the source line, a caret and the help text.

use miette::{LabeledSpan, NamedSource, Severity, SourceSpan};
use std::fmt;
use std::sync::Arc;

use crate::ast::Span;

/// The Kubefile text a diagnostic points into (shared between all diagnostics of a file).
#[derive(Debug, Clone)]
pub struct SourceFile {
    name: String,
    text: Arc<str>,
}

impl SourceFile {
    pub fn new(name: &str, text: &str) -> SourceFile {
        SourceFile {
            name: name.to_string(),
            text: Arc::from(text),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at `span`.
    pub fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(Severity::Error, span, message.into())
    }

    /// A warning at `span`.
    pub fn warning(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(Severity::Warning, span, message.into())
    }

    fn diagnostic(&self, severity: Severity, span: Span, message: String) -> Diagnostic {
        let len = self.text.len();
        let start = floor_char_boundary(&self.text, span.start.min(len));
        let end = floor_char_boundary(&self.text, span.end.clamp(start, len));
        let (line, column) = self.line_column(start);
        Diagnostic(Box::new(Inner {
            file: self.name.clone(),
            source: NamedSource::new(&self.name, Arc::clone(&self.text)),
            span: SourceSpan::new(start.into(), end - start),
            line,
            column,
            message,
            label: None,
            help: None,
            severity,
        }))
    }
}

pub(crate) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A located error or warning about a Kubefile.
#[derive(Clone)]
pub struct Diagnostic(Box<Inner>);

#[derive(Clone)]
struct Inner {
    file: String,
    source: NamedSource<Arc<str>>,
    span: SourceSpan,
    line: usize,
    column: usize,
    message: String,
    label: Option<String>,
    help: Option<String>,
    severity: Severity,
}

impl Diagnostic {
    /// Attach a hint on how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.0.help = Some(help.into());
        self
    }

    /// Attach a short text shown next to the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.0.label = Some(label.into());
        self
    }

    /// The file name given to `parse`/`compile`.
    pub fn file(&self) -> &str {
        &self.0.file
    }

    /// 1-based line of the start of the span.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// 1-based column (in characters) of the start of the span.
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// The message without the location prefix.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }

    /// Byte offset and length of the span in the (BOM-stripped) source.
    pub fn span(&self) -> (usize, usize) {
        (self.0.span.offset(), self.0.span.len())
    }

    pub fn is_warning(&self) -> bool {
        self.0.severity == Severity::Warning
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.0.file, self.0.line, self.0.column)?;
        if self.is_warning() {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.0.message)
    }
}

impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostic")
            .field(
                "location",
                &format_args!("{}:{}:{}", self.0.file, self.0.line, self.0.column),
            )
            .field("severity", &self.0.severity)
            .field("message", &self.0.message)
            .field("help", &self.0.help)
            .finish()
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn severity(&self) -> Option<Severity> {
        Some(self.0.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.0.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            self.0.label.clone(),
            self.0.span,
        ))))
    }
}
