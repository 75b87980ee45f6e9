//! Unit tests of `embed`.

use super::*;

#[test]
fn image_lists_and_owners() {
    assert_eq!(
        parse_image_list("# c\nnginx:1.25\n\n  docker.io/x/y:1 # why\n"),
        vec!["nginx:1.25", "docker.io/x/y:1"]
    );
    assert_eq!(image_list_owner("manifests/imageList"), Some(String::new()));
    assert_eq!(
        image_list_owner("application/apps/web/imageList"),
        Some("web".to_string())
    );
    assert_eq!(image_list_owner("application/apps/web/sub/imageList"), None);
    assert!(same_image("nginx", "docker.io/library/nginx:latest"));
    assert!(!same_image("quay.io/x/y:1", "docker.io/x/y:1"));
}
