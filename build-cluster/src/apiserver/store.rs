//! The object store: every object by (group, resource, namespace, name), a global
//! resourceVersion counter, the full event history (for watches that resume) and a broadcast
//! channel for live watches.

use super::resources::Registry;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// Where an object lives. Versions of one resource share storage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(group: &str, plural: &str, namespace: &str, name: &str) -> Key {
        Key {
            group: group.to_string(),
            plural: plural.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// A stored object. `system` marks objects the server made itself (default namespaces, the node,
/// pods of workload controllers): they are served like any other but are not part of the recording.
#[derive(Debug, Clone)]
pub struct Entry {
    pub object: Arc<Value>,
    pub system: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as watches see it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: EventType,
    pub key: Key,
    pub object: Arc<Value>,
    pub prev: Option<Arc<Value>>,
}

/// Mutable server state, always used under the store's lock.
pub struct State {
    pub rv: u64,
    pub registry: Registry,
    pub objects: BTreeMap<Key, Entry>,
    pub history: Vec<Arc<Change>>,
    /// Last configuration applied server-side, per object and field manager.
    pub applied: HashMap<(Key, String), Value>,
    /// Counter for cluster IPs.
    pub next_ip: u32,
    tx: broadcast::Sender<Arc<Change>>,
}

/// Shared handle on the state.
pub struct Store {
    state: Mutex<State>,
}

impl Store {
    pub fn new() -> Store {
        let (tx, _) = broadcast::channel(16_384);
        Store {
            state: Mutex::new(State {
                rv: 1,
                registry: Registry::builtin(),
                objects: BTreeMap::new(),
                history: Vec::new(),
                applied: HashMap::new(),
                next_ip: 10,
                tx,
            }),
        }
    }

    /// Lock the state; a poisoned lock is recovered (the state is always left consistent).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

impl State {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    pub fn get(&self, key: &Key) -> Option<&Entry> {
        self.objects.get(key)
    }

    fn emit(&mut self, change: Change) {
        let change = Arc::new(change);
        self.history.push(change.clone());
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(change);
    }

    /// Store an object (create or replace), stamping a new resourceVersion.
    pub fn put(&mut self, key: Key, mut obj: Value, system: bool) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        let prev = self.objects.insert(
            key.clone(),
            Entry {
                object: obj.clone(),
                system,
            },
        );
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(Change {
            rv,
            kind,
            key,
            object: obj.clone(),
            prev: prev.map(|e| e.object),
        });
        obj
    }

    /// Remove one object (no cascading).
    pub fn remove(&mut self, key: &Key) -> Option<Arc<Value>> {
        let entry = self.objects.remove(key)?;
        self.applied.retain(|(k, _), _| k != key);
        self.rv += 1;
        let rv = self.rv;
        let mut obj = (*entry.object).clone();
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        self.emit(Change {
            rv,
            kind: EventType::Deleted,
            key: key.clone(),
            object: obj.clone(),
            prev: Some(entry.object),
        });
        Some(obj)
    }

    /// Remove an object and, recursively, everything it owns (ownerReferences), everything in it
    /// when it is a namespace, and every custom resource when it is a CRD.
    pub fn remove_cascade(&mut self, key: &Key) -> Option<Arc<Value>> {
        let removed = self.remove(key)?;
        let uid = removed
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut dependents: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, e)| owned_by(&e.object, &uid))
            .map(|(k, _)| k.clone())
            .collect();
        if key.group.is_empty() && key.plural == "namespaces" {
            dependents.extend(
                self.objects
                    .keys()
                    .filter(|k| k.namespace == key.name)
                    .cloned(),
            );
        }
        if key.group == "apiextensions.k8s.io" && key.plural == "customresourcedefinitions" {
            let (group, plural) = crd_group_plural(&removed);
            dependents.extend(
                self.objects
                    .keys()
                    .filter(|k| k.group == group && k.plural == plural)
                    .cloned(),
            );
            self.registry.remove_crd(&key.name);
        }
        for dep in dependents {
            self.remove_cascade(&dep);
        }
        Some(removed)
    }

    /// Objects of one resource, optionally in one namespace.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        self.objects
            .iter()
            .filter(|(k, _)| {
                k.group == group && k.plural == plural && namespace.is_none_or(|n| k.namespace == n)
            })
            .map(|(_, e)| e.object.clone())
            .collect()
    }

    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.objects
            .contains_key(&Key::new("", "namespaces", "", ns))
    }

    /// Next address of the service range 10.96.0.0/12.
    pub fn allocate_ip(&mut self) -> String {
        self.next_ip += 1;
        let n = self.next_ip;
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }
}

fn owned_by(obj: &Value, uid: &str) -> bool {
    !uid.is_empty()
        && obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)))
}

/// `(spec.group, spec.names.plural)` of a CRD object.
pub fn crd_group_plural(crd: &Value) -> (String, String) {
    let s = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("/spec/group"), s("/spec/names/plural"))
}

#[cfg(test)]
#[path = "../tests/apiserver_store.rs"]
mod tests;
