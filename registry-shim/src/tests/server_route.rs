//! Unit tests of `server::route`.

use super::*;

#[test]
fn parses_multi_segment_names() {
    assert_eq!(parse(""), Some(Route::Ping));
    assert_eq!(parse("_catalog"), Some(Route::Catalog));
    assert_eq!(
        parse("docker.io/library/nginx/manifests/1.25"),
        Some(Route::Manifest {
            name: "docker.io/library/nginx".into(),
            reference: "1.25".into()
        })
    );
    assert_eq!(
        parse("a/b/c/tags/list"),
        Some(Route::Tags {
            name: "a/b/c".into()
        })
    );
    assert_eq!(
        parse("a/blobs/uploads/"),
        Some(Route::UploadStart { name: "a".into() })
    );
    assert_eq!(
        parse("a/b/blobs/uploads/1234-ab"),
        Some(Route::Upload {
            name: "a/b".into(),
            id: "1234-ab".into()
        })
    );
    assert_eq!(
        parse("x/manifests/y/blobs/sha256:00"),
        Some(Route::Blob {
            name: "x/manifests/y".into(),
            digest: "sha256:00".into()
        })
    );
    assert_eq!(parse("../etc/manifests/x"), None);
    assert_eq!(parse("Upper/manifests/x"), None);
    assert_eq!(parse("a/unknown"), None);
}
