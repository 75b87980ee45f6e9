//! Physical lines to logical lines: BOM, CRLF, the `# escape=` directive, whole-line
//! comments, blank lines and line continuations (also across comment lines, like Docker).

use crate::ast::Span;
use crate::diagnostic::{Diagnostic, SourceFile};

/// One instruction's text with continuations joined, and where each byte came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogicalLine {
    pub text: String,
    /// Source offset of each byte of `text`.
    map: Vec<usize>,
    /// Source offset just after the last byte.
    end: usize,
}

impl LogicalLine {
    fn push(&mut self, part: &str, source_offset: usize) {
        self.text.push_str(part);
        self.map.extend((0..part.len()).map(|i| source_offset + i));
        self.end = source_offset + part.len();
    }

    /// Source span of the byte range `start..end` of `text`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let at = |i: usize| self.map.get(i).copied().unwrap_or(self.end);
        let s = at(start);
        if end <= start {
            return Span::new(s, s);
        }
        let e = self.map.get(end - 1).map(|o| o + 1).unwrap_or(self.end);
        Span::new(s, e.max(s))
    }
}

pub(crate) struct Lexed {
    pub lines: Vec<LogicalLine>,
    pub escape: char,
    pub warnings: Vec<Diagnostic>,
}

enum Directive {
    Escape { value: String, offset: usize },
    Ignored,
}

/// `# name = value` at the top of the file (only `escape` has meaning; `syntax` and
/// `check` are accepted and ignored like BuildKit does).
fn directive(content: &str, line_offset: usize) -> Option<Directive> {
    let body = content.trim_start().strip_prefix('#')?;
    let (name, value) = body.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let value_trimmed = value.trim();
    let offset =
        line_offset + (content.len() - value.len()) + (value.len() - value.trim_start().len());
    match name.to_ascii_lowercase().as_str() {
        "escape" => Some(Directive::Escape {
            value: value_trimmed.to_string(),
            offset,
        }),
        "syntax" | "check" => Some(Directive::Ignored),
        _ => None,
    }
}

/// Remove a trailing escape character (followed only by blanks): the line continues.
fn strip_continuation(body: &str, escape: char) -> (&str, bool) {
    let trimmed = body.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (body, false),
    }
}

pub(crate) fn lex(file: &SourceFile) -> Result<Lexed, Diagnostic> {
    let src = file.text();
    let mut escape = '\\';
    let mut escape_seen = false;
    let mut directives_done = false;
    let mut lines = Vec::new();
    let mut warnings = Vec::new();
    let mut current: Option<LogicalLine> = None;
    let mut pos = 0;

    for raw in src.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let content = raw.strip_suffix('\n').unwrap_or(raw);
        let content = content.strip_suffix('\r').unwrap_or(content);

        if !directives_done {
            match directive(content, start) {
                Some(Directive::Escape { value, offset }) => {
                    let span = Span::new(offset, offset + value.len());
                    if escape_seen {
                        return Err(file
                            .error(span, "only one escape directive may be used")
                            .with_help("remove the repeated `# escape=` line"));
                    }
                    escape_seen = true;
                    escape = match value.as_str() {
                        "\\" => '\\',
                        "`" => '`',
                        _ => {
                            return Err(file
                                .error(span, format!("invalid escape character {value:?}"))
                                .with_help("the escape directive accepts only \\ or `"));
                        }
                    };
                    continue;
                }
                Some(Directive::Ignored) => continue,
                None => directives_done = true,
            }
        }

        let lead = content.len() - content.trim_start().len();
        let body = &content[lead..];
        match current.as_mut() {
            None => {
                if body.is_empty() || body.starts_with('#') {
                    continue;
                }
                let (part, continues) = strip_continuation(body, escape);
                let mut line = LogicalLine::default();
                line.push(part, start + lead);
                if continues {
                    current = Some(line);
                } else {
                    lines.push(line);
                }
            }
            Some(line) => {
                if body.starts_with('#') {
                    continue;
                }
                if body.is_empty() {
                    warnings.push(
                        file.warning(Span::new(start, start), "empty continuation line")
                            .with_help("remove the blank line inside the continued instruction"),
                    );
                    continue;
                }
                let (part, continues) = strip_continuation(content, escape);
                line.push(part, start);
                if !continues {
                    lines.extend(current.take());
                }
            }
        }
    }
    lines.extend(current.take());
    Ok(Lexed {
        lines,
        escape,
        warnings,
    })
}
