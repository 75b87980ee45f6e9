//! Progress reporting: the plan and per-host, per-phase events. Never written to stdout.

use crate::plan::{Phase, Plan};
use std::sync::Mutex;

/// Something that happened on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started {
        host: String,
        phase: Phase,
    },
    Finished {
        host: String,
        phase: Phase,
        detail: String,
    },
    Failed {
        host: String,
        phase: Phase,
        message: String,
    },
    /// A cluster-wide step on master0 (launch).
    Step {
        host: String,
        what: String,
    },
}

/// Receives the plan and progress events.
pub trait Reporter: Send + Sync {
    fn plan(&self, plan: &Plan);
    fn event(&self, event: &Event);
}

/// Writes everything to stderr, one line per event.
pub struct StderrReporter;

impl Reporter for StderrReporter {
    fn plan(&self, plan: &Plan) {
        eprint!("{plan}");
    }
    fn event(&self, event: &Event) {
        match event {
            Event::Started { host, phase } => eprintln!("[{host}] {phase}: started"),
            Event::Finished {
                host,
                phase,
                detail,
            } => {
                if detail.is_empty() {
                    eprintln!("[{host}] {phase}: done")
                } else {
                    eprintln!("[{host}] {phase}: done ({detail})")
                }
            }
            Event::Failed {
                host,
                phase,
                message,
            } => eprintln!("[{host}] {phase}: FAILED: {message}"),
            Event::Step { host, what } => eprintln!("[{host}] {what}"),
        }
    }
}

/// Keeps everything in memory (tests, or a caller rendering its own UI).
#[derive(Default)]
pub struct RecordingReporter {
    pub plans: Mutex<Vec<Plan>>,
    pub events: Mutex<Vec<Event>>,
}

impl RecordingReporter {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|g| g.clone()).unwrap_or_default()
    }
    pub fn last_plan(&self) -> Option<Plan> {
        self.plans.lock().ok().and_then(|g| g.last().cloned())
    }
    /// `(host, phase)` of every Started event, in order.
    pub fn started(&self) -> Vec<(String, Phase)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Started { host, phase } => Some((host, phase)),
                _ => None,
            })
            .collect()
    }
}

impl Reporter for RecordingReporter {
    fn plan(&self, plan: &Plan) {
        if let Ok(mut g) = self.plans.lock() {
            g.push(plan.clone());
        }
    }
    fn event(&self, event: &Event) {
        if let Ok(mut g) = self.events.lock() {
            g.push(event.clone());
        }
    }
}
