//! HTTPS serving with rustls (ring) and a client trusting a private CA, or marking the
//! registry insecure.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use sealer_registry_shim::client::{Client, ClientConfig, CredentialStore, PushOptions};
use sealer_registry_shim::reference::ImageReference;
use sealer_registry_shim::server::{ServeConfig, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_private_ca_and_insecure_flag() {
    if missing(&["openssl"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (cert, key) = (t.path().join("cert.pem"), t.path().join("key.pem"));
    // a private CA and a leaf certificate for 127.0.0.1 signed by it
    let (ca, ca_key, csr) = (
        t.path().join("ca.pem"),
        t.path().join("ca.key"),
        t.path().join("leaf.csr"),
    );
    let ext = t.path().join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let p = |s: &std::path::Path| s.to_str().unwrap().to_string();
    for args in [
        vec![
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            &p(&ca_key),
            "-out",
            &p(&ca),
        ],
        vec![
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &p(&key),
            "-out",
            &p(&csr),
        ],
        vec![
            "x509",
            "-req",
            "-in",
            &p(&csr),
            "-CA",
            &p(&ca),
            "-CAkey",
            &p(&ca_key),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &p(&ext),
            "-out",
            &p(&cert),
        ],
    ] {
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: Some((cert.clone(), key)),
        ..ServeConfig::new(t.path().join("reg"))
    })
    .await
    .unwrap();
    assert!(srv.url().starts_with("https://"));
    let ca_pem = ca.clone();
    let mk = |ca: bool, insecure: bool| {
        Client::new(ClientConfig {
            credentials: CredentialStore::none(),
            endpoints: [("secure.test".to_string(), srv.url())].into(),
            ca_files: if ca { vec![ca_pem.clone()] } else { vec![] },
            insecure_registries: if insecure {
                vec!["secure.test".into()]
            } else {
                vec![]
            },
            retry: sealer_registry_shim::client::RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            },
            ..ClientConfig::default()
        })
        .unwrap()
    };
    let img = small_image("over tls");
    let target = ImageReference::parse("secure.test/tls/app:v1").unwrap();
    let err = mk(false, false)
        .push(
            &target,
            Arc::new(img.store.clone()),
            &img.manifest,
            &PushOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
    mk(true, false)
        .push(
            &target,
            Arc::new(img.store.clone()),
            &img.manifest,
            &PushOptions::default(),
        )
        .await
        .unwrap();
    let mem = Arc::new(sealer_registry_shim::client::MemoryStore::new());
    let pulled = mk(false, true)
        .pull(&target, &Default::default(), mem)
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);
    srv.shutdown().await;
}
