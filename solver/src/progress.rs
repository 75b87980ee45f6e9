//! Progress events: the solver reports, the CLI renders (TTY bars, plain lines or JSON).

use crate::graph::VertexDigest;
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;

/// One thing that happened to a vertex.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Known before solving starts: every vertex, in order, with its step number.
    Planned {
        vertex: VertexDigest,
        step: usize,
        name: String,
    },
    /// The result came from the cache; nothing ran.
    Cached {
        vertex: VertexDigest,
        key: String,
    },
    Started {
        vertex: VertexDigest,
    },
    /// One line of output of a running step.
    Log {
        vertex: VertexDigest,
        stream: Stream,
        line: String,
    },
    Completed {
        vertex: VertexDigest,
        #[serde(with = "duration_ms")]
        duration: Duration,
    },
    Failed {
        vertex: VertexDigest,
        error: String,
    },
    /// A free-form note about the build as a whole (export, warnings).
    Note {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

mod duration_ms {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// Receives events; must be cheap and thread-safe.
pub trait ProgressSink: Send + Sync {
    fn event(&self, event: Event);
}

/// Discards everything.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn event(&self, _: Event) {}
}

/// Keeps every event (tests).
#[derive(Default)]
pub struct RecordingProgress {
    pub events: Mutex<Vec<Event>>,
}

impl RecordingProgress {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ProgressSink for RecordingProgress {
    fn event(&self, event: Event) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event);
        }
    }
}
