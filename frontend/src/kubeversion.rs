//! `KUBEVERSION` ranges in Masterminds/semver syntax (what sealer and Helm use):
//! `1.22 - 1.24`, `>=1.22 <1.26`, `>= 1.22, < 1.26`, `~1.24`, `^1.2`, `1.22.x || 1.24.x`,
//! a `v` prefix, and `*`. Parsed with nom; versions are held as `semver` types.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::opt;
use semver::{Prerelease, Version};
use std::cmp::Ordering;

use crate::parser::words::{PResult, failure, offset_in};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

/// One comparator, with Masterminds' "dirty" flags for missing or wildcard parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Constraint {
    op: Op,
    version: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed range: OR of AND groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersionRange {
    groups: Vec<Vec<Constraint>>,
}

/// Where a range is malformed (byte offset into the text) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RangeError {
    pub offset: usize,
    pub message: String,
}

impl KubeVersionRange {
    pub fn parse(text: &str) -> Result<KubeVersionRange, RangeError> {
        match range(text) {
            Ok(("", groups)) => Ok(KubeVersionRange { groups }),
            Ok((rest, _)) => Err(RangeError {
                offset: offset_in(text, rest),
                message: format!(
                    "unexpected {:?} in version range",
                    rest.chars().next().unwrap_or(' ')
                ),
            }),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(RangeError {
                offset: offset_in(text, e.at),
                message: e
                    .message
                    .unwrap_or_else(|| "invalid version range".to_string()),
            }),
            Err(nom::Err::Incomplete(_)) => Err(RangeError {
                offset: text.len(),
                message: "incomplete version range".to_string(),
            }),
        }
    }

    /// Does `version` satisfy the range (Masterminds semantics)?
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|group| {
            let include_pre = group.iter().any(|c| !c.version.pre.is_empty());
            if !version.pre.is_empty() && !include_pre {
                return false;
            }
            group.iter().all(|c| c.check(version))
        })
    }
}

fn compare(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.version;
        let ord = compare(v, c);
        match self.op {
            Op::Eq if self.dirty => self.tilde(v, ord),
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => {
                if !self.dirty {
                    return ord != Ordering::Equal;
                }
                if c.major != v.major {
                    return true;
                }
                if self.minor_dirty {
                    return false;
                }
                if c.minor != v.minor {
                    return true;
                }
                if self.patch_dirty {
                    return !(v.pre.is_empty() && c.pre.is_empty()) && v.pre != c.pre;
                }
                ord != Ordering::Equal
            }
            Op::Gt => {
                if !self.dirty {
                    return ord == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                ord == Ordering::Greater
            }
            Op::Lt => ord == Ordering::Less,
            Op::Ge => ord != Ordering::Less,
            Op::Le => {
                if !self.dirty {
                    return ord != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v, ord),
            Op::Caret => {
                if ord == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version, ord: Ordering) -> bool {
        let c = &self.version;
        if ord == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }
}

fn blanks(i: &str) -> PResult<'_, &str> {
    take_while(|c: char| c == ' ' || c == '\t').parse(i)
}

fn range(i: &str) -> PResult<'_, Vec<Vec<Constraint>>> {
    let mut groups = Vec::new();
    let mut rest = i;
    loop {
        let (r, group) = and_group(rest)?;
        groups.push(group);
        let (r, _) = blanks(r)?;
        match r.strip_prefix("||") {
            Some(r) => rest = r,
            None => return Ok((r, groups)),
        }
    }
}

fn and_group(i: &str) -> PResult<'_, Vec<Constraint>> {
    let (mut rest, _) = blanks(i)?;
    let mut out = Vec::new();
    loop {
        if rest.is_empty() || rest.starts_with("||") {
            if out.is_empty() {
                return failure(rest, "expected a version constraint");
            }
            return Ok((rest, out));
        }
        if !out.is_empty() {
            // separator: blanks and/or a comma
            let (r, _) = blanks(rest)?;
            let (r, _) = opt(char(',')).parse(r)?;
            rest = blanks(r)?.0;
        }
        let (r, mut cs) = alt((hyphen, comparator.map(|c| vec![c]))).parse(rest)?;
        out.append(&mut cs);
        rest = blanks(r)?.0;
    }
}

/// `A - B` means `>= A, <= B`.
fn hyphen(i: &str) -> PResult<'_, Vec<Constraint>> {
    let (r, low) = version(i)?;
    let (r, _) = take_while1(|c: char| c == ' ' || c == '\t').parse(r)?;
    let (r, _) = char('-').parse(r)?;
    let (r, _) = take_while1(|c: char| c == ' ' || c == '\t').parse(r)?;
    let (r, high) = match version(r) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => return failure(r, "expected the upper version of the range"),
        Err(e) => return Err(e),
    };
    Ok((r, vec![low.with(Op::Ge), high.with(Op::Le)]))
}

fn op(i: &str) -> PResult<'_, Op> {
    alt((
        alt((tag(">="), tag("=>"))).map(|_| Op::Ge),
        alt((tag("<="), tag("=<"))).map(|_| Op::Le),
        tag("!=").map(|_| Op::Ne),
        tag("~>").map(|_| Op::Tilde),
        tag(">").map(|_| Op::Gt),
        tag("<").map(|_| Op::Lt),
        tag("=").map(|_| Op::Eq),
        tag("~").map(|_| Op::Tilde),
        tag("^").map(|_| Op::Caret),
    ))
    .parse(i)
}

fn comparator(i: &str) -> PResult<'_, Constraint> {
    let (r, op) = opt(op).parse(i)?;
    let (r, _) = blanks(r)?;
    let (r, v) = match version(r) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => return failure(r, "expected a version like 1.22 or 1.22.x"),
        Err(e) => return Err(e),
    };
    Ok((r, v.with(op.unwrap_or(Op::Eq))))
}

struct Partial {
    version: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

impl Partial {
    fn with(self, op: Op) -> Constraint {
        Constraint {
            op,
            version: self.version,
            dirty: self.dirty,
            minor_dirty: self.minor_dirty,
            patch_dirty: self.patch_dirty,
        }
    }
}

/// A number, or a wildcard (`None`).
fn part(i: &str) -> PResult<'_, Option<u64>> {
    if let Some(r) = i.strip_prefix(['x', 'X', '*']) {
        return Ok((r, None));
    }
    let (r, digits) = take_while1(|c: char| c.is_ascii_digit()).parse(i)?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((r, Some(n))),
        Err(_) => failure(i, "version number is too large"),
    }
}

fn ident(i: &str) -> PResult<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.').parse(i)
}

fn version(i: &str) -> PResult<'_, Partial> {
    let (r, _) = opt(char('v')).parse(i)?;
    let (r, major) = part(r)?;
    let (r, minor) = opt((char('.'), part).map(|(_, p)| p)).parse(r)?;
    let (r, patch) = if minor.is_some() {
        opt((char('.'), part).map(|(_, p)| p)).parse(r)?
    } else {
        (r, None)
    };
    let (r, pre) = opt((char('-'), ident).map(|(_, p)| p)).parse(r)?;
    let (r, _build) = opt((char('+'), ident)).parse(r)?;
    let pre = match pre.map(Prerelease::new).transpose() {
        Ok(p) => p.unwrap_or(Prerelease::EMPTY),
        Err(e) => return failure(i, format!("invalid pre-release in version: {e}")),
    };
    let (mut version, dirty, minor_dirty, patch_dirty) =
        match (major, minor.flatten(), patch.flatten()) {
            (None, _, _) => (Version::new(0, 0, 0), true, false, false),
            (Some(m), None, _) => (Version::new(m, 0, 0), true, true, false),
            (Some(m), Some(n), None) => (Version::new(m, n, 0), true, false, true),
            (Some(m), Some(n), Some(p)) => (Version::new(m, n, p), false, false, false),
        };
    version.pre = pre;
    Ok((
        r,
        Partial {
            version,
            dirty,
            minor_dirty,
            patch_dirty,
        },
    ))
}
