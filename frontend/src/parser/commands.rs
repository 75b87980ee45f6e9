//! Per-instruction argument parsing.

use sealer_solver::graph::Network;

use super::args::{Args, Parsed};
use super::words::{self, Tok};
use crate::ast::{AppDecl, ArgDecl, Command, Flag, Keyword, Word};
use crate::diagnostic::Diagnostic;

fn joined(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn from(a: &Args<'_>, flags: &[Flag]) -> Parsed {
    let platform = flags
        .iter()
        .find(|f| f.name == "platform")
        .and_then(|f| f.value.clone());
    let toks = a.toks()?;
    match toks.as_slice() {
        [] => Err(a
            .error_here("FROM needs an image reference")
            .with_help("write FROM scratch or FROM <cluster image>")),
        [image] => {
            let image = a.ctx.word(image);
            Ok((Command::From { platform, image }, a.text.to_string()))
        }
        [_, kw, ..] if kw.raw.eq_ignore_ascii_case("as") => Err(a
            .ctx
            .error(kw.start, kw.end, "multi-stage builds are not supported")
            .with_help("a Kubefile has a single FROM; remove `AS <name>`")),
        [_, extra, ..] => Err(a
            .ctx
            .error(
                extra.start,
                extra.end,
                "FROM takes a single image reference",
            )
            .with_help("remove the extra arguments")),
    }
}

pub(super) fn copy(a: &Args<'_>) -> Parsed {
    let (mut list, json) = a.list()?;
    let kw = a.kw();
    if list.len() < 2 {
        return Err(a
            .error_here(format!("{kw} needs at least one source and a destination"))
            .with_help(format!(
                "usage: {kw} <src>... <dest>, e.g. {kw} app.yaml manifests/"
            )));
    }
    let normalized = if json {
        a.text.to_string()
    } else {
        joined(&list)
    };
    let Some(dest) = list.pop() else {
        return Err(a.error_here(format!("{kw} needs a destination")));
    };
    let command = if a.ctx.keyword == Keyword::Add {
        Command::Add {
            sources: list,
            dest,
        }
    } else {
        Command::Copy {
            sources: list,
            dest,
        }
    };
    Ok((command, normalized))
}

pub(super) fn run(a: &Args<'_>, flags: &[Flag]) -> Parsed {
    let mut network = None;
    if let Some(value) = flags
        .iter()
        .find(|f| f.name == "network")
        .and_then(|f| f.value.as_ref())
    {
        network = Some(match value.raw.as_str() {
            "host" | "default" => Network::Host,
            "none" => Network::None,
            other => {
                return Err(a
                    .ctx
                    .file
                    .error(value.span, format!("unknown RUN network mode {other:?}"))
                    .with_help("use --network=host (the default) or --network=none"));
            }
        });
    }
    let cmd = a.exec_form()?;
    Ok((Command::Run { network, cmd }, a.text.to_string()))
}

pub(super) fn arg(a: &Args<'_>) -> Parsed {
    let toks = a.toks()?;
    if toks.is_empty() {
        return Err(a
            .error_here("ARG needs a name")
            .with_help("usage: ARG NAME[=default]"));
    }
    let mut decls = Vec::with_capacity(toks.len());
    for t in &toks {
        let (name, default) = match t.raw.find('=') {
            Some(eq) => (
                Tok {
                    start: t.start,
                    end: t.start + eq,
                    raw: t.raw[..eq].to_string(),
                },
                Some(Tok {
                    start: t.start + eq + 1,
                    end: t.end,
                    raw: t.raw[eq + 1..].to_string(),
                }),
            ),
            None => (t.clone(), None),
        };
        if !valid_var_name(&name.raw) {
            return Err(a
                .ctx
                .error(
                    name.start,
                    name.end.max(name.start + 1),
                    format!("invalid ARG name {:?}", name.raw),
                )
                .with_help("ARG names are letters, digits and _, not starting with a digit"));
        }
        decls.push(ArgDecl {
            name: a.ctx.word(&name),
            default: default.as_ref().map(|d| a.ctx.word(d)),
        });
    }
    let normalized = toks
        .iter()
        .map(|t| t.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((Command::Arg(decls), normalized))
}

pub(crate) fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_app_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn check_app_name(a: &Args<'_>, name: &Word) -> Result<(), Diagnostic> {
    if valid_app_name(&name.raw) {
        return Ok(());
    }
    Err(a
        .ctx
        .file
        .error(name.span, format!("invalid app name {:?}", name.raw))
        .with_help(
            "app names are letters, digits, '-', '_' and '.', starting with a letter or digit",
        ))
}

pub(super) fn app(a: &Args<'_>) -> Parsed {
    let kw = a.kw();
    let usage = format!("{kw} <name> local://<path>|https://<url>...");
    let (mut list, json) = a.list()?;
    if list.is_empty() {
        return Err(a
            .error_here(format!("{kw} needs an app name"))
            .with_help(format!("usage: {usage}")));
    }
    let name = list.remove(0);
    check_app_name(a, &name)?;
    if list.is_empty() {
        return Err(a
            .ctx
            .file
            .error(name.span, format!("{kw} {} has no sources", name.raw))
            .with_help(format!("usage: {usage}")));
    }
    let normalized = if json {
        a.text.to_string()
    } else {
        format!("{} {}", name.raw, joined(&list))
    };
    let decl = AppDecl {
        name,
        sources: list,
    };
    let command = match a.ctx.keyword {
        Keyword::Cni => Command::Cni(decl),
        Keyword::Csi => Command::Csi(decl),
        _ => Command::App(decl),
    };
    Ok((command, normalized))
}

pub(super) fn appcmds(a: &Args<'_>) -> Parsed {
    let usage = "APPCMDS <app> [\"cmd1\", \"cmd2\"]";
    let (name, rest) = a.split_name(usage)?;
    let app = a.ctx.word(&name);
    check_app_name(a, &app)?;
    if !rest.starts_with('[') {
        let (s, e) = if rest.is_empty() {
            (name.start, name.end)
        } else {
            let s = words::offset_in(a.ctx.text(), rest);
            (s, s + rest.len())
        };
        return Err(a
            .ctx
            .error(
                s,
                e,
                "APPCMDS expects a JSON array of commands after the app name",
            )
            .with_help(format!("usage: {usage}")));
    }
    let cmds = a.json_at(rest)?;
    Ok((
        Command::AppCmds { app, cmds },
        format!("{} {rest}", name.raw),
    ))
}

pub(super) fn appenv(a: &Args<'_>) -> Parsed {
    let usage = "APPENV <app> KEY=VALUE...";
    let (name, rest) = a.split_name(usage)?;
    let app = a.ctx.word(&name);
    check_app_name(a, &app)?;
    if rest.is_empty() {
        return Err(a
            .ctx
            .error(
                name.start,
                name.end,
                format!("APPENV {} needs KEY=VALUE pairs", name.raw),
            )
            .with_help(format!("usage: {usage}")));
    }
    let (pairs, normalized) = a.key_values_in(rest, false)?;
    Ok((
        Command::AppEnv { app, pairs },
        format!("{} {normalized}", name.raw),
    ))
}

pub(super) fn launch(a: &Args<'_>) -> Parsed {
    let names = if a.text.starts_with('[') {
        a.json()?
    } else {
        let base = a.start;
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in a
            .text
            .char_indices()
            .chain(std::iter::once((a.text.len(), ' ')))
        {
            let sep = c.is_whitespace() || c == ',';
            match (sep, start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    out.push(a.ctx.word(&Tok {
                        start: base + s,
                        end: base + i,
                        raw: a.text[s..i].to_string(),
                    }));
                    start = None;
                }
                _ => {}
            }
        }
        out
    };
    if names.is_empty() {
        return Err(a
            .error_here("LAUNCH needs at least one app name")
            .with_help("usage: LAUNCH [\"app1\", \"app2\"]"));
    }
    Ok((Command::Launch(names), a.text.to_string()))
}
