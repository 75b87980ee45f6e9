//! Unit tests of `chain_files`.

use super::*;
use std::io::Write;

fn layer(dir: &Path, name: &str, entries: &[(&str, Option<&str>)]) -> LayerBlobRef {
    let path = dir.join(name);
    let mut builder = tar::Builder::new(Vec::new());
    for (p, content) in entries {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) => {
                h.set_size(c.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_cksum();
                builder.append_data(&mut h, p, c.as_bytes()).unwrap();
            }
            None => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_cksum();
                builder.append_data(&mut h, p, &[][..]).unwrap();
            }
        }
    }
    let bytes = builder.into_inner().unwrap();
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.write_all(&bytes).unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    LayerBlobRef {
        diff_id: String::new(),
        media_type: String::new(),
        path,
    }
}

#[test]
fn later_layers_win_and_whiteouts_delete() {
    let dir = tempfile::tempdir().unwrap();
    let l1 = layer(
        dir.path(),
        "l1",
        &[
            ("manifests/imageList", Some("a\n")),
            ("application/apps/x/imageList", Some("x\n")),
            ("other.txt", Some("o")),
        ],
    );
    let l2 = layer(
        dir.path(),
        "l2",
        &[
            ("manifests/imageList", Some("b\n")),
            ("application/apps/.wh.x", Some("")),
        ],
    );
    let got = read_chain_files(&[l1, l2], &|p| p.ends_with("imageList"), 1 << 20).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got["manifests/imageList"], b"b\n");
}
