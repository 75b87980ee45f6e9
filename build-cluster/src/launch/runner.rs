//! Running one command: the [`CommandRunner`] trait (the solver adds a sandboxed runner) and
//! [`ProcessRunner`], which runs it directly with tokio.

use futures::future::BoxFuture;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// A command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// Set on top of the runner's own environment.
    pub env: Vec<(String, String)>,
}

impl CommandSpec {
    /// `program arg1 arg2` for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub success: bool,
    /// Exit code, if it exited (None: killed by a signal).
    pub code: Option<i32>,
    /// The last lines of stderr (at most [`STDERR_TAIL_LINES`]).
    pub stderr_tail: String,
}

/// Lines of stderr kept for error messages.
pub const STDERR_TAIL_LINES: usize = 20;

/// Output callback: each line as it arrives.
pub type OutputFn<'a> = &'a (dyn Fn(Stream, &str) + Send + Sync);

/// Runs commands for the launch steps.
pub trait CommandRunner: Send + Sync {
    fn run<'a>(
        &'a self,
        cmd: &'a CommandSpec,
        output: OutputFn<'a>,
    ) -> BoxFuture<'a, std::io::Result<CommandOutcome>>;
}

/// Runs commands as child processes of this process (no sandbox).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRunner;

async fn pump<R: AsyncRead + Unpin>(
    r: R,
    stream: Stream,
    output: OutputFn<'_>,
    tail: Option<&mut VecDeque<String>>,
) {
    let mut lines = BufReader::new(r).lines();
    let mut tail = tail;
    while let Ok(Some(line)) = lines.next_line().await {
        output(stream, &line);
        if let Some(t) = tail.as_deref_mut() {
            if t.len() == STDERR_TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
}

impl CommandRunner for ProcessRunner {
    fn run<'a>(
        &'a self,
        cmd: &'a CommandSpec,
        output: OutputFn<'a>,
    ) -> BoxFuture<'a, std::io::Result<CommandOutcome>> {
        Box::pin(async move {
            let mut child = tokio::process::Command::new(&cmd.program)
                .args(&cmd.args)
                .current_dir(&cmd.cwd)
                .envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()?;
            let stdout = child.stdout.take();
            let stderr = child.stderr.take();
            let mut tail = VecDeque::new();
            let out_fut = async {
                if let Some(s) = stdout {
                    pump(s, Stream::Stdout, output, None).await;
                }
            };
            let err_fut = async {
                if let Some(s) = stderr {
                    pump(s, Stream::Stderr, output, Some(&mut tail)).await;
                }
            };
            tokio::join!(out_fut, err_fut);
            let status = child.wait().await?;
            Ok(CommandOutcome {
                success: status.success(),
                code: status.code(),
                stderr_tail: Vec::from(tail).join("\n"),
            })
        })
    }
}

#[cfg(test)]
#[path = "../tests/launch_runner.rs"]
mod tests;
