//! Unit tests of `graph`.

use super::*;

fn copy(dest: &str) -> Op {
    Op::Copy(CopyOp {
        sources: vec![CopySource::Context {
            path: "a.yaml".into(),
        }],
        dest: dest.into(),
        extract_archives: false,
    })
}

fn info(name: &str, line: usize) -> VertexInfo {
    VertexInfo {
        name: name.into(),
        location: Some(Location {
            file: "Kubefile".into(),
            line,
            column: 1,
        }),
    }
}

#[test]
fn digest_covers_op_and_inputs_not_info() {
    let mut a = Definition::default();
    let s = a.add(
        Vertex {
            op: Op::Scratch,
            inputs: vec![],
        },
        info("FROM scratch", 1),
    );
    let c1 = a.add(
        Vertex {
            op: copy("manifests/"),
            inputs: vec![s.clone()],
        },
        info("COPY", 2),
    );
    let mut b = Definition::default();
    let s2 = b.add(
        Vertex {
            op: Op::Scratch,
            inputs: vec![],
        },
        info("from scratch", 7),
    );
    let c2 = b.add(
        Vertex {
            op: copy("manifests/"),
            inputs: vec![s2],
        },
        info("copy, elsewhere", 9),
    );
    assert_eq!(c1, c2, "names and locations are outside the digest");
    let c3 = b.add(
        Vertex {
            op: copy("other/"),
            inputs: vec![s],
        },
        info("COPY", 2),
    );
    assert_ne!(c1, c3);
    b.output = Some(c3);
    assert!(b.validate().is_ok());
}

#[test]
fn validate_rejects_dangling_inputs() {
    let mut d = Definition::default();
    let v = Vertex {
        op: copy("x"),
        inputs: vec![VertexDigest("sha256:00".into())],
    };
    let id = d.add(v, info("COPY", 1));
    d.output = Some(id);
    assert!(matches!(
        d.validate(),
        Err(GraphError::DanglingInput { .. })
    ));
}
