//! The Kubefile parser: logical lines (see [`lexer`]) to [`Kubefile`] instructions.

mod args;
mod commands;
mod lexer;
pub(crate) mod words;

use nom::Parser;
use nom::bytes::complete::take_till1;

use crate::ast::{Flag, Instruction, Keyword, Kubefile, Span, Word};
use crate::diagnostic::{Diagnostic, SourceFile};
use lexer::LogicalLine;
use words::{PError, Tok};

/// Parse a Kubefile into its syntax tree. `file_name` is only used in diagnostics.
pub fn parse(source: &str, file_name: &str) -> Result<Kubefile, Diagnostic> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let file = SourceFile::new(file_name, source);
    let lexed = lexer::lex(&file)?;
    let mut instructions = Vec::with_capacity(lexed.lines.len());
    for line in &lexed.lines {
        instructions.push(parse_line(&file, line, lexed.escape)?);
    }
    Ok(Kubefile {
        source: file,
        escape: lexed.escape,
        instructions,
        warnings: lexed.warnings,
    })
}

/// Everything an argument parser needs to know about its line.
pub(crate) struct LineCtx<'a> {
    pub file: &'a SourceFile,
    pub line: &'a LogicalLine,
    pub escape: char,
    pub keyword: Keyword,
    pub keyword_span: Span,
}

impl LineCtx<'_> {
    pub fn text(&self) -> &str {
        &self.line.text
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        self.line.span(start, end)
    }

    pub fn word(&self, tok: &Tok) -> Word {
        Word {
            raw: tok.raw.clone(),
            span: self.span(tok.start, tok.end),
            json: false,
        }
    }

    pub fn error(&self, start: usize, end: usize, message: impl Into<String>) -> Diagnostic {
        self.file.error(self.span(start, end), message)
    }

    /// A diagnostic for a nom failure.
    pub fn nom_error(&self, err: nom::Err<PError<'_>>) -> Diagnostic {
        let (at, message) = match err {
            nom::Err::Error(e) | nom::Err::Failure(e) => (Some(e.at), e.message),
            nom::Err::Incomplete(_) => (None, None),
        };
        let offset = at
            .map(|a| words::offset_in(self.text(), a))
            .unwrap_or(self.text().len());
        let kw = self.keyword.as_str();
        let message = message.unwrap_or_else(|| format!("invalid {kw} instruction"));
        self.error(offset, offset + 1, message).with_help(format!(
            "check the quotes and escapes of this {kw} instruction"
        ))
    }
}

fn supported_list() -> String {
    Keyword::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_line(
    file: &SourceFile,
    line: &LogicalLine,
    escape: char,
) -> Result<Instruction, Diagnostic> {
    let text = line.text.as_str();
    let body = text.trim_start();
    let body_start = text.len() - body.len();
    let (after_kw, kw) = match take_till1::<_, _, PError>(char::is_whitespace).parse(body) {
        Ok(r) => r,
        Err(_) => return Err(file.error(line.span(body_start, text.len()), "empty instruction")),
    };
    let keyword_span = line.span(body_start, body_start + kw.len());
    let Some(keyword) = Keyword::parse(kw) else {
        return Err(file
            .error(
                keyword_span,
                format!("unknown instruction \"{}\"", kw.to_ascii_uppercase()),
            )
            .with_label("not a Kubefile instruction")
            .with_help(format!("supported instructions: {}", supported_list())));
    };
    let ctx = LineCtx {
        file,
        line,
        escape,
        keyword,
        keyword_span,
    };
    let (after_flags, raw_flags) =
        words::flags(after_kw, escape, text).map_err(|e| ctx.nom_error(e))?;
    let flags: Vec<Flag> = raw_flags
        .iter()
        .map(|f| Flag {
            name: f.name.raw.clone(),
            value: f.value.as_ref().map(|v| ctx.word(v)),
            span: ctx.span(f.whole.0, f.whole.1),
        })
        .collect();
    let args = after_flags.trim();
    let args_start = if args.is_empty() {
        text.len()
    } else {
        words::offset_in(text, args)
    };
    let (command, normalized_args) = args::parse_args(&ctx, &flags, args, args_start)?;
    let mut normalized = keyword.as_str().to_string();
    for f in &raw_flags {
        normalized.push(' ');
        normalized.push_str(&text[f.whole.0..f.whole.1]);
    }
    if !normalized_args.is_empty() {
        normalized.push(' ');
        normalized.push_str(&normalized_args);
    }
    let (line_no, column) = file.line_column(keyword_span.start);
    Ok(Instruction {
        keyword,
        keyword_span,
        span: keyword_span.to(line.span(body_start, text.trim_end().len())),
        line: line_no,
        column,
        text: normalized,
        command,
    })
}
