//! Variable expansion in instruction words (Docker's shell-word rules): quotes, the escape
//! character, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `${VAR:?message}` and `${VAR?message}`.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{take_till, take_till1, take_while};
use nom::character::complete::{anychar, char};
use nom::combinator::opt;
use nom::multi::many0;

use crate::parser::words::{PResult, failure, offset_in};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    /// `-` / `:-`
    Default,
    /// `+` / `:+`
    Alternative,
    /// `?` / `:?`
    Required,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    /// A double-quoted part.
    Group(Vec<Seg>),
    Var {
        name: String,
        /// Byte range of the whole reference in the raw word.
        at: (usize, usize),
        modifier: Option<(Modifier, bool, Vec<Seg>)>,
    },
}

/// A reference to a variable that is not set, found during expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Undefined {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expanded {
    pub value: String,
    pub undefined: Vec<Undefined>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

struct Lexer<'r> {
    raw: &'r str,
    escape: char,
    json: bool,
}

impl<'r> Lexer<'r> {
    fn segments<'a>(&self, i: &'a str, stop: Option<char>) -> PResult<'a, Vec<Seg>>
    where
        'r: 'a,
    {
        let stop_at = move |c: char| Some(c) == stop;
        if self.json {
            return many0(alt((
                |i| self.var(i),
                take_till1(move |c: char| c == '$' || stop_at(c))
                    .map(|s: &str| Seg::Lit(s.to_string())),
            )))
            .parse(i);
        }
        let escape = self.escape;
        many0(alt((
            |i| self.escaped(i),
            |i| self.single_quoted(i),
            |i| self.double_quoted(i),
            |i| self.var(i),
            take_till1(move |c: char| matches!(c, '$' | '\'' | '"') || c == escape || stop_at(c))
                .map(|s: &str| Seg::Lit(s.to_string())),
        )))
        .parse(i)
    }

    fn escaped<'a>(&self, i: &'a str) -> PResult<'a, Seg> {
        (char(self.escape), opt(anychar))
            .map(|(_, c)| Seg::Lit(c.map(String::from).unwrap_or_default()))
            .parse(i)
    }

    fn single_quoted<'a>(&self, i: &'a str) -> PResult<'a, Seg> {
        let (rest, _) = char('\'').parse(i)?;
        let (rest, body) = take_till(|c| c == '\'').parse(rest)?;
        match char::<_, crate::parser::words::PError>('\'').parse(rest) {
            Ok((rest, _)) => Ok((rest, Seg::Lit(body.to_string()))),
            Err(_) => failure(i, "unterminated single-quoted string"),
        }
    }

    fn double_quoted<'a>(&self, i: &'a str) -> PResult<'a, Seg>
    where
        'r: 'a,
    {
        let escape = self.escape;
        let (mut rest, _) = char('"').parse(i)?;
        let mut segs = Vec::new();
        loop {
            if let Some(r) = rest.strip_prefix('"') {
                return Ok((r, Seg::Group(segs)));
            }
            if rest.is_empty() {
                return failure(i, "unterminated double-quoted string");
            }
            if let Some(r) = rest.strip_prefix(escape) {
                match r.chars().next() {
                    Some(c) if c == '"' || c == '$' || c == escape => {
                        segs.push(Seg::Lit(c.to_string()));
                        rest = &r[c.len_utf8()..];
                    }
                    None => rest = r,
                    Some(_) => {
                        segs.push(Seg::Lit(escape.to_string()));
                        rest = r;
                    }
                }
                continue;
            }
            if rest.starts_with('$') {
                let (r, seg) = self.var(rest)?;
                segs.push(seg);
                rest = r;
                continue;
            }
            let (r, lit) = take_till1(|c: char| c == '"' || c == '$' || c == escape).parse(rest)?;
            segs.push(Seg::Lit(lit.to_string()));
            rest = r;
        }
    }

    fn var<'a>(&self, i: &'a str) -> PResult<'a, Seg>
    where
        'r: 'a,
    {
        let (after_dollar, _) = char('$').parse(i)?;
        if let Some(inner) = after_dollar.strip_prefix('{') {
            let (rest, name) = name(inner)?;
            if name.is_empty() {
                return failure(i, "bad substitution: expected a variable name after ${");
            }
            let (rest, modifier) = match rest.chars().next() {
                Some('}') => (rest, None),
                Some(_) => {
                    let (rest, colon) = opt(char(':')).parse(rest)?;
                    let (rest, m) = match rest.chars().next() {
                        Some('-') => (&rest[1..], Modifier::Default),
                        Some('+') => (&rest[1..], Modifier::Alternative),
                        Some('?') => (&rest[1..], Modifier::Required),
                        _ => {
                            return failure(
                                i,
                                format!(
                                    "bad substitution: unsupported modifier in ${{{name}...}}; use :-, :+ or :?"
                                ),
                            );
                        }
                    };
                    let (rest, word) = self.segments(rest, Some('}'))?;
                    (rest, Some((m, colon.is_some(), word)))
                }
                None => (rest, None),
            };
            let Some(rest) = rest.strip_prefix('}') else {
                return failure(i, format!("bad substitution: missing '}}' after ${{{name}"));
            };
            let start = offset_in(self.raw, i);
            let end = offset_in(self.raw, rest);
            return Ok((
                rest,
                Seg::Var {
                    name: name.to_string(),
                    at: (start, end),
                    modifier,
                },
            ));
        }
        match name(after_dollar) {
            Ok((rest, n)) if !n.is_empty() => {
                let start = offset_in(self.raw, i);
                let end = offset_in(self.raw, rest);
                Ok((
                    rest,
                    Seg::Var {
                        name: n.to_string(),
                        at: (start, end),
                        modifier: None,
                    },
                ))
            }
            _ => Ok((after_dollar, Seg::Lit("$".to_string()))),
        }
    }
}

fn name(i: &str) -> PResult<'_, &str> {
    match i.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            take_while(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(i)
        }
        _ => Ok((i, "")),
    }
}

/// Expand `raw` with variables from `lookup`. JSON words get only `$` expansion.
pub(crate) fn expand(
    raw: &str,
    json: bool,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, ExpandError> {
    let lexer = Lexer { raw, escape, json };
    let segs = match lexer.segments(raw, None) {
        Ok(("", segs)) => segs,
        Ok((rest, _)) => {
            let at = offset_in(raw, rest);
            return Err(ExpandError {
                start: at,
                end: at + 1,
                message: "unexpected character".to_string(),
            });
        }
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let at = offset_in(raw, e.at);
            return Err(ExpandError {
                start: at,
                end: (at + 1).min(raw.len()).max(at),
                message: e
                    .message
                    .unwrap_or_else(|| "invalid variable reference".to_string()),
            });
        }
        Err(nom::Err::Incomplete(_)) => {
            return Err(ExpandError {
                start: 0,
                end: raw.len(),
                message: "incomplete word".to_string(),
            });
        }
    };
    let mut out = Expanded {
        value: String::new(),
        undefined: Vec::new(),
    };
    eval(&segs, lookup, &mut out)?;
    Ok(out)
}

fn eval(
    segs: &[Seg],
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Expanded,
) -> Result<(), ExpandError> {
    for seg in segs {
        match seg {
            Seg::Lit(s) => out.value.push_str(s),
            Seg::Group(inner) => eval(inner, lookup, out)?,
            Seg::Var { name, at, modifier } => {
                let value = lookup(name);
                match modifier {
                    None => match value {
                        Some(v) => out.value.push_str(&v),
                        None => out.undefined.push(Undefined {
                            name: name.clone(),
                            start: at.0,
                            end: at.1,
                        }),
                    },
                    Some((m, colon, word)) => {
                        let unset = match &value {
                            None => true,
                            Some(v) => *colon && v.is_empty(),
                        };
                        match m {
                            Modifier::Default if unset => eval(word, lookup, out)?,
                            Modifier::Alternative if !unset => eval(word, lookup, out)?,
                            Modifier::Alternative => {}
                            Modifier::Required if unset => {
                                let mut msg = Expanded {
                                    value: String::new(),
                                    undefined: Vec::new(),
                                };
                                eval(word, lookup, &mut msg)?;
                                let detail = if msg.value.is_empty() {
                                    "parameter not set".to_string()
                                } else {
                                    msg.value
                                };
                                return Err(ExpandError {
                                    start: at.0,
                                    end: at.1,
                                    message: format!("{name}: {detail}"),
                                });
                            }
                            _ => out.value.push_str(value.as_deref().unwrap_or_default()),
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
