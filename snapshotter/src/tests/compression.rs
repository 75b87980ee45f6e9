//! Unit tests of `compression`.

use super::*;

#[test]
fn media_types_round_trip() {
    for c in [
        Compression::Zstd { level: 3 },
        Compression::Gzip { level: 6 },
        Compression::None,
    ] {
        let codec = codec_for(c.media_type()).unwrap();
        let want = match c {
            Compression::Zstd { .. } => Codec::Zstd,
            Compression::Gzip { .. } => Codec::Gzip,
            Compression::None => Codec::Plain,
        };
        assert_eq!(codec, want);
    }
    assert_eq!(
        codec_for("application/vnd.docker.image.rootfs.diff.tar.gzip").unwrap(),
        Codec::Gzip
    );
    assert_eq!(
        codec_for("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd").unwrap(),
        Codec::Zstd
    );
    assert!(codec_for("application/json").is_err());
    assert_eq!(Compression::default(), Compression::Zstd { level: 3 });
}
