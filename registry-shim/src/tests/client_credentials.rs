use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn basic(u: &str, p: &str) -> Credential {
    Credential::Basic {
        username: u.into(),
        password: p.into(),
    }
}

#[tokio::test]
async fn reads_docker_and_sealer_files() {
    let t = tempfile::tempdir().unwrap();
    let docker = t.path().join("docker/config.json");
    std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
    std::fs::write(
        &docker,
        serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": b64("hub:pw")},
            "127.0.0.1:5000": {"auth": b64("local:pw2")}
        }})
        .to_string(),
    )
    .unwrap();
    let sealer = t.path().join("sealer/auth.json");
    std::fs::create_dir_all(sealer.parent().unwrap()).unwrap();
    std::fs::write(
        &sealer,
        serde_json::json!({"auths": {
            "quay.io": {"auth": b64("q:generic")},
            "quay.io/org": {"auth": b64("q:org")}
        }})
        .to_string(),
    )
    .unwrap();
    let s = CredentialStore {
        docker_config: Some(docker),
        sealer_auth: Some(sealer),
        ..Default::default()
    };
    assert_eq!(
        s.get("docker.io", "library/x").await.unwrap(),
        Some(basic("hub", "pw"))
    );
    assert_eq!(
        s.get("index.docker.io", "a/b").await.unwrap(),
        Some(basic("hub", "pw"))
    );
    assert_eq!(
        s.get("127.0.0.1:5000", "x").await.unwrap(),
        Some(basic("local", "pw2"))
    );
    assert_eq!(
        s.get("quay.io", "org/app").await.unwrap(),
        Some(basic("q", "org"))
    );
    assert_eq!(
        s.get("quay.io", "other/app").await.unwrap(),
        Some(basic("q", "generic"))
    );
    assert_eq!(s.get("ghcr.io", "x").await.unwrap(), None);
}

#[tokio::test]
async fn helpers_and_login_roundtrip() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let store_file = t.path().join("helper-store");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n get) read url; if [ \"$url\" = example.com ]; then echo '{{\"ServerURL\":\"example.com\",\"Username\":\"h\",\"Secret\":\"s\"}}'; else echo 'credentials not found in native keychain'; exit 1; fi;;\n store) cat > {};;\n erase) exit 0;;\nesac\n",
        store_file.display()
    );
    let helper = bin.join("docker-credential-fake");
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker = t.path().join("config.json");
    std::fs::write(
        &docker,
        r#"{"credHelpers":{"example.com":"fake"},"other":1}"#,
    )
    .unwrap();
    let sealer = t.path().join("auth.json");
    let s = CredentialStore {
        docker_config: Some(docker.clone()),
        sealer_auth: Some(sealer.clone()),
        helper_dir: Some(bin),
        fixed: HashMap::new(),
    };
    assert_eq!(
        s.get("example.com", "x").await.unwrap(),
        Some(basic("h", "s"))
    );
    // login to a helper-managed registry goes through the helper, and into sealer's file
    let written = s.store("example.com", "u", "p").await.unwrap();
    assert!(
        written.iter().any(|w| w == "docker-credential-fake"),
        "{written:?}"
    );
    let stored: Value = serde_json::from_slice(&std::fs::read(&store_file).unwrap()).unwrap();
    assert_eq!(stored["Username"], "u");
    // a registry without helper is written inline, other fields preserved
    s.store("registry.local:5000", "alice", "pw").await.unwrap();
    let cfg: Value = serde_json::from_slice(&std::fs::read(&docker).unwrap()).unwrap();
    assert_eq!(cfg["other"], 1);
    assert_eq!(cfg["auths"]["registry.local:5000"]["auth"], b64("alice:pw"));
    let only_docker = CredentialStore {
        docker_config: Some(docker.clone()),
        ..Default::default()
    };
    assert_eq!(
        only_docker.get("registry.local:5000", "x").await.unwrap(),
        Some(basic("alice", "pw"))
    );
    let only_sealer = CredentialStore {
        sealer_auth: Some(sealer.clone()),
        ..Default::default()
    };
    assert_eq!(
        only_sealer.get("registry.local:5000", "x").await.unwrap(),
        Some(basic("alice", "pw"))
    );
    // docker hub uses Docker's legacy key
    s.store("docker.io", "hub", "x").await.unwrap();
    let cfg: Value = serde_json::from_slice(&std::fs::read(&docker).unwrap()).unwrap();
    assert!(cfg["auths"][DOCKER_HUB_AUTH_KEY]["auth"].is_string());
    assert!(s.erase("registry.local:5000").await.unwrap());
    assert_eq!(s.get("registry.local:5000", "x").await.unwrap(), None);
}
