//! The Kubefile syntax tree returned by [`crate::parse`].
//!
//! Words keep their text as written (quotes, escapes and `$VAR` references untouched);
//! [`crate::compile`] expands them. Spans are byte offsets into [`Kubefile::source`].

use sealer_solver::graph::Network;

use crate::diagnostic::{Diagnostic, SourceFile};

/// A byte range of the (BOM-stripped) Kubefile source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// A sub-span starting `offset` bytes in, clamped to this span.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        let start = (self.start + offset).min(self.end);
        Span::new(start, (start + len).min(self.end).max(start))
    }
}

/// One argument as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text as written (for JSON-array elements: the decoded string).
    pub raw: String,
    pub span: Span,
    /// Came from a JSON array: no quote or escape processing, only `$VAR` expansion.
    pub json: bool,
}

/// `KEY=VALUE` (or legacy `KEY VALUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Word,
    pub value: Word,
}

/// A `--name=value` flag before the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<Word>,
    pub span: Span,
}

/// RUN / CMD argument forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecForm {
    /// Shell form: the text after the keyword, continuations joined.
    Shell(Word),
    /// JSON-array form.
    Json(Vec<Word>),
}

/// `ARG name[=default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: Word,
    pub default: Option<Word>,
}

/// `APP name src...` (also CNI / CSI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDecl {
    pub name: Word,
    pub sources: Vec<Word>,
}

/// The instruction keywords, as sealer spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    From,
    Copy,
    Add,
    Run,
    Arg,
    Env,
    Label,
    Maintainer,
    App,
    AppCmds,
    AppEnv,
    Cni,
    Csi,
    KubeVersion,
    Launch,
    Cmds,
    Cmd,
}

impl Keyword {
    pub const ALL: [Keyword; 17] = [
        Keyword::From,
        Keyword::Copy,
        Keyword::Add,
        Keyword::Run,
        Keyword::Arg,
        Keyword::Env,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::App,
        Keyword::AppCmds,
        Keyword::AppEnv,
        Keyword::Cni,
        Keyword::Csi,
        Keyword::KubeVersion,
        Keyword::Launch,
        Keyword::Cmds,
        Keyword::Cmd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Copy => "COPY",
            Keyword::Add => "ADD",
            Keyword::Run => "RUN",
            Keyword::Arg => "ARG",
            Keyword::Env => "ENV",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::App => "APP",
            Keyword::AppCmds => "APPCMDS",
            Keyword::AppEnv => "APPENV",
            Keyword::Cni => "CNI",
            Keyword::Csi => "CSI",
            Keyword::KubeVersion => "KUBEVERSION",
            Keyword::Launch => "LAUNCH",
            Keyword::Cmds => "CMDS",
            Keyword::Cmd => "CMD",
        }
    }

    /// Case-insensitive lookup.
    pub fn parse(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
    }
}

/// What an instruction says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    From {
        platform: Option<Word>,
        image: Word,
    },
    Copy {
        sources: Vec<Word>,
        dest: Word,
    },
    Add {
        sources: Vec<Word>,
        dest: Word,
    },
    Run {
        network: Option<Network>,
        cmd: ExecForm,
    },
    Arg(Vec<ArgDecl>),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Maintainer(Word),
    App(AppDecl),
    Cni(AppDecl),
    Csi(AppDecl),
    AppCmds {
        app: Word,
        cmds: Vec<Word>,
    },
    AppEnv {
        app: Word,
        pairs: Vec<KeyValue>,
    },
    KubeVersion(Word),
    Launch(Vec<Word>),
    Cmds(Vec<Word>),
    Cmd(ExecForm),
}

/// One (logical) Kubefile line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: Keyword,
    /// Where the keyword is written.
    pub keyword_span: Span,
    /// From the keyword to the end of the instruction's last line.
    pub span: Span,
    /// 1-based position of the keyword.
    pub line: usize,
    pub column: usize,
    /// Normalized text, e.g. `COPY app.yaml manifests/` (history and progress label).
    pub text: String,
    pub command: Command,
}

/// A parsed Kubefile.
#[derive(Debug, Clone)]
pub struct Kubefile {
    pub source: SourceFile,
    /// The escape character (`\` or `` ` `` from the `# escape=` directive).
    pub escape: char,
    pub instructions: Vec<Instruction>,
    /// Non-fatal findings of the parser (e.g. empty continuation lines).
    pub warnings: Vec<Diagnostic>,
}
