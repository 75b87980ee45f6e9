//! Memory stays flat while a large blob goes through a chunked push, the server, and a
//! pull into a layout (client and server in this process; nothing else runs in it).

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sealer_registry_shim::client::{
    BlobSource, Client, ClientConfig, CredentialStore, LayoutSink, PushOptions, SourceError,
};
use sealer_registry_shim::digest::{Digest, Hasher};
use sealer_registry_shim::distribution_layout::Layout;
use sealer_registry_shim::reference::ImageReference;
use sealer_registry_shim::server::{ServeConfig, serve};

const BLOCK: usize = 64 * 1024;

/// Deterministic bytes generated on the fly (never held in memory): a fixed pseudo-random
/// 64 KiB block, with each block's first 8 bytes replaced by its index.
struct Gen {
    block: Arc<Vec<u8>>,
    pos: u64,
    size: u64,
}

impl Gen {
    fn new(size: u64) -> Self {
        let mut s = 0x9e3779b97f4a7c15u64;
        let block = (0..BLOCK)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect();
        Self {
            block: Arc::new(block),
            pos: 0,
            size,
        }
    }
}

impl Read for Gen {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let off = (self.pos % BLOCK as u64) as usize;
        let n = buf
            .len()
            .min(BLOCK - off)
            .min((self.size - self.pos) as usize);
        buf[..n].copy_from_slice(&self.block[off..off + n]);
        let idx = (self.pos / BLOCK as u64).to_le_bytes();
        if off < 8 {
            let end = (off + n).min(8);
            buf[..end - off].copy_from_slice(&idx[off..end]);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A source with one big generated layer plus a small config and manifest in memory.
struct BigSource {
    size: u64,
    layer: Digest,
    small: sealer_registry_shim::client::MemoryStore,
}

impl BlobSource for BigSource {
    fn open_blob(&self, d: &Digest) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        if *d == self.layer {
            return Ok((Box::new(Gen::new(self.size)), self.size));
        }
        self.small.open_blob(d)
    }
}

fn rss_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_blob_streams_with_flat_memory() {
    // 64 MiB by default (debug builds hash slowly); SEALER_TEST_BIG_BLOB_MIB=1024 for 1 GiB.
    let size: u64 = std::env::var("SEALER_TEST_BIG_BLOB_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
        << 20;
    eprintln!(
        "RSS at start {} MiB, peak so far {} MiB",
        rss_kib("VmRSS:") / 1024,
        rss_kib("VmHWM:") / 1024
    );
    let mut h = Hasher::new();
    let mut g = Gen::new(size);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = g.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    drop(buf);
    let layer = h.finish();
    eprintln!(
        "RSS after hashing {} MiB, peak so far {} MiB",
        rss_kib("VmRSS:") / 1024,
        rss_kib("VmHWM:") / 1024
    );
    let small = sealer_registry_shim::client::MemoryStore::new();
    let config = small.insert(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
    );
    let manifest = small.insert(
        serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 78},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.to_string(), "size": size}]
        })
        .to_string()
        .into_bytes(),
    );
    let t = tempfile::tempdir().unwrap();
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServeConfig::new(t.path().join("reg"))
    })
    .await
    .unwrap();
    let client = Client::new(ClientConfig {
        credentials: CredentialStore::none(),
        chunk_size: 48 << 20,
        stall_timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    })
    .unwrap();
    let before = rss_kib("VmRSS:");
    let target = ImageReference::parse(&format!("{}/big/blob:v1", srv.local_addr())).unwrap();
    let src = BigSource {
        size,
        layer: layer.clone(),
        small,
    };
    let rep = client
        .push(&target, Arc::new(src), &manifest, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(rep.bytes_uploaded, size + 78);
    let dest = Layout::new(t.path().join("dest"));
    let pulled = client
        .pull(
            &target,
            &Default::default(),
            Arc::new(LayoutSink::new(dest.clone(), "big/blob")),
        )
        .await
        .unwrap();
    assert_eq!(pulled.bytes_fetched, size + 78);
    assert_eq!(
        std::fs::metadata(dest.blob_path(&layer)).unwrap().len(),
        size
    );
    let peak = rss_kib("VmHWM:");
    srv.shutdown().await;
    let grew_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "blob {} MiB: RSS before {} MiB, peak {} MiB",
        size >> 20,
        before / 1024,
        peak / 1024
    );
    assert!(
        grew_mib < 40,
        "memory grew by {grew_mib} MiB moving a {} MiB blob",
        size >> 20
    );
}
