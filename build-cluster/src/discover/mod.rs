//! Image discovery with provenance, from the recorded objects, the observed pulls and the static
//! files of the rootfs.

mod objects;
mod reference;
mod report;
mod resolve;
mod statics;
mod text;

pub use objects::{Hit, scan_object};
pub use reference::{Reference, is_strong, is_templated, normalize, parse};
pub use report::{Confidence, ImageFinding, Provenance, Report, ReportBuilder, Unresolved};
pub use resolve::object_id;
pub use statics::{StaticInput, scan_static};
pub use text::{image_key, scan_text};

use crate::error::DiscoverError;
use crate::launch::PassRecording;

/// Images of recorded objects and observed pulls.
pub fn from_recordings(recordings: &[PassRecording]) -> ReportBuilder {
    let mut b = ReportBuilder::default();
    for rec in recordings {
        for o in &rec.objects {
            let base = Provenance {
                via: Confidence::Declared,
                app: o.app.clone(),
                object: object_id(&o.object),
                field: None,
                file: None,
            };
            for hit in scan_object(&o.object, Confidence::Declared) {
                resolve::resolve(&mut b, hit, base.clone());
            }
        }
        for p in &rec.pulls {
            let text = if parse(&p.pull.image).is_ok() {
                p.pull.image.clone()
            } else {
                p.pull.image_id.clone().unwrap_or_default()
            };
            let hit = Hit {
                text,
                via: Confidence::Pulled,
                field: p
                    .pull
                    .container
                    .as_ref()
                    .map(|c| format!("container {c} ({})", p.pull.source))
                    .unwrap_or_default(),
                container_image: true,
                require_tag: false,
            };
            let base = Provenance {
                via: Confidence::Pulled,
                app: p.app.clone(),
                object: Some(format!("Pod/{}/{}", p.pull.namespace, p.pull.pod)),
                field: None,
                file: None,
            };
            resolve::resolve(&mut b, hit, base);
        }
    }
    b
}

/// The full report: recordings plus, when given, the static files.
pub fn discover(
    recordings: &[PassRecording],
    statics: Option<&StaticInput>,
) -> Result<Report, DiscoverError> {
    let mut b = from_recordings(recordings);
    if let Some(s) = statics {
        b.merge(scan_static(s)?);
    }
    Ok(b.finish())
}
