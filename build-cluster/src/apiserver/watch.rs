//! `?watch=1`: a stream of newline-delimited JSON watch events, starting from a resourceVersion
//! (replayed from the history) or from the current state (synthetic ADDED events), with the
//! `sendInitialEvents` bookmark that client-go's watch-list expects.

use super::handlers::{Query, Target, present, selectors};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Change, EventType, Store};
use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

struct Filter {
    target: Target,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    fn in_scope(&self, c: &Change) -> bool {
        c.key.group == self.target.rt.group
            && c.key.plural == self.target.rt.plural
            && self
                .target
                .namespace
                .as_deref()
                .is_none_or(|n| n == c.key.namespace)
            && self.target.name.as_deref().is_none_or(|n| n == c.key.name)
    }

    /// The event a watcher with this filter sees for a change, if any.
    fn event(&self, c: &Change) -> Option<Bytes> {
        if !self.in_scope(c) {
            return None;
        }
        let now = self.matches(&c.object);
        let before = c.prev.as_ref().is_some_and(|p| self.matches(p));
        let ty = match c.kind {
            EventType::Added if now => "ADDED",
            EventType::Modified if now && before => "MODIFIED",
            EventType::Modified if now => "ADDED",
            EventType::Modified if before => "DELETED",
            EventType::Deleted if before => "DELETED",
            _ => return None,
        };
        Some(line(ty, &present(&c.object, &self.target.rt)))
    }
}

fn line(ty: &str, obj: &Value) -> Bytes {
    let mut s = json!({"type": ty, "object": obj}).to_string();
    s.push('\n');
    Bytes::from(s)
}

struct Watcher {
    pending: VecDeque<Bytes>,
    rx: broadcast::Receiver<Arc<Change>>,
    filter: Filter,
    deadline: Instant,
    shutdown: watch::Receiver<bool>,
}

/// Open a watch; errors (bad selectors) are returned before any byte is streamed.
pub fn open(
    store: &Store,
    target: Target,
    q: &Query,
    shutdown: watch::Receiver<bool>,
) -> Result<impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + use<>, ApiError> {
    let (labels, fields) = selectors(q)?;
    let filter = Filter {
        target,
        labels,
        fields,
    };
    let state = store.lock();
    let rx = state.subscribe();
    let mut pending = VecDeque::new();
    let rv: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let initial = q.get("sendInitialEvents").map(String::as_str) == Some("true");
    if rv == 0 || initial {
        let rt = &filter.target.rt;
        for obj in state.list(&rt.group, &rt.plural, filter.target.namespace.as_deref()) {
            let name_ok = filter
                .target
                .name
                .as_deref()
                .is_none_or(|n| obj["metadata"]["name"] == n);
            if name_ok && filter.matches(&obj) {
                pending.push_back(line("ADDED", &present(&obj, rt)));
            }
        }
        if initial {
            let bookmark = json!({"kind": rt.kind, "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": state.rv.to_string(),
                             "annotations": {"k8s.io/initial-events-end": "true"}}});
            pending.push_back(line("BOOKMARK", &bookmark));
        }
    } else {
        let start = state.history.partition_point(|c| c.rv <= rv);
        for c in &state.history[start..] {
            if let Some(b) = filter.event(c) {
                pending.push_back(b);
            }
        }
    }
    drop(state);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let w = Watcher {
        pending,
        rx,
        filter,
        deadline: Instant::now() + Duration::from_secs(timeout),
        shutdown,
    };
    Ok(futures::stream::unfold(w, next))
}

async fn next(mut w: Watcher) -> Option<(Result<Bytes, std::convert::Infallible>, Watcher)> {
    loop {
        if let Some(b) = w.pending.pop_front() {
            return Some((Ok(b), w));
        }
        if *w.shutdown.borrow() {
            return None;
        }
        tokio::select! {
            r = w.rx.recv() => match r {
                Ok(c) => {
                    if let Some(b) = w.filter.event(&c) {
                        return Some((Ok(b), w));
                    }
                }
                // Lagging or closed: end the stream; clients re-list and watch again.
                Err(_) => return None,
            },
            _ = tokio::time::sleep_until(w.deadline) => return None,
            _ = w.shutdown.changed() => return None,
        }
    }
}
