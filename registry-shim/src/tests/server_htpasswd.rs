//! Unit tests of `server::htpasswd`.

use super::*;

#[test]
fn verifies_bcrypt() {
    let hash = bcrypt::hash("secret", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let h = Htpasswd::parse(&format!("# users\nalice:{hash}\n")).unwrap();
    let enc = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    assert!(h.check(Some(&enc("alice:secret"))));
    assert!(h.check(Some(&enc("alice:secret"))));
    assert!(!h.check(Some(&enc("alice:wrong"))));
    assert!(!h.check(Some(&enc("bob:secret"))));
    assert!(!h.check(None));
    assert!(Htpasswd::parse("bob:{SHA}abc").is_err());
}
