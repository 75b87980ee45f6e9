//! Whole-file rules checked before lowering: FROM first and once; LAUNCH / CMDS at most
//! one, last, and not mixed with CMD.

use crate::ast::{Keyword, Kubefile, Span};
use crate::diagnostic::Diagnostic;

pub(crate) fn check(kf: &Kubefile) -> Result<(), Diagnostic> {
    let file = &kf.source;
    let Some(last) = kf.instructions.last() else {
        return Err(file
            .error(Span::new(0, 0), "the Kubefile has no instructions")
            .with_help("start it with FROM scratch or FROM <cluster image>"));
    };

    let mut from_seen = false;
    for ins in &kf.instructions {
        match ins.keyword {
            Keyword::From if from_seen => {
                return Err(file
                    .error(ins.keyword_span, "only one FROM is allowed")
                    .with_help("multi-stage builds are not supported: remove the second FROM"));
            }
            Keyword::From => from_seen = true,
            Keyword::Arg => {}
            kw if !from_seen => {
                return Err(file
                    .error(ins.keyword_span, format!("{} before FROM", kw.as_str()))
                    .with_help("a Kubefile starts with FROM (only ARG may come before it)"));
            }
            _ => {}
        }
    }
    if !from_seen {
        return Err(file
            .error(last.keyword_span, "the Kubefile has no FROM instruction")
            .with_help("add FROM scratch or FROM <cluster image> after the ARG lines"));
    }

    let mut terminal: Option<(Keyword, usize)> = None;
    let mut cmd_seen = false;
    for (idx, ins) in kf.instructions.iter().enumerate() {
        let kw = ins.keyword;
        match kw {
            Keyword::Launch | Keyword::Cmds => {
                if let Some((first, _)) = terminal {
                    let err = if first == kw {
                        file.error(
                            ins.keyword_span,
                            format!("only one {} may be specified", kw.as_str()),
                        )
                        .with_help(format!("merge them into one {} instruction", kw.as_str()))
                    } else {
                        file.error(ins.keyword_span, "LAUNCH and CMDS are mutually exclusive")
                            .with_help(
                                "launch apps with LAUNCH or run commands with CMDS, not both",
                            )
                    };
                    return Err(err);
                }
                if cmd_seen {
                    return Err(cmd_conflict(kf, idx, kw));
                }
                terminal = Some((kw, idx));
            }
            Keyword::Cmd => {
                if let Some((first, _)) = terminal {
                    return Err(cmd_conflict(kf, idx, first));
                }
                cmd_seen = true;
            }
            _ => {}
        }
    }
    if let Some((kw, idx)) = terminal
        && idx + 1 != kf.instructions.len()
    {
        let ins = &kf.instructions[idx];
        return Err(file
            .error(
                ins.keyword_span,
                format!("{} must be the last instruction", kw.as_str()),
            )
            .with_help(format!("move {} to the end of the Kubefile", kw.as_str())));
    }
    Ok(())
}

fn cmd_conflict(kf: &Kubefile, idx: usize, other: Keyword) -> Diagnostic {
    let ins = &kf.instructions[idx];
    kf.source
        .error(
            ins.keyword_span,
            format!("CMD and {} are mutually exclusive", other.as_str()),
        )
        .with_help(
            "CMD is deprecated: put the commands into CMDS, or launch apps with LAUNCH, not both",
        )
}
