//! Renders solver events on stderr: live bars on a TTY, plain lines in CI, JSON for tools.

use crate::args::ProgressMode;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealer_solver::graph::VertexDigest;
use sealer_solver::progress::{Event, ProgressSink, Stream};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

/// Pick a renderer for the requested mode.
pub fn renderer(mode: ProgressMode) -> Box<dyn ProgressSink> {
    let tty = std::io::stderr().is_terminal();
    match mode {
        ProgressMode::Json => Box::new(JsonProgress),
        ProgressMode::Plain => Box::new(PlainProgress::default()),
        ProgressMode::Tty => Box::new(TtyProgress::new()),
        ProgressMode::Auto if tty => Box::new(TtyProgress::new()),
        ProgressMode::Auto => Box::new(PlainProgress::default()),
    }
}

/// One JSON object per line on stderr.
pub struct JsonProgress;

impl ProgressSink for JsonProgress {
    fn event(&self, event: Event) {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

#[derive(Default)]
struct Steps {
    number: HashMap<VertexDigest, usize>,
    name: HashMap<VertexDigest, String>,
    total: usize,
}

impl Steps {
    fn plan(&mut self, vertex: VertexDigest, step: usize, name: String) {
        self.total = self.total.max(step);
        self.number.insert(vertex.clone(), step);
        self.name.insert(vertex, name);
    }
    fn label(&self, v: &VertexDigest) -> (usize, String) {
        let n = self.number.get(v).copied().unwrap_or(0);
        let name = self.name.get(v).cloned().unwrap_or_default();
        (n, format!("[{n}/{}] {name}", self.total))
    }
}

/// BuildKit-style plain lines: `#2 [2/4] COPY a b` then `#2 CACHED` or `#2 DONE 0.1s`.
#[derive(Default)]
pub struct PlainProgress {
    steps: Mutex<Steps>,
}

impl ProgressSink for PlainProgress {
    fn event(&self, event: Event) {
        let Ok(mut steps) = self.steps.lock() else {
            return;
        };
        let mut err = std::io::stderr().lock();
        let _ = match event {
            Event::Planned { vertex, step, name } => {
                steps.plan(vertex, step, name);
                Ok(())
            }
            Event::Cached { vertex, .. } => {
                let (n, label) = steps.label(&vertex);
                writeln!(err, "#{n} {label}\n#{n} CACHED")
            }
            Event::Started { vertex } => {
                let (n, label) = steps.label(&vertex);
                writeln!(err, "#{n} {label}")
            }
            Event::Log {
                vertex,
                stream,
                line,
            } => {
                let (n, _) = steps.label(&vertex);
                let tag = if stream == Stream::Stderr {
                    " (stderr)"
                } else {
                    ""
                };
                writeln!(err, "#{n}{tag} {line}")
            }
            Event::Completed { vertex, duration } => {
                let (n, _) = steps.label(&vertex);
                writeln!(err, "#{n} DONE {:.2}s", duration.as_secs_f64())
            }
            Event::Failed { vertex, error } => {
                let (n, _) = steps.label(&vertex);
                writeln!(err, "#{n} ERROR {error}")
            }
            Event::Note { message } => writeln!(err, "{message}"),
        };
    }
}

/// A spinner per running step on a terminal.
pub struct TtyProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<VertexDigest, ProgressBar>>,
    steps: Mutex<Steps>,
}

impl TtyProgress {
    fn new() -> TtyProgress {
        TtyProgress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            steps: Mutex::new(Steps::default()),
        }
    }

    fn finish(&self, vertex: &VertexDigest, label: String, status: &str) {
        if let Ok(mut bars) = self.bars.lock()
            && let Some(bar) = bars.remove(vertex)
        {
            bar.finish_and_clear();
        }
        let _ = self.multi.println(format!("{label} {status}"));
    }
}

impl ProgressSink for TtyProgress {
    fn event(&self, event: Event) {
        let Ok(mut steps) = self.steps.lock() else {
            return;
        };
        match event {
            Event::Planned { vertex, step, name } => steps.plan(vertex, step, name),
            Event::Cached { vertex, .. } => {
                let (_, label) = steps.label(&vertex);
                drop(steps);
                self.finish(&vertex, label, "CACHED");
            }
            Event::Started { vertex } => {
                let (_, label) = steps.label(&vertex);
                let bar = self.multi.add(ProgressBar::new_spinner());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                    bar.set_style(style);
                }
                bar.set_message(label);
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut bars) = self.bars.lock() {
                    bars.insert(vertex, bar);
                }
            }
            Event::Log { line, .. } => {
                let _ = self.multi.println(format!("  {line}"));
            }
            Event::Completed { vertex, duration } => {
                let (_, label) = steps.label(&vertex);
                drop(steps);
                self.finish(
                    &vertex,
                    label,
                    &format!("DONE {:.2}s", duration.as_secs_f64()),
                );
            }
            Event::Failed { vertex, error } => {
                let (_, label) = steps.label(&vertex);
                drop(steps);
                self.finish(&vertex, label, &format!("ERROR {error}"));
            }
            Event::Note { message } => {
                let _ = self.multi.println(message);
            }
        }
    }
}
