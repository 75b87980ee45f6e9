//! A bounded HTTP load generator: N concurrent clients, each doing a fixed number of GETs over
//! plain HTTP on loopback, bodies streamed and counted (never buffered whole).

use anyhow::{Context, Result, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Accept header of a registry client asking for an image manifest.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// One load phase: `clients` tasks × `per_client` GETs, cycling through `paths`.
pub struct Phase {
    pub clients: usize,
    pub per_client: usize,
    pub paths: Vec<String>,
    /// Expected body length of each path (same order), checked on every answer.
    pub sizes: Vec<u64>,
    pub accept: Option<&'static str>,
    /// Give up after this long.
    pub limit: Duration,
}

/// What a phase achieved.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub requests: u64,
    pub bytes: u64,
    pub wall: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Throughput {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64()
    }
    pub fn req_per_s(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// A client for plain-HTTP loopback use (reqwest needs a rustls provider even then).
pub fn client() -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .context("build HTTP client")
}

/// GET `url` and count the body; fails on any status but 200 or a length mismatch.
async fn get(client: &reqwest::Client, url: &str, accept: Option<&str>, size: u64) -> Result<u64> {
    let mut req = client.get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let mut resp = req.send().await.with_context(|| format!("GET {url}"))?;
    if resp.status() != reqwest::StatusCode::OK {
        bail!("GET {url}: status {}", resp.status());
    }
    let mut n = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .with_context(|| format!("body of {url}"))?
    {
        n += chunk.len() as u64;
    }
    if n != size {
        bail!("GET {url}: {n} bytes, expected {size}");
    }
    Ok(n)
}

/// Run one phase against `base` (`http://127.0.0.1:PORT`).
pub async fn run_phase(client: &reqwest::Client, base: &str, phase: &Phase) -> Result<Throughput> {
    let urls: Arc<Vec<(String, u64)>> = Arc::new(
        phase
            .paths
            .iter()
            .zip(&phase.sizes)
            .map(|(p, s)| (format!("{base}{p}"), *s))
            .collect(),
    );
    if urls.is_empty() {
        bail!("load phase without paths");
    }
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(phase.clients);
    for c in 0..phase.clients {
        let (client, urls, accept, n) =
            (client.clone(), urls.clone(), phase.accept, phase.per_client);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n);
            let mut bytes = 0u64;
            for i in 0..n {
                let (url, size) = &urls[(c + i) % urls.len()];
                let t = Instant::now();
                bytes += get(&client, url, accept, *size).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok((bytes, lat))
        }));
    }
    let joined = tokio::time::timeout(phase.limit, futures::future::join_all(tasks))
        .await
        .with_context(|| format!("load phase did not finish within {:?}", phase.limit))?;
    let wall = start.elapsed();
    let mut bytes = 0u64;
    let mut lat = Vec::new();
    for j in joined {
        let (b, l) = j.context("client task panicked")??;
        bytes += b;
        lat.extend(l);
    }
    lat.sort();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat.get(i).copied().unwrap_or_default()
    };
    Ok(Throughput {
        requests: lat.len() as u64,
        bytes,
        wall,
        p50: pct(0.50),
        p99: pct(0.99),
    })
}

/// The first layer's digest and size, and the manifest's own length, of `repo:v1` on `base`.
pub async fn first_layer(
    client: &reqwest::Client,
    base: &str,
    repo: &str,
) -> Result<(String, u64, u64)> {
    let url = format!("{base}/v2/{repo}/manifests/v1");
    let resp = client
        .get(&url)
        .header("Accept", MANIFEST_ACCEPT)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !resp.status().is_success() {
        bail!("GET {url}: status {}", resp.status());
    }
    let body = resp.bytes().await?;
    let m: serde_json::Value = serde_json::from_slice(&body)?;
    let layer = m["layers"]
        .as_array()
        .and_then(|l| l.first())
        .with_context(|| format!("{url} has no layers"))?;
    let digest = layer["digest"]
        .as_str()
        .context("layer digest")?
        .to_string();
    let size = layer["size"].as_u64().context("layer size")?;
    Ok((digest, size, body.len() as u64))
}
