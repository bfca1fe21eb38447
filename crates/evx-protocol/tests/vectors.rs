//! Runs every EVX1 test vector in `tests/vectors/package/` (written by
//! `examples/gen-package-vectors.rs`) and checks its stated outcome.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evx_protocol::crypto::{HpkeSecretKey, VerifyingKey, sha256};
use evx_protocol::ids::CaseId;
use evx_protocol::package::{MemoryStaging, PackageReader, Parallelism};
use evx_protocol::purpose::DeclaredPurpose;

struct Vector {
    fields: Vec<(String, String)>,
    package: Vec<u8>,
}

impl Vector {
    fn parse(bytes: &[u8]) -> Self {
        let split = bytes
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("a blank line ends the header");
        let head = std::str::from_utf8(&bytes[..split]).expect("UTF-8 header");
        let fields = head
            .lines()
            .map(|l| {
                let (k, v) = l.split_once(": ").expect("`name: value` header line");
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Self {
            fields,
            package: bytes[split + 2..].to_vec(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn key(&self, name: &str) -> [u8; 32] {
        let b = STANDARD
            .decode(self.get(name).expect(name))
            .expect("base64 key");
        b.try_into().expect("32-byte key")
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run(path: &Path, parallelism: Parallelism) -> Result<(), String> {
    let v = Vector::parse(&std::fs::read(path).map_err(|e| e.to_string())?);
    let recipient = HpkeSecretKey::from_bytes(&v.key("recipient-key"));
    let sender = VerifyingKey::from_bytes(&v.key("sender-key")).map_err(|e| e.to_string())?;
    let declared = DeclaredPurpose {
        case: CaseId::new(v.get("case").expect("case")).map_err(|e| e.to_string())?,
        purpose: v.get("purpose").expect("purpose").parse()?,
    };
    let outcome = PackageReader::new(&v.package[..]).and_then(|r| {
        r.with_parallelism(parallelism).open(
            &recipient,
            &sender,
            &declared,
            MemoryStaging::with_limit(1 << 24),
        )
    });
    match (v.get("expect"), outcome) {
        (Some("success"), Ok(opened)) => {
            let want_len: usize = v
                .get("length")
                .expect("length")
                .parse()
                .map_err(|_| "bad length")?;
            if opened.committed.len() != want_len || opened.manifest.length != want_len as u64 {
                return Err(format!("length {} != {want_len}", opened.committed.len()));
            }
            let digest = hex(&sha256(&opened.committed));
            if Some(digest.as_str()) != v.get("payload") {
                return Err(format!("payload digest {digest} != {:?}", v.get("payload")));
            }
            Ok(())
        }
        (Some("success"), Err(e)) => Err(format!("expected success, got {} ({e})", e.code())),
        (Some("error"), Ok(_)) => Err(format!(
            "expected {:?}, but the package opened",
            v.get("error")
        )),
        (Some("error"), Err(e)) if Some(e.code()) == v.get("error") => Ok(()),
        (Some("error"), Err(e)) => Err(format!(
            "expected {:?}, got {} ({e})",
            v.get("error"),
            e.code()
        )),
        (other, _) => Err(format!("unknown expectation {other:?}")),
    }
}

#[test]
fn every_vector_has_its_stated_outcome() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/package");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the vector directory")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 25,
        "expected the full vector set, found {}",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        for par in [Parallelism::SingleThread, Parallelism::TwoThreads] {
            if let Err(e) = run(path, par) {
                failures.push(format!("{}: {e}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_refusal_case_has_a_vector() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/package");
    let mut codes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("the vector directory") {
        let v = Vector::parse(&std::fs::read(entry.expect("entry").path()).expect("read"));
        if let Some(code) = v.get("error") {
            codes.insert(code.to_owned());
        }
    }
    for code in [
        "wrong-recipient",
        "unexpected-sender",
        "header-altered",
        "truncated",
        "extended",
        "chunk-rejected",
        "missing-signature",
        "bad-signature",
        "foreign-signature",
        "purpose-refused",
        "trailer-altered",
        "manifest-mismatch",
        "bad-magic",
        "malformed",
        "unsupported-version",
    ] {
        assert!(codes.contains(code), "no vector for refusal `{code}`");
    }
}
