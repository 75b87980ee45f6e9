//! Variables in scope at a Kubefile line: predefined platform args, ARG, ENV, build args.

use sealer_image_cache::sealer_meta::Platform;
use std::collections::BTreeMap;

/// Variable lookup following Docker: ENV wins over ARG; ARGs declared before FROM are only
/// visible to FROM unless declared again after it.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    predefined: BTreeMap<String, String>,
    build_args: BTreeMap<String, String>,
    pre_from_args: BTreeMap<String, Option<String>>,
    args: BTreeMap<String, Option<String>>,
    pub env: BTreeMap<String, String>,
    after_from: bool,
}

impl Scope {
    pub fn new(platform: &Platform, build_args: &BTreeMap<String, String>) -> Scope {
        let mut predefined = BTreeMap::new();
        predefined.insert("ARCH".to_string(), platform.architecture.clone());
        predefined.insert("TARGETARCH".to_string(), platform.architecture.clone());
        predefined.insert("TARGETOS".to_string(), platform.os.clone());
        predefined.insert("TARGETVARIANT".to_string(), platform.variant.clone());
        predefined.insert("TARGETPLATFORM".to_string(), platform.to_string());
        Scope {
            predefined,
            build_args: build_args.clone(),
            ..Scope::default()
        }
    }

    /// FROM has been processed: later ARGs and lookups are the build stage's.
    pub fn enter_stage(&mut self, base_env: &BTreeMap<String, String>) {
        self.after_from = true;
        self.env = base_env.clone();
    }

    pub fn lookup(&self, name: &str) -> Option<String> {
        if self.after_from {
            if let Some(v) = self.env.get(name) {
                return Some(v.clone());
            }
            if let Some(v) = self.args.get(name) {
                return v.clone();
            }
        } else if let Some(v) = self.pre_from_args.get(name) {
            return v.clone();
        }
        self.predefined.get(name).cloned()
    }

    /// `ARG name[=default]`: the build arg wins over the default.
    pub fn declare(&mut self, name: &str, default: Option<String>) {
        let inherited = if self.after_from {
            self.pre_from_args.get(name).cloned().flatten()
        } else {
            None
        };
        let value = self
            .build_args
            .get(name)
            .cloned()
            .or(default)
            .or(inherited)
            .or_else(|| self.predefined.get(name).cloned());
        let target = if self.after_from {
            &mut self.args
        } else {
            &mut self.pre_from_args
        };
        target.insert(name.to_string(), value);
    }

    /// A hint on why `name` is not set.
    pub fn undefined_hint(&self, name: &str) -> String {
        if self.after_from && !self.args.contains_key(name) && self.pre_from_args.contains_key(name)
        {
            return format!(
                "ARG {name} is declared before FROM, which only makes it visible to FROM; declare it again after FROM (`ARG {name}`)"
            );
        }
        let declared = if self.after_from {
            &self.args
        } else {
            &self.pre_from_args
        };
        if declared.contains_key(name) {
            return format!(
                "pass --build-arg {name}=<value> or give it a default: ARG {name}=<default>"
            );
        }
        format!(
            "declare it with ARG {name}=<default> or ENV {name}=<value>, or write ${{{name}:-default}}"
        )
    }

    /// Environment of a RUN step: ARGs with a value and ENV (which wins), sorted by name.
    pub fn run_env(&self) -> Vec<(String, String)> {
        let mut all: BTreeMap<String, String> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        all.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.into_iter().collect()
    }
}
