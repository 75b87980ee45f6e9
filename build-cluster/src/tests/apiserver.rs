//! Unit tests of `apiserver`.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[tokio::test]
async fn starts_fast_and_serves_plain_http() {
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = ApiServer::start(ServerConfig::default()).await.unwrap();
        times.push(t.elapsed());
        s.stop().await;
    }
    times.sort();
    println!(
        "embedded API server start: median {:?}, max {:?}",
        times[2], times[4]
    );
    let s = ApiServer::start(ServerConfig::default()).await.unwrap();
    let (code, body) = http(s.addr(), "GET", "/version", "").await;
    assert_eq!(code, 200);
    assert!(body.contains("\"gitVersion\":\"v1.32.0\""), "{body}");
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}"#;
    let (code, _) = http(
        s.addr(),
        "POST",
        "/api/v1/namespaces/default/configmaps",
        cm,
    )
    .await;
    assert_eq!(code, 201);
    let (code, body) = http(
        s.addr(),
        "POST",
        "/api/v1/namespaces/default/configmaps",
        cm,
    )
    .await;
    assert_eq!(code, 409);
    assert!(body.contains("\"reason\":\"AlreadyExists\""), "{body}");
    let (code, body) = http(s.addr(), "GET", "/apis/nope.io/v1/things", "").await;
    assert_eq!(code, 404);
    assert!(
        body.contains("the server could not find the requested resource"),
        "{body}"
    );
    assert!(
        s.kubeconfig_yaml()
            .contains(&format!("server: http://{}", s.addr()))
    );
    assert_eq!(s.snapshot().len(), 1);
    assert!(s.snapshot_all().len() > 5);
    assert_eq!(s.stats().requests, 4);
    s.stop().await;
}
