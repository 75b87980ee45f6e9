//! Argument grammar shared by instructions: words, lists, JSON arrays, KEY=VALUE pairs.

use super::LineCtx;
use super::commands::{app, appcmds, appenv, arg, copy, from, launch, run};
use super::words::{self, Tok};
use crate::ast::{Command, ExecForm, Flag, KeyValue, Keyword, Word};
use crate::diagnostic::Diagnostic;

pub(super) type Parsed = Result<(Command, String), Diagnostic>;

/// Parse `args` (trimmed, starting at byte `start` of the line) for `ctx.keyword`.
pub(crate) fn parse_args(ctx: &LineCtx<'_>, flags: &[Flag], args: &str, start: usize) -> Parsed {
    check_flags(ctx, flags)?;
    let a = Args {
        ctx,
        text: args,
        start,
    };
    match ctx.keyword {
        Keyword::From => from(&a, flags),
        Keyword::Copy | Keyword::Add => copy(&a),
        Keyword::Run => run(&a, flags),
        Keyword::Arg => arg(&a),
        Keyword::Env => {
            let pairs = a.key_values(true)?;
            Ok((Command::Env(pairs.0), pairs.1))
        }
        Keyword::Label => {
            let pairs = a.key_values(true)?;
            Ok((Command::Label(pairs.0), pairs.1))
        }
        Keyword::Maintainer => {
            let w = a.whole("a name", "Jane Doe <jane@example.com>")?;
            Ok((Command::Maintainer(w), args.to_string()))
        }
        Keyword::App | Keyword::Cni | Keyword::Csi => app(&a),
        Keyword::AppCmds => appcmds(&a),
        Keyword::AppEnv => appenv(&a),
        Keyword::KubeVersion => {
            let w = a.whole("a version range", ">=1.22 <1.26")?;
            Ok((Command::KubeVersion(w), args.to_string()))
        }
        Keyword::Launch => launch(&a),
        Keyword::Cmds => {
            let cmds = if args.starts_with('[') {
                a.json()?
            } else {
                vec![a.whole(
                    "a JSON array of commands",
                    "[\"kubectl apply -f manifests/app.yaml\"]",
                )?]
            };
            Ok((Command::Cmds(cmds), args.to_string()))
        }
        Keyword::Cmd => {
            let form = a.exec_form()?;
            Ok((Command::Cmd(form), args.to_string()))
        }
    }
}

fn allowed_flags(keyword: Keyword) -> &'static [&'static str] {
    match keyword {
        Keyword::From => &["platform"],
        Keyword::Run => &["network"],
        _ => &[],
    }
}

fn check_flags(ctx: &LineCtx<'_>, flags: &[Flag]) -> Result<(), Diagnostic> {
    let kw = ctx.keyword.as_str();
    for flag in flags {
        let allowed = allowed_flags(ctx.keyword);
        if !allowed.contains(&flag.name.as_str()) {
            let help = match ctx.keyword {
                Keyword::Copy | Keyword::Add => format!(
                    "sealer copies files into the rootfs as they are (owned by root); {kw} takes only sources and a destination, remove --{}",
                    flag.name
                ),
                _ if allowed.is_empty() => format!("{kw} takes no flags; remove --{}", flag.name),
                _ => format!("{kw} accepts only --{}", allowed.join(", --")),
            };
            return Err(ctx
                .file
                .error(
                    flag.span,
                    format!("{kw} does not support the --{} flag", flag.name),
                )
                .with_help(help));
        }
        if flag.value.as_ref().is_none_or(|v| v.raw.is_empty()) {
            return Err(ctx
                .file
                .error(flag.span, format!("the --{} flag needs a value", flag.name))
                .with_help(format!("write it as --{}=<value>", flag.name)));
        }
    }
    Ok(())
}

pub(super) struct Args<'a> {
    pub ctx: &'a LineCtx<'a>,
    pub text: &'a str,
    pub start: usize,
}

impl Args<'_> {
    pub(super) fn kw(&self) -> &'static str {
        self.ctx.keyword.as_str()
    }

    pub(super) fn error_here(&self, message: impl Into<String>) -> Diagnostic {
        if self.text.is_empty() {
            self.ctx.file.error(self.ctx.keyword_span, message)
        } else {
            self.ctx
                .error(self.start, self.start + self.text.len(), message)
        }
    }

    pub(super) fn toks_of(&self, text: &str) -> Result<Vec<Tok>, Diagnostic> {
        words::words(text, self.ctx.escape, self.ctx.text())
            .map(|(_, t)| t)
            .map_err(|e| self.ctx.nom_error(e))
    }

    pub(super) fn toks(&self) -> Result<Vec<Tok>, Diagnostic> {
        self.toks_of(self.text)
    }

    /// The whole argument text as one word.
    pub(super) fn whole(&self, what: &str, example: &str) -> Result<Word, Diagnostic> {
        if self.text.is_empty() {
            return Err(self
                .error_here(format!("{} needs {what}", self.kw()))
                .with_help(format!("e.g. {} {example}", self.kw())));
        }
        Ok(self.ctx.word(&words::tok(self.ctx.text(), self.text)))
    }

    /// A JSON array of strings starting at `text` (a sub-slice of the line).
    pub(super) fn json_at(&self, text: &str) -> Result<Vec<Word>, Diagnostic> {
        let base = words::offset_in(self.ctx.text(), text);
        let elements = words::json_strings(text).map_err(|(offset, message)| {
            let at = base + offset;
            self.ctx.error(at, at + 1, message).with_help(format!(
                "write a JSON array of double-quoted strings, e.g. {} [\"a\", \"b\"]",
                self.kw()
            ))
        })?;
        Ok(elements
            .into_iter()
            .map(|(raw, s, e)| Word {
                raw,
                span: self.ctx.span(base + s, base + e),
                json: true,
            })
            .collect())
    }

    pub(super) fn json(&self) -> Result<Vec<Word>, Diagnostic> {
        self.json_at(self.text)
    }

    /// JSON array form when the text looks like one, else shell words.
    pub(super) fn list(&self) -> Result<(Vec<Word>, bool), Diagnostic> {
        if words::looks_like_json(self.text) {
            Ok((self.json()?, true))
        } else {
            let toks = self.toks()?;
            Ok((toks.iter().map(|t| self.ctx.word(t)).collect(), false))
        }
    }

    pub(super) fn exec_form(&self) -> Result<ExecForm, Diagnostic> {
        if self.text.is_empty() {
            return Err(self
                .error_here(format!("{} needs a command", self.kw()))
                .with_help(format!(
                    "e.g. {} [\"sh\", \"-c\", \"echo hello\"]",
                    self.kw()
                )));
        }
        if words::looks_like_json(self.text) {
            Ok(ExecForm::Json(self.json()?))
        } else {
            Ok(ExecForm::Shell(self.whole("a command", "echo hello")?))
        }
    }

    /// `k=v k2="v 2"` pairs, or (when `legacy`) `k value with spaces`.
    pub(super) fn key_values(&self, legacy: bool) -> Result<(Vec<KeyValue>, String), Diagnostic> {
        self.key_values_in(self.text, legacy)
    }

    pub(super) fn key_values_in(
        &self,
        text: &str,
        legacy: bool,
    ) -> Result<(Vec<KeyValue>, String), Diagnostic> {
        let kw = self.kw();
        let toks = self.toks_of(text)?;
        let Some(first) = toks.first() else {
            return Err(self.error_here(format!("{kw} needs KEY=VALUE")));
        };
        let normalized = toks
            .iter()
            .map(|t| t.raw.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if !first.raw.contains('=') && legacy {
            let value_text = text[first.end - words::offset_in(self.ctx.text(), text)..].trim();
            if value_text.is_empty() {
                return Err(self
                    .ctx
                    .error(
                        first.start,
                        first.end,
                        format!("{kw} {} needs a value", first.raw),
                    )
                    .with_help(format!("write {kw} {}=<value>", first.raw)));
            }
            let value = words::tok(self.ctx.text(), value_text);
            let pair = KeyValue {
                key: self.ctx.word(first),
                value: self.ctx.word(&value),
            };
            return Ok((vec![pair], format!("{} {}", first.raw, value_text)));
        }
        let mut pairs = Vec::with_capacity(toks.len());
        for t in &toks {
            let Some(eq) = t.raw.find('=') else {
                return Err(self
                    .ctx
                    .error(t.start, t.end, format!("missing '=' in {:?}", t.raw))
                    .with_help(format!("{kw} takes KEY=VALUE pairs")));
            };
            if eq == 0 {
                return Err(self
                    .ctx
                    .error(t.start, t.end, format!("empty key in {:?}", t.raw))
                    .with_help(format!("{kw} takes KEY=VALUE pairs")));
            }
            let key = Tok {
                start: t.start,
                end: t.start + eq,
                raw: t.raw[..eq].to_string(),
            };
            let value = Tok {
                start: t.start + eq + 1,
                end: t.end,
                raw: t.raw[eq + 1..].to_string(),
            };
            pairs.push(KeyValue {
                key: self.ctx.word(&key),
                value: self.ctx.word(&value),
            });
        }
        Ok((pairs, normalized))
    }

    /// The first word and the trimmed text after it.
    pub(super) fn split_name(&self, usage: &str) -> Result<(Tok, &str), Diagnostic> {
        let parsed = words::word(self.ctx.escape)(self.text).map_err(|e| self.ctx.nom_error(e));
        match parsed {
            Ok((rest, name)) if !self.text.is_empty() => {
                Ok((words::tok(self.ctx.text(), name), rest.trim()))
            }
            _ => Err(self
                .error_here(format!("{} needs an app name", self.kw()))
                .with_help(format!("usage: {usage}"))),
        }
    }
}
