//! The observe step: run the image's launch (and each unlaunched app) against a temporary
//! cluster and record every image the workloads need.
//!
//! The solver only knows the [`Observer`] trait; the CLI implements it with the build-cluster
//! crate (embedded API server or a real cluster). Each pass is cached on its own: the launch
//! pass by the root filesystem's diffIDs, an app pass by the content of its app directory, so
//! changing one unlaunched app re-observes that app only.

use crate::checksum::source_checksum;
use crate::embed::EXTRA_OBSERVED_IMAGES;
use crate::progress::Stream;
use crate::worker::{StepError, StepResult, Worker};
use sealer_image_cache::CacheRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Key in [`StepResult::extra`] holding the discovery report JSON.
pub const EXTRA_REPORT: &str = "report";

/// The observe step's definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObserveOp {
    /// `sealer.image.extension` JSON (apps, env, launch) of the image being built.
    pub extension: String,
    /// `embedded`, or `kubeconfig:<sha256 of the file>`.
    pub backend: String,
    /// Embed `indirect` findings too.
    pub include_indirect: bool,
    /// Observe apps that are defined but not launched, each in its own pass.
    pub unlaunched_apps: bool,
    /// Extra `--image-list` files' content, scanned statically.
    pub image_lists: Vec<String>,
}

/// One pass as the observer plans it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassPlan {
    pub index: usize,
    pub name: String,
    /// The app observed by an app pass (None: the launch pass).
    pub app: Option<String>,
    /// Everything that defines the pass (commands, env), without host paths.
    pub material: String,
}

/// Runs passes against a cluster (implemented outside the solver).
pub trait Observer: Send + Sync {
    fn plan(&self, rootfs: &Path, op: &ObserveOp) -> Result<Vec<PassPlan>, String>;
    /// Run one pass; returns its report (JSON).
    fn run_pass(
        &self,
        rootfs: &Path,
        work_dir: &Path,
        op: &ObserveOp,
        pass: &PassPlan,
        log: &mut dyn FnMut(Stream, String),
    ) -> Result<String, String>;
    /// Merge pass reports with the static scan: (report JSON, images to embed as
    /// (reference, app)).
    fn finish(
        &self,
        rootfs: &Path,
        work_dir: &Path,
        op: &ObserveOp,
        pass_reports: &[String],
    ) -> Result<(String, Vec<(String, String)>), String>;
}

#[derive(Serialize)]
struct Observed<'a> {
    reference: &'a str,
    app: &'a str,
}

impl Worker {
    pub(crate) fn exec_observe(
        &self,
        op: &ObserveOp,
        inputs: &[StepResult],
        log: &mut dyn FnMut(Stream, String),
    ) -> Result<StepResult, StepError> {
        let observer = self.observer.as_ref().ok_or(StepError::NoObserver)?;
        let input = inputs.first().cloned().unwrap_or_default();
        let active = self.snapshotter.prepare(&self.blob_refs(&input.chain))?;
        let rootfs = active.rootfs().to_path_buf();
        let work = self.scratch_dir()?;
        let fail = |message: String| StepError::Observe { message };
        let result = (|| {
            let diff_ids: Vec<&str> = input.chain.iter().map(|l| l.diff_id.as_str()).collect();
            let mut reports = Vec::new();
            for pass in observer.plan(&rootfs, op).map_err(fail)? {
                let content = match &pass.app {
                    Some(app) => {
                        let dir = rootfs.join("application/apps").join(app);
                        source_checksum(&crate::checksum::ChecksumCache::in_memory(), &dir)
                            .map_err(|source| StepError::Io { path: dir, source })?
                    }
                    None => diff_ids.join(","),
                };
                let material = format!(
                    "observe-pass/v1\n{}\n{}\n{}\n{content}",
                    op.backend, pass.name, pass.material
                );
                let key = format!(
                    "sha256:{}",
                    hex::encode(Sha256::digest(material.as_bytes()))
                );
                if let Some(record) = self.cached_record(&key)?
                    && let Some(report) = record.extra.get(EXTRA_REPORT)
                {
                    log(Stream::Stdout, format!("pass {}: CACHED", pass.name));
                    reports.push(report.clone());
                    continue;
                }
                log(Stream::Stdout, format!("pass {}: running", pass.name));
                let dir = work.path().join(format!("pass-{}", pass.index));
                let report = observer
                    .run_pass(&rootfs, &dir, op, &pass, log)
                    .map_err(fail)?;
                let mut extra = BTreeMap::new();
                extra.insert(EXTRA_REPORT.to_string(), report.clone());
                self.store.put_cache_record(
                    &key,
                    &CacheRecord {
                        layers: Vec::new(),
                        created_by: format!("observe {}", pass.name),
                        extra,
                    },
                )?;
                self.touch(&key);
                reports.push(report);
            }
            observer
                .finish(&rootfs, work.path(), op, &reports)
                .map_err(fail)
        })();
        active.release()?;
        let (report, images) = result?;
        let observed: Vec<Observed> = images
            .iter()
            .map(|(reference, app)| Observed { reference, app })
            .collect();
        let mut extra = BTreeMap::new();
        extra.insert(EXTRA_REPORT.to_string(), report);
        extra.insert(
            EXTRA_OBSERVED_IMAGES.to_string(),
            serde_json::to_string(&observed).unwrap_or_else(|_| "[]".into()),
        );
        Ok(StepResult {
            chain: input.chain,
            extra,
        })
    }
}
