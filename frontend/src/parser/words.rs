//! nom parsers for instruction arguments: shell-like words, `--flags`, `KEY=VALUE` pairs
//! and JSON arrays. All positions are byte offsets into the logical line.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_till1, take_while};
use nom::character::complete::{anychar, char};
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::multi::{many0, many1};
use nom::{IResult, Parser};

/// A parse error: where and (when known) what.
#[derive(Debug)]
pub(crate) struct PError<'a> {
    pub at: &'a str,
    pub message: Option<String>,
}

impl<'a> ParseError<&'a str> for PError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PError {
            at: input,
            message: None,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, O> = IResult<&'a str, O, PError<'a>>;

pub(crate) fn failure<'a, O>(at: &'a str, message: impl Into<String>) -> PResult<'a, O> {
    Err(nom::Err::Failure(PError {
        at,
        message: Some(message.into()),
    }))
}

/// A token found in a line: its byte range in the line and its raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok {
    pub start: usize,
    pub end: usize,
    pub raw: String,
}

pub(crate) fn blanks(i: &str) -> PResult<'_, &str> {
    take_while(|c: char| c.is_whitespace()).parse(i)
}

fn quoted(quote: char, escape: Option<char>) -> impl Fn(&str) -> PResult<'_, &str> {
    move |i: &str| {
        let (mut rest, _) = char(quote).parse(i)?;
        loop {
            let mut chars = rest.chars();
            match chars.next() {
                None => {
                    let name = if quote == '"' { "double" } else { "single" };
                    return failure(i, format!("unterminated {name}-quoted string"));
                }
                Some(c) if c == quote => {
                    let end = i.len() - chars.as_str().len();
                    return Ok((chars.as_str(), &i[..end]));
                }
                Some(c) if Some(c) == escape => {
                    chars.next();
                    rest = chars.as_str();
                }
                Some(_) => rest = chars.as_str(),
            }
        }
    }
}

/// One shell-like word (Docker `parseWords`): quotes and escapes are kept in the text.
pub(crate) fn word(escape: char) -> impl Fn(&str) -> PResult<'_, &str> {
    move |i: &str| {
        let escaped = recognize((char(escape), opt(anychar)));
        let plain =
            take_till1(move |c: char| c.is_whitespace() || c == '"' || c == '\'' || c == escape);
        recognize(many1(alt((
            quoted('"', Some(escape)),
            quoted('\'', None),
            escaped,
            plain,
        ))))
        .parse(i)
    }
}

/// All whitespace-separated words of `text`, with their offsets relative to `base`.
pub(crate) fn words<'a>(text: &'a str, escape: char, base: &'a str) -> PResult<'a, Vec<Tok>> {
    let (rest, found) = many0((blanks, word(escape))).parse(text)?;
    let (rest, _) = blanks(rest)?;
    let toks = found
        .into_iter()
        .map(|(_, w)| tok(base, w))
        .collect::<Vec<_>>();
    Ok((rest, toks))
}

pub(crate) fn tok(base: &str, part: &str) -> Tok {
    let start = offset_in(base, part);
    Tok {
        start,
        end: start + part.len(),
        raw: part.to_string(),
    }
}

/// Offset of `part` (a sub-slice of `base`) in `base`.
pub(crate) fn offset_in(base: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(base.as_ptr() as usize)
        .min(base.len())
}

/// A leading `--name[=value]` builder flag.
pub(crate) struct RawFlag {
    pub name: Tok,
    pub value: Option<Tok>,
    pub whole: (usize, usize),
}

/// Leading `--flags` (stops at the first word not starting with `--`, or after `--`).
pub(crate) fn flags<'a>(text: &'a str, escape: char, base: &'a str) -> PResult<'a, Vec<RawFlag>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let (after_blank, _) = blanks(rest)?;
        let Ok((after_dashes, _)) = tag::<_, _, PError>("--").parse(after_blank) else {
            return Ok((rest, out));
        };
        if after_dashes.is_empty() || after_dashes.starts_with(char::is_whitespace) {
            // `--` alone ends the flags
            return Ok((after_dashes, out));
        }
        let (after_name, name) =
            take_till(|c: char| c == '=' || c.is_whitespace()).parse(after_dashes)?;
        let (after_value, value) = match after_name.strip_prefix('=') {
            Some(v) if v.is_empty() || v.starts_with(char::is_whitespace) => {
                (v, Some(tok(base, &v[..0])))
            }
            Some(v) => {
                let (r, w) = word(escape)(v)?;
                (r, Some(tok(base, w)))
            }
            None => (after_name, None),
        };
        let start = offset_in(base, after_blank);
        out.push(RawFlag {
            name: tok(base, name),
            value,
            whole: (start, offset_in(base, after_value)),
        });
        rest = after_value;
    }
}

/// Does `text` look like a JSON array (`[` followed by `"` or `]`)?
pub(crate) fn looks_like_json(text: &str) -> bool {
    text.strip_prefix('[')
        .map(|r| r.trim_start().starts_with(['"', ']']))
        .unwrap_or(false)
}

/// A JSON array of strings: each element's decoded value and byte range in `text`.
/// Errors carry a byte offset into `text` and a message.
/// A decoded JSON string and its byte range.
pub(crate) type JsonElement = (String, usize, usize);

/// A JSON error: byte offset and message.
pub(crate) type JsonError = (usize, String);

pub(crate) fn json_strings(text: &str) -> Result<Vec<JsonElement>, JsonError> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        let offset = if e.classify() == serde_json::error::Category::Eof {
            text.len()
        } else if e.line() <= 1 {
            e.column().saturating_sub(1)
        } else {
            text.len()
        };
        let msg = e.to_string();
        let msg = msg
            .rfind(" at line ")
            .map(|i| msg[..i].to_string())
            .unwrap_or(msg);
        (offset.min(text.len()), format!("invalid JSON array: {msg}"))
    })?;
    let ranges = element_ranges(text);
    let mut out = Vec::with_capacity(values.len());
    for (idx, value) in values.into_iter().enumerate() {
        let (start, end) = ranges.get(idx).copied().unwrap_or((0, text.len()));
        match value {
            serde_json::Value::String(s) => out.push((s, start, end)),
            _ => {
                return Err((
                    start,
                    "invalid JSON array: elements must be strings".to_string(),
                ));
            }
        }
    }
    Ok(out)
}

/// Byte ranges of the top-level elements of a valid JSON array.
fn element_ranges(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth == 2 && start.is_none() {
                    start = Some(i);
                }
            }
            b']' | b'}' => {
                if depth == 1
                    && let Some(s) = start.take()
                {
                    out.push((s, trim_end_at(text, i)));
                }
                depth = depth.saturating_sub(1);
            }
            b',' if depth == 1 => {
                if let Some(s) = start.take() {
                    out.push((s, trim_end_at(text, i)));
                }
            }
            b if depth == 1 && start.is_none() && !b.is_ascii_whitespace() => start = Some(i),
            _ => {}
        }
    }
    out
}

fn trim_end_at(text: &str, end: usize) -> usize {
    text[..end].trim_end().len()
}
