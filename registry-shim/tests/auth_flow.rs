//! Bearer-token challenge flow against a small registry stand-in with its own token service
//! (what Docker Hub, Harbor and quay do): token fetched with basic credentials, cached per
//! scope, refused credentials reported clearly; `login` through the same flow.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine as _;
use common::*;
use sealer_registry_shim::client::{
    Client, ClientConfig, Credential, CredentialStore, MemoryStore,
};
use sealer_registry_shim::digest::Digest;
use sealer_registry_shim::reference::ImageReference;

struct Fake {
    img: TestImage,
    base: String,
    token_requests: AtomicUsize,
}

async fn handler(State(f): State<Arc<Fake>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let reply = |status: u16, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .body(Body::from(body))
            .unwrap()
    };
    if path == "/token" {
        f.token_requests.fetch_add(1, Ordering::SeqCst);
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:pw")
        );
        if auth != good {
            return reply(
                401,
                br#"{"details":"incorrect username or password"}"#.to_vec(),
            );
        }
        let q = req.uri().query().unwrap_or("");
        let scope: String = form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        return reply(
            200,
            serde_json::json!({"token": format!("tok:{scope}"), "expires_in": 300})
                .to_string()
                .into_bytes(),
        );
    }
    let needed = match path.strip_prefix("/v2/").and_then(|p| {
        p.split("/manifests/")
            .next()
            .map(|n| n.split("/blobs/").next().unwrap_or(n))
    }) {
        Some("") | None => String::new(),
        Some(name) => format!("repository:{name}:pull"),
    };
    let authorized = auth
        .strip_prefix("Bearer tok:")
        .is_some_and(|s| needed.is_empty() || s.contains(&needed));
    if !authorized {
        let mut r = reply(
            401,
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.to_vec(),
        );
        let challenge = format!(
            r#"Bearer realm="{}/token",service="fake-registry",scope="{needed}""#,
            f.base
        );
        r.headers_mut()
            .insert("www-authenticate", challenge.parse().unwrap());
        return r;
    }
    if path == "/v2/" {
        return reply(200, b"{}".to_vec());
    }
    let d = if path.ends_with("/manifests/v1") {
        f.img.manifest.clone()
    } else {
        match path.rsplit('/').next().and_then(|d| Digest::parse(d).ok()) {
            Some(d) => d,
            None => return reply(404, vec![]),
        }
    };
    match f.img.store.get(&d) {
        Some(b) => {
            let mut r = reply(200, b);
            r.headers_mut()
                .insert("docker-content-digest", d.to_string().parse().unwrap());
            if d == f.img.manifest {
                r.headers_mut().insert(
                    "content-type",
                    "application/vnd.oci.image.manifest.v1+json"
                        .parse()
                        .unwrap(),
                );
            }
            r
        }
        None => reply(404, vec![]),
    }
}

fn client(creds: CredentialStore) -> Client {
    Client::new(ClientConfig {
        credentials: creds,
        ..ClientConfig::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow_and_login() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let fake = Arc::new(Fake {
        img: small_image("behind a token service"),
        base: format!("http://{addr}"),
        token_requests: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .fallback(handler)
        .with_state(fake.clone());
    let _server = tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let r = ImageReference::parse(&format!("{addr}/team/app:v1")).unwrap();
    let good = CredentialStore::none().with_credential(
        &addr,
        Credential::Basic {
            username: "alice".into(),
            password: "pw".into(),
        },
    );
    let mem = Arc::new(MemoryStore::new());
    let pulled = client(good)
        .pull(&r, &Default::default(), mem.clone())
        .await
        .unwrap();
    assert_eq!(pulled.digest, fake.img.manifest);
    assert_eq!(
        mem.get(&fake.img.layers[0]),
        fake.img.store.get(&fake.img.layers[0])
    );
    // one token for the repository scope, reused for manifest and blob requests
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 1);
    // wrong password: the token service's refusal is reported
    let bad = CredentialStore::none().with_credential(
        &addr,
        Credential::Basic {
            username: "alice".into(),
            password: "nope".into(),
        },
    );
    let e = client(bad)
        .pull(&r, &Default::default(), Arc::new(MemoryStore::new()))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("token request answered 401") && msg.contains("team/app:v1"),
        "{msg}"
    );
    // anonymous: the token service refuses too
    let e = client(CredentialStore::none())
        .pull(&r, &Default::default(), Arc::new(MemoryStore::new()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not authorized"), "{e}");
    // login through the bearer flow writes both files
    let home = tempfile::tempdir().unwrap();
    let files = CredentialStore {
        docker_config: Some(home.path().join("config.json")),
        sealer_auth: Some(home.path().join("auth.json")),
        ..Default::default()
    };
    let e = client(files.clone())
        .login(&addr, "alice", "wrong")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("login refused"), "{e}");
    let written = client(files.clone())
        .login(&addr, "alice", "pw")
        .await
        .unwrap();
    assert_eq!(written.len(), 2);
    let mem = Arc::new(MemoryStore::new());
    client(files.clone())
        .pull(&r, &Default::default(), mem)
        .await
        .unwrap();
    assert!(client(files.clone()).logout(&addr).await.unwrap());
    let e = client(files)
        .pull(&r, &Default::default(), Arc::new(MemoryStore::new()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not authorized"), "{e}");
}
